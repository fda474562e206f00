"""A row's history on its details page, revert of an edit and restore of a deleted row
(dashboard/web/row_history.py, row_revert.py), on every dialect: what an operator sees, what
the database holds afterwards, and the audit entries each undo adds ("revert of #N")."""

from __future__ import annotations

import html
import re
import typing as t

import sqlalchemy as sa
from flask import Flask

from dashboard import statedb
from dashboard.db.codecs import codec_for
from dashboard.web.keys import encode_key
from tests import schemas
from tests.apps import csrf_token, logged_in, make_app
from tests.databases import database_with
from tests.plugin_kit import plugin_site
from tests.site import Site, make_site, rows

HOSTILE = "<img src=x onerror=alert(1)>"


def entries(app: Flask) -> list[dict[str, t.Any]]:
    """The audit log of ``app``, newest first."""
    return statedb.get_store(app).audit_entries({}, limit=1000)


def names(url: str, table: str = "customers") -> dict[t.Any, t.Any]:
    return {row[0]: row[1] for row in rows(url, table)}


def same_state_site(database_url: str, instance_path: t.Any, **settings: t.Any) -> Site:
    """Another app on the same database and instance folder (so the same audit log), its settings changed."""
    site = Site(make_app(database_url, instance_path, **settings))
    site.client = logged_in(site.app, "admin", username="second-admin")
    return site


def history(page: str) -> str:
    """The history section of a details page (or the history page's table)."""
    found = re.search(r'<table class="table table-sm dashboard-history[^"]*">.*?</table>', page, re.S)
    assert found, "no history on the page"
    return found.group(0)


def undo_buttons(page: str) -> list[str]:
    """The entry numbers the page offers to revert or restore."""
    return re.findall(r'name="entry" value="(\d+)"', history(page))


def edit(site: Site, key: str, **changes: str) -> int:
    """Change row ``key`` of customers through its edit form; the audit entry's number."""
    url = site.url("customers", "edit", key)
    values = site.form_values(url)
    values.update(changes)
    assert site.post(url, values).status_code == 302
    return int(entries(site.app)[0]["id"])


def revert(site: Site, key: str, entry: int | str, table: str = "customers", **extra: t.Any) -> t.Any:
    return site.post(
        site.url(table, "revert"), {"id": key, "entry": str(entry), **extra}, token_from=site.url(table), follow=True
    )


def test_history_shows_who_when_old_and_new_and_revert_writes_the_old_value_back(demo_site, demo_url):
    site, old = demo_site, names(demo_url)[1]
    entry = edit(site, "1", name=HOSTILE)
    shown = history(site.text(site.url("customers", "details", "1")))
    assert "admin-user" in shown and f"#{entry}" not in shown and f">{entry}<" in shown
    assert f"{html.escape(old, quote=False)} → {html.escape(HOSTILE, quote=False)}" in shown
    assert HOSTILE not in shown  # escaped, never markup

    page = revert(site, "1", entry).get_data(as_text=True)
    assert any(f"values before entry #{entry} are back" in f for f in site.flashes(page))
    assert names(demo_url)[1] == old
    newest = entries(site.app)[0]
    assert (newest["action"], newest["outcome"], newest["row_key"]) == ("edit", "ok", "1")
    assert newest["message"] == f"revert of #{entry}"
    assert newest["changes"] == {"name": {"old": HOSTILE, "new": old}}
    # Newest first: the revert above the edit it undid, saying what it is.
    shown = history(page)
    assert shown.index(f"revert of #{entry}") < shown.index(f">{entry}<")


def test_a_revert_refused_when_the_row_changed_since_the_entry_writes_nothing(demo_site, demo_url):
    site = demo_site
    first = edit(site, "2", name="first")
    second = edit(site, "2", name="second")
    # Only the newest entry is offered: the row no longer holds what the first one left.
    assert undo_buttons(site.text(site.url("customers", "details", "2"))) == [str(second)]
    page = revert(site, "2", first).get_data(as_text=True)
    assert any("Not reverted: the row was changed after entry" in f and "name" in f for f in site.flashes(page))
    assert names(demo_url)[2] == "second"
    refused = entries(site.app)[0]
    assert (refused["action"], refused["outcome"]) == ("edit", "failed")
    assert refused["message"].startswith(f"revert of #{first}: Not reverted")


