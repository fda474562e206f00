"""Plugins' write hooks (dashboard/plugins/write_hooks.py): ``before_write`` changes or refuses a row
on every write path (form, API, bulk edit, API bulk, import, a plugin's own writes), and
``after_write`` hears each committed row, a failing one losing nothing; on every dialect."""

from __future__ import annotations

import html
import json
import logging
import re
import typing as t

import pytest
import sqlalchemy as sa

from dashboard import statedb
from dashboard.plugins import loader
from tests.apps import csrf_token
from tests.databases import database_with
from tests.plugin_kit import plugin_site
from tests.site import Site, form_values, make_site, rows

HOOKS = """
from dashboard.hookspecs import hookimpl
from dashboard.pages import BulkAction
from dashboard.writes import WriteRefused

heard = []

def rename(rows, writer):
    writer.update(rows, {"name": "forbidden"})  # a plugin's own write, through dashboard.writes

@hookimpl
def table_actions(table):
    return [BulkAction(name="rename", label="Rename", run=rename)] if table.name == "items" else None

@hookimpl
def before_write(table, action, old, new):
    if table.name != "items":
        return None
    if action == "delete" and old["name"] == "keep":
        raise WriteRefused("kept rows stay")
    if new is not None and new.get("name") == "forbidden":
        raise WriteRefused("that name is not allowed")
    if new is not None and new.get("name") == "shout":
        return {**new, "name": "SHOUT", "qty": 99}
    return None

@hookimpl
def after_write(table, action, old, new):
    heard.append((action, dict(old) if old else None, dict(new) if new else None))
    if new is not None and new.get("name") == "boom":
        raise RuntimeError("after_write exploded")
"""


def build_items(url: str) -> None:
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    items = sa.Table(
        "items",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("qty", sa.Integer, nullable=True),
    )
    metadata.create_all(engine)
    with engine.begin() as connection:
        connection.execute(
            sa.insert(items), [{"name": "keep", "qty": 1}, {"name": "plain", "qty": 2}, {"name": "other", "qty": 3}]
        )
    engine.dispose()


@pytest.fixture
def items_url(dialect: str) -> t.Iterator[str]:
    with database_with(dialect, "write_hooks_items", build_items) as url:
        yield url


@pytest.fixture
def site(items_url: str, tmp_path: t.Any) -> Site:
    return plugin_site(items_url, tmp_path, {"hooks": HOOKS})


def heard(site: Site) -> list[t.Any]:
    plugin = loader.registry(site.app).plugin("hooks")
    assert plugin is not None and plugin.module is not None
    return t.cast(list[t.Any], plugin.module.heard)


def names(url: str) -> dict[int, tuple[str, t.Any]]:
    return {row[0]: (row[1], row[2]) for row in rows(url, "items")}


def entries(site: Site) -> list[dict[str, t.Any]]:
    return statedb.get_store(site.app).audit_entries({}, offset=0, limit=50)


def api_headers(site: Site) -> dict[str, str]:
    return {"X-CSRFToken": csrf_token(site.client, "/admin/")}


def etag(site: Site, key: str) -> str:
    response = site.client.get(f"/api/items/{key}", headers=api_headers(site))
    assert response.status_code == 200
    return t.cast(str, response.headers["ETag"])