def test_deleted_rows_are_listed_and_restored_from_their_delete_entries_once(demo_site, demo_url):
    site = demo_site
    for name in ("gone soon", "bulk gone"):
        assert site.post(site.url("tags", "new"), {"name": name}).status_code == 302
    tags = {name: key for key, name in names(demo_url, "tags").items()}
    single, bulk = str(tags["gone soon"]), str(tags["bulk gone"])
    assert site.post(site.url("tags", "delete"), {"id": single}, token_from=site.url("tags")).status_code == 302
    deleted = int(entries(site.app)[0]["id"])
    action = {"action": "delete", "rowid": [bulk]}
    assert site.post(site.url("tags", "action"), action, token_from=site.url("tags")).status_code == 302
    bulk_deleted = int(entries(site.app)[0]["id"])
    assert 'href="deleted/"' in site.text(site.url("tags"))
    listed = site.text(site.url("tags", "deleted"))
    assert "gone soon" in listed and "bulk gone" in listed
    assert undo_buttons(listed) == [str(bulk_deleted), str(deleted)]

    for key, entry in ((single, deleted), (bulk, bulk_deleted)):
        page = revert(site, key, entry, table="tags").get_data(as_text=True)
        assert any(f"entry #{entry} recorded it" in f for f in site.flashes(page))
        restored = entries(site.app)[0]
        assert (restored["action"], restored["outcome"], restored["row_key"]) == ("create", "ok", key)
        assert restored["message"] == f"restore of #{entry}"
    assert names(demo_url, "tags")[int(single)] == "gone soon" and names(demo_url, "tags")[int(bulk)] == "bulk gone"
    # The rows are back: none is offered again, and a forged second restore is refused.
    assert undo_buttons(site.text(site.url("tags", "deleted"))) == []
    assert undo_buttons(site.text(site.url("tags", "history", single))) == []
    page = revert(site, single, deleted, table="tags").get_data(as_text=True)
    assert any("a row with this key exists again" in f for f in site.flashes(page))
    assert list(names(demo_url, "tags").values()).count("gone soon") == 1


def test_viewers_read_only_sites_and_posts_without_csrf_cannot_revert(demo_site, demo_url, tmp_path):
    site = demo_site
    entry = edit(site, "3", name="changed")
    viewer = Site(site.app)
    viewer.client = logged_in(site.app, "viewer")
    page = viewer.text(site.url("customers", "details", "3"))
    assert "changed" in history(page) and undo_buttons(page) == []
    forged = viewer.client.post(
        site.url("customers", "revert"),
        data={"id": "3", "entry": str(entry), "csrf_token": csrf_token(viewer.client, site.url("customers"))},
    )
    assert forged.status_code == 403
    assert entries(site.app)[0]["message"] == f"revert of #{entry}: Permission denied."
    no_token = site.client.post(site.url("customers", "revert"), data={"id": "3", "entry": str(entry)})
    assert no_token.status_code == 400
    # An entry of another row, or none at all, is not undone here.
    assert revert(site, "1", entry).status_code == 404
    assert revert(site, "3", "x").status_code == 400
    # The same state database, served read-only: the history, no button, and a POST refused.
    read_only = same_state_site(demo_url, tmp_path, READ_ONLY=True)
    try:
        page = read_only.text(read_only.url("customers", "details", "3"))
        assert "changed" in history(page) and undo_buttons(page) == []
        assert revert(read_only, "3", entry).status_code == 403
    finally:
        read_only.state.engine.dispose()
    assert names(demo_url)[3] == "changed"


def test_columns_hidden_since_are_left_out_and_their_entries_cannot_be_reverted(demo_site, demo_url, tmp_path):
    site = demo_site
    entry = edit(site, "4", name="visible change", email="secret-now@example.com")
    hidden = same_state_site(demo_url, tmp_path, TABLES={"customers": {"columns": {"email": {"hidden": True}}}})
    try:
        page = hidden.text(hidden.url("customers", "details", "4"))
        assert "visible change" in history(page)
        assert "secret-now" not in page and undo_buttons(page) == []
        answer = revert(hidden, "4", entry).get_data(as_text=True)
        assert any("cannot be reverted" in f for f in hidden.flashes(answer))
    finally:
        hidden.state.engine.dispose()
    assert names(demo_url)[4] == "visible change"


def test_hostile_keys_and_column_names_are_reverted_and_restored(hostile_site, hostile_database_url):
    site = hostile_site
    table = schemas.COMPOSITE_KEYS_TABLE
    labels = {(row[0], row[1]): row[2] for row in rows(hostile_database_url, table)}
    edited, removed = ("a,b", 1), ("a.", 2)
    key, gone = (encode_key(k, [codec_for(sa.String()), codec_for(sa.Integer())]) for k in (edited, removed))
    url = site.url(table, "edit", key)
    values = site.form_values(url)
    values["label"] = "<b>x</b>"
    assert site.post(url, values).status_code == 302
    entry = int(entries(site.app)[0]["id"])
    assert undo_buttons(site.text(site.url(table, "details", key))) == [str(entry)]
    revert(site, key, entry, table=table)
    assert site.post(site.url(table, "delete"), {"id": gone}, token_from=site.url(table)).status_code == 302
    revert(site, gone, int(entries(site.app)[0]["id"]), table=table)
    assert {(row[0], row[1]): row[2] for row in rows(hostile_database_url, table)} == labels

    # A column named like an attack: its form field has a safe key of its own.
    table = schemas.INJECTION_TABLE
    before = rows(hostile_database_url, table, "id")
    column = site.state.views[table].info.column('x"y')
    url = site.url(table, "edit", "1")
    values = site.form_values(url)
    values[column.key] = "changed <i>"
    assert site.post(url, values).status_code == 302
    assert rows(hostile_database_url, table, "id") != before
    revert(site, "1", int(entries(site.app)[0]["id"]), table=table)
    assert rows(hostile_database_url, table, "id") == before


FREEZER = """
from dashboard.hookspecs import hookimpl
from dashboard.writes import WriteRefused

@hookimpl
def before_write(table, action, old, new):
    if table.name == "customers" and action == "edit" and old and old.get("name") == "frozen":
        raise WriteRefused("frozen rows stay")
    return None
"""


def test_a_revert_refused_by_a_plugins_before_write_hook_writes_nothing(demo_url, tmp_path):
    site = plugin_site(demo_url, tmp_path, {"freezer": FREEZER})
    try:
        entry = edit(site, "7", name="frozen")
        page = revert(site, "7", entry).get_data(as_text=True)
        assert any("frozen rows stay" in f for f in site.flashes(page))
        assert names(demo_url)[7] == "frozen"
        refused = entries(site.app)[0]
        assert (refused["action"], refused["outcome"]) == ("edit", "failed")
        assert f"revert of #{entry}: " in refused["message"] and "frozen rows stay" in refused["message"]
    finally:
        site.state.engine.dispose()


def _numbered_films(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "CREATE TABLE film (film_id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, title text NOT NULL)"
            )
            connection.exec_driver_sql("INSERT INTO film (title) VALUES ('first'), ('second')")
    finally:
        engine.dispose()


def test_a_row_whose_key_the_database_numbers_is_restored_under_a_new_key(tmp_path):
    # GENERATED ALWAYS AS IDENTITY refuses the old key; only PostgreSQL has it.
    with database_with("postgresql", "films numbered always", _numbered_films) as url:
        site = make_site(url, tmp_path)
        try:
            assert site.post(site.url("film", "delete"), {"id": "1"}, token_from=site.url("film")).status_code == 302
            page = revert(site, "1", int(entries(site.app)[0]["id"]), table="film").get_data(as_text=True)
            assert any("Restored as row 3 with the values entry" in f for f in site.flashes(page))
            assert sorted(rows(url, "film")) == [(2, "second"), (3, "first")]
            assert entries(site.app)[0]["row_key"] == "3"
        finally:
            site.state.engine.dispose()