def test_hook_before_write(site, items_url):
    """A before_write refusal shows on the create and edit forms, keeps what was typed, writes
    nothing and is audited as refused."""
    before = names(items_url)
    page = site.post(site.url("items", "new"), {"name": "forbidden", "qty": "5"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200  # the form again, not a redirect
    assert "that name is not allowed" in " ".join(site.flashes(text))
    assert 'value="forbidden"' in text  # what was typed is kept
    assert names(items_url) == before
    edit = site.url("items", "edit", "2")
    page = site.post(edit, {**site.form_values(edit), "name": "forbidden"})
    assert "Row 2 was not saved: that name is not allowed" in " ".join(site.flashes(page.get_data(as_text=True)))
    assert names(items_url) == before
    failed = [e for e in entries(site) if e["outcome"] == "failed" and e["table_id"] == "items"]
    assert {e["action"] for e in failed} == {"create", "edit"}
    assert all("[refused]" in e["message"] for e in failed)
    assert heard(site) == []  # nothing committed, nothing heard


def test_before_write_refusal_on_a_delete_names_the_row_in_a_bulk_delete(site, items_url):
    before = names(items_url)
    page = site.post(
        site.url("items", "action"),
        {"action": "delete", "rowid": ["1", "2"], "url": site.url("items")},
        token_from=site.url("items"),
        follow=True,
    )
    assert "Row 1 was not deleted: kept rows stay" in " ".join(site.flashes(page.get_data(as_text=True)))
    assert names(items_url) == before  # all or none: row 2 stays too


def test_before_write_changing_new_is_what_is_stored_and_audited(site, items_url):
    site.post(site.url("items", "new"), {"name": "shout", "qty": "1"}, follow=True)
    created = [(name, qty) for name, qty in names(items_url).values() if name == "SHOUT"]
    assert created == [("SHOUT", 99)]
    edit = site.url("items", "edit", "3")
    site.post(edit, {**site.form_values(edit), "name": "shout"}, follow=True)
    assert names(items_url)[3] == ("SHOUT", 99)  # qty written too, though the form did not change it
    changes = [e["changes"] for e in entries(site) if e["action"] == "edit" and e["outcome"] == "ok"]
    assert changes == [{"name": {"old": "other", "new": "SHOUT"}, "qty": {"old": "3", "new": "99"}}]
    assert [(action, new["name"]) for action, _old, new in heard(site)] == [("create", "SHOUT"), ("edit", "SHOUT")]
    assert heard(site)[0][2]["id"] is not None  # the key the database numbered


def test_before_write_refusal_is_a_422_on_the_api_and_names_the_operation_in_bulk(site, items_url):
    before = names(items_url)
    headers = api_headers(site)
    response = site.client.post("/api/items/", json={"values": {"name": "forbidden"}}, headers=headers)
    assert response.status_code == 422
    assert "that name is not allowed" in response.get_json()["detail"]
    response = site.client.patch(
        "/api/items/2", json={"values": {"name": "forbidden"}}, headers={**headers, "If-Match": etag(site, "2")}
    )
    assert response.status_code == 422
    assert "Row 2 was not saved" in response.get_json()["detail"]
    operations = [
        {"op": "update", "key": "3", "if_match": etag(site, "3").strip('"'), "values": {"qty": 7}},
        {"op": "delete", "key": "1", "if_match": etag(site, "1").strip('"')},
    ]
    response = site.client.post("/api/items/_bulk", json={"operations": operations}, headers=headers)
    assert response.status_code == 422, response.get_json()
    assert {e["field"] for e in response.get_json()["errors"]} == {"operations[1]"}
    assert names(items_url) == before  # the update before it rolled back too
    response = site.client.post("/api/items/", json={"values": {"name": "shout"}}, headers=headers)
    assert response.status_code == 201
    assert response.get_json()["values"]["name"] == "SHOUT"


def test_before_write_refusal_in_a_bulk_edit_and_an_import_names_the_row(site, items_url):
    before = names(items_url)
    url = site.url("items")
    chosen = site.post(url + "action/", {"action": "set_value", "rowid": ["2", "3"], "url": url}, token_from=url)
    form = dict(re.findall(r'name="(ids|csrf_token)" value="([^"]*)"', chosen.get_data(as_text=True)))
    sent = {k: html.unescape(v) for k, v in form.items()}
    preview = site.client.post(
        url + "bulk-edit/", data={**sent, "column": "name", "value": "forbidden", "step": "preview"}
    )
    page = preview.get_data(as_text=True)
    apply_form = re.search(
        r'<form method="POST" action="([^"]*)" class="dashboard-bulk-edit-apply[^"]*">(.*?)</form>', page, re.S
    )
    assert apply_form, page
    applied = site.client.post(apply_form.group(1), data=form_values(apply_form.group(2)), follow_redirects=True)
    assert "Row 2 was not saved: that name is not allowed" in " ".join(site.flashes(applied.get_data(as_text=True)))
    assert names(items_url) == before
    response = site.client.post(
        "/api/items/_import?mode=insert",
        data="name,qty\nfine,1\nforbidden,2\n",
        headers={**api_headers(site), "Content-Type": "text/csv"},
    )
    assert response.status_code == 422, response.get_json()
    assert "that name is not allowed" in json.dumps(response.get_json())
    assert names(items_url) == before


def test_hook_after_write(site, items_url, caplog):
    """An after_write that raises loses nothing of the committed write, and is logged and reported."""
    with caplog.at_level(logging.ERROR):
        page = site.post(site.url("items", "new"), {"name": "boom", "qty": "4"}, follow=True)
    assert page.status_code == 200
    assert "boom" in [name for name, _qty in names(items_url).values()]
    assert [(e["action"], e["outcome"]) for e in entries(site) if e["table_id"] == "items"] == [("create", "ok")]
    assert "after_write exploded" in caplog.text
    problems = loader.registry(site.app).problems
    assert [(p.plugin, p.part) for p in problems] == [("hooks", "after_write")]
    plugins_page = site.text("/admin/-/pages/plugins/")
    assert "after_write exploded" in plugins_page


def test_the_stock_rules_example_changes_and_refuses_writes_on_the_demo_shop_once_enabled(demo_url, tmp_path, caplog):
    shipped = make_site(demo_url, tmp_path / "shipped")
    assert loader.registry(shipped.app).plugin("stock_rules") is None  # shipped disabled
    site = make_site(demo_url, tmp_path / "enabled", DISABLED_PLUGINS=[])
    headers = api_headers(site)
    values = {"sku": "  ab-9 ", "name": "Example", "category": "x", "price": "1.50", "stock": 3}
    with caplog.at_level(logging.WARNING):
        created = site.client.post("/api/products/", json={"values": values}, headers=headers)
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["values"]["sku"] == "AB-9"
    assert "stock is down to 3" in caplog.text
    key = created.get_json()["key"]
    refused = site.client.patch(
        f"/api/products/{key}",
        json={"values": {"stock": -1}},
        headers={**headers, "If-Match": created.headers["ETag"]},
    )
    assert refused.status_code == 422
    assert "Stock cannot go below zero." in refused.get_json()["detail"]


def test_before_write_refuses_an_inline_edit_in_its_cell_and_a_plugins_own_write(site, items_url):
    before = names(items_url)
    opened = site.client.get(site.url("items", "cell") + "?id=2&column=name").get_json()
    data = {
        "csrf_token": opened["csrf_token"],
        "id": "2",
        "column": "name",
        "value": "forbidden",
        "fingerprint": opened["fingerprint"],
    }
    response = site.client.post(site.url("items", "cell"), data=data)
    assert response.status_code == 400
    assert "that name is not allowed" in response.get_json()["error"]
    url = site.url("items")
    page = site.post(
        url + "action/", {"action": "rename", "rowid": ["2", "3"], "url": url}, token_from=url, follow=True
    )
    assert "Row 2 was not saved: that name is not allowed" in " ".join(site.flashes(page.get_data(as_text=True)))
    assert names(items_url) == before
