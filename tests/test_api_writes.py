"""Writing rows through the JSON API: POST, PATCH with If-Match, DELETE (dashboard.api.writes).

The tests share one hostile-schema site per dialect and module, each touching rows no other
test of the module reads, so they stay independent in any order.
"""

from __future__ import annotations

import html
import typing as t
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from flask import Flask

from dashboard import statedb
from dashboard.db.errors import Kind
from dashboard.db.records import WriteError
from dashboard.web.keys import encode_key
from tests import schemas
from tests.apps import csrf_token, logged_in, make_app, make_small_database, table_rows
from tests.checklist import site_on
from tests.site import Site, rows

SQLITE_ONLY = pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)


class Api:
    """A logged-in browser session calling the API, with its CSRF token in ``X-CSRFToken``."""

    def __init__(self, site: Site, client: t.Any = None) -> None:
        self.site = site
        self.client = client or site.client
        self.headers = {"X-CSRFToken": csrf_token(self.client, "/admin/")}

    def url(self, table: str, key: str | None = None) -> str:
        endpoint = quote(self.site.state.views[table].info.endpoint, safe="")
        return f"/api/{endpoint}/" + ("" if key is None else quote(key, safe=""))

    def etag(self, table: str, key: str) -> str:
        """The row's ETag as a client reads it: from ``GET /api/<endpoint>/<key>``."""
        response = self.client.get(self.url(table, key), headers=self.headers)
        assert response.status_code == 200, (table, key, response.status_code)
        return t.cast(str, response.headers["ETag"])

    def post(self, table: str, values: t.Any, **headers: str) -> t.Any:
        return self.client.post(self.url(table), json={"values": values}, headers={**self.headers, **headers})

    def patch(self, table: str, key: str, values: t.Any, if_match: str | None = "current") -> t.Any:
        headers = dict(self.headers)
        if if_match is not None:
            headers["If-Match"] = self.etag(table, key) if if_match == "current" else if_match
        return self.client.patch(self.url(table, key), json={"values": values}, headers=headers)

    def delete(self, table: str, key: str, if_match: str | None = "current") -> t.Any:
        headers = dict(self.headers)
        if if_match is not None:
            headers["If-Match"] = self.etag(table, key) if if_match == "current" else if_match
        return self.client.delete(self.url(table, key), headers=headers)

    def bulk(self, table: str, operations: t.Any) -> t.Any:
        return self.client.post(self.url(table) + "_bulk", json={"operations": operations}, headers=self.headers)


def fields(response: t.Any) -> set[str]:
    """The fields a problem's ``errors`` name."""
    return {error["field"] for error in response.get_json().get("errors", [])}


def audit_entries(app: Flask, **filters: str) -> list[dict[str, t.Any]]:
    return statedb.get_store(app).audit_entries(filters, limit=200)


@pytest.fixture(scope="module")
def site(module_hostile_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """An admin's session on this module's own hostile database (its tests write distinct rows)."""
    site = site_on(module_hostile_database_url, tmp_path_factory.mktemp("api-writes"))
    yield site
    site.state.engine.dispose()


@pytest.fixture(scope="module")
def api(site: Site) -> Api:
    return Api(site)


# -- create, change, delete ----------------------------------------------------------------------
def test_a_row_created_changed_and_deleted_shows_at_once_in_lists_and_the_audit_log(
    site: Site, api: Api, module_hostile_database_url: str
) -> None:
    list_page = site.url(schemas.CUSTOMERS)
    assert "API person" not in site.text(list_page)  # the listing is now cached
    hostile = dict(zip(schemas.HOSTILE_COLUMNS, [7, "=1+1", " s p ", "ünï", "1;2", "<i>x</i>", '"q"'], strict=True))
    values = {"name": "API person", "email": "api@example.com", **hostile}

    created = api.post(schemas.CUSTOMERS, values)
    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.get_json()
    key = body["key"]
    assert body["values"] == {"id": int(key), **values}
    assert created.headers["Location"].endswith(api.url(schemas.CUSTOMERS, key))
    assert created.headers["ETag"] == api.etag(schemas.CUSTOMERS, key)
    assert "API person" in html.unescape(site.text(list_page))
    listed = site.client.get(api.url(schemas.CUSTOMERS), query_string={"limit": 100}).get_json()
    assert any(row["key"] == key for row in listed["rows"])

    stored = next(r for r in rows(module_hostile_database_url, schemas.CUSTOMERS) if r[0] == int(key))
    changed = api.patch(schemas.CUSTOMERS, key, {"name": "API renamed"})
    assert changed.status_code == 200, changed.get_data(as_text=True)
    assert changed.get_json()["values"] == {"id": int(key), **values, "name": "API renamed"}
    # Columns in the table's order, as a read answers them (not sorted by name).
    read = site.client.get(api.url(schemas.CUSTOMERS, key), headers=api.headers).get_json()
    table_order = [c.name for c in site.state.views[schemas.CUSTOMERS].visible]
    assert list(changed.get_json()["values"]) == list(read["values"]) == table_order
    assert list(created.get_json()["values"]) == table_order
    assert changed.headers["ETag"] == api.etag(schemas.CUSTOMERS, key) != created.headers["ETag"]
    assert "API renamed" in html.unescape(site.text(list_page))
    # Every column not sent is as it was, byte for byte.
    after = next(r for r in rows(module_hostile_database_url, schemas.CUSTOMERS) if r[0] == int(key))
    assert after == (stored[0], "API renamed", *stored[2:])

    deleted = api.delete(schemas.CUSTOMERS, key, if_match=changed.headers["ETag"])
    assert deleted.status_code == 204
    assert "API renamed" not in html.unescape(site.text(list_page))
    assert not [r for r in rows(module_hostile_database_url, schemas.CUSTOMERS) if r[0] == int(key)]
    assert api.delete(schemas.CUSTOMERS, key, if_match=changed.headers["ETag"]).status_code == 404

    entries = [e for e in audit_entries(site.app, table=schemas.CUSTOMERS) if e["row_key"] == key]
    assert [(e["action"], e["outcome"]) for e in entries] == [("delete", "ok"), ("edit", "ok"), ("create", "ok")]
    assert entries[1]["changes"] == {"name": {"old": "API person", "new": "API renamed"}}
    assert all(e["username"] == "admin-user" and e["message"] == "Made through the API." for e in entries)


def test_a_lost_update_is_refused_and_the_row_kept(site: Site, api: Api, module_hostile_database_url: str) -> None:
    table = schemas.EMPLOYEES
    opened = api.etag(table, "3")
    first = api.patch(table, "3", {"name": "Linus T."}, if_match=opened)
    assert first.status_code == 200

    late = api.patch(table, "3", {"name": "Someone else"}, if_match=opened)
    assert late.status_code == 412
    assert late.headers["ETag"] == first.headers["ETag"]
    assert late.get_json()["current"]["values"]["name"] == "Linus T."

    blind = api.patch(table, "3", {"name": "Someone else"}, if_match=None)
    assert blind.status_code == 428
    assert blind.mimetype == "application/problem+json"
    assert api.delete(table, "3", if_match=opened).status_code == 412
    # A delete without If-Match could remove a row changed meanwhile, unseen: refused too.
    unverified = api.delete(table, "3", if_match=None)
    assert unverified.status_code == 428 and unverified.mimetype == "application/problem+json"
    names = [r[1] for r in rows(module_hostile_database_url, table, order_by="id")]
    assert names == ["Ada", "Grace", "Linus T."]
    refused = [e for e in audit_entries(site.app, table=table, outcome="failed") if e["row_key"] == "3"]
    assert len(refused) == 4


def test_keys_with_separators_address_exactly_their_row(api: Api, module_hostile_database_url: str) -> None:
    table = schemas.TEXT_KEYS_TABLE
    before = dict(rows(module_hostile_database_url, table))
    for code in ("a,b", "x/y", "50%"):
        response = api.patch(table, code, {"label": f"patched {code}"})
        assert response.status_code == 200, (code, response.get_data(as_text=True))
        assert response.get_json()["key"] == code
    assert api.delete(table, "a.,b").status_code == 204
    expected = {**before, **{code: f"patched {code}" for code in ("a,b", "x/y", "50%")}}
    del expected["a.,b"]
    assert dict(rows(module_hostile_database_url, table)) == expected

    table = schemas.COMPOSITE_KEYS_TABLE
    codecs = api.site.state.views[table].store.key_codecs
    before = {(a, b): label for a, b, label in rows(module_hostile_database_url, table)}
    assert api.patch(table, encode_key(("a,b", 1), codecs), {"label": "patched"}).status_code == 200
    assert api.delete(table, encode_key(("a.", 2), codecs)).status_code == 204
    expected = {**before, ("a,b", 1): "patched"}
    del expected[("a.", 2)]
    assert {(a, b): label for a, b, label in rows(module_hostile_database_url, table)} == expected

    # A table keyed by a UNIQUE column: changing that column gives the row its new key.
    renamed = api.patch(schemas.UNIQUE_KEYED, "x/y", {"code": "x/z"})
    assert renamed.status_code == 200, renamed.get_data(as_text=True)
    assert renamed.get_json()["key"] == "x/z"
    assert renamed.headers["ETag"] == api.etag(schemas.UNIQUE_KEYED, "x/z")
    assert ("x/z", "slash") in rows(module_hostile_database_url, schemas.UNIQUE_KEYED)


# -- the database's refusals ---------------------------------------------------------------------------
def test_constraint_violations_are_409_problems_naming_the_field(
    site: Site, api: Api, module_hostile_database_url: str
) -> None:
    customers = rows(module_hostile_database_url, schemas.CUSTOMERS)
    taken = api.post(schemas.CUSTOMERS, {"name": "Copy", "email": "alice@example.com"})
    assert taken.status_code == 409, taken.get_data(as_text=True)
    assert fields(taken) == {"email"}

    orphan = api.post(schemas.ORDER, {"customer_id": 999, "amount": "1.00"})
    assert orphan.status_code == 409
    assert fields(orphan) == {"customer_id"}

    # Bob (4) still has an order and a tag: the problem names a reference.
    referred = api.delete(schemas.CUSTOMERS, "4")
    assert referred.status_code == 409
    assert "still referred to by a row of" in referred.get_json()["detail"]
    assert fields(referred) == {"key"}

    assert rows(module_hostile_database_url, schemas.CUSTOMERS) == customers
    assert api.post(schemas.TAGS, {"name": "after the refusals"}).status_code == 201
    failed = audit_entries(site.app, outcome="failed")
    assert {e["action"] for e in failed if e["message"].startswith("[constraint]")} >= {"create", "delete"}


# -- refused before the database is asked ---------------------------------------------------------------
@SQLITE_ONLY
def test_columns_the_caller_may_not_write_are_422_problems_naming_them(api: Api) -> None:
    generated_key = api.post(schemas.CUSTOMERS, {"id": 77, "name": "x", "no such column": 1})
    assert generated_key.status_code == 422
    assert fields(generated_key) == {"id", "no such column"}

    assert fields(api.post(schemas.EMPLOYEES, {})) == {"name"}
    assert fields(api.post(schemas.EMPLOYEES, {"name": None})) == {"name"}
    assert fields(api.post(schemas.TAGS, {"name": 12})) == {"name"}
    key_part = api.patch(schemas.TEXT_KEYS_TABLE, "plain", {"code": "other"})
    assert key_part.status_code == 422
    assert fields(key_part) == {"code"}
    assert api.site.state.views[schemas.CUSTOMERS].store.get((77,)) is None


@SQLITE_ONLY
def test_a_body_that_is_not_a_json_object_is_refused(site: Site, api: Api) -> None:
    url = api.url(schemas.TAGS)
    as_form = site.client.post(url, data={"values": "x"}, headers=api.headers)
    assert as_form.status_code == 415
    malformed = site.client.post(url, data="{", content_type="application/json", headers=api.headers)
    assert malformed.status_code == 400
    assert site.client.post(url, json=[1], headers=api.headers).status_code == 400
    for not_json in ('{"values": {"name": NaN}}', '{"values": {"name": 1e400}}', "[" * 100_000 + "]" * 100_000):
        response = site.client.post(url, data=not_json, content_type="application/json", headers=api.headers)
        assert response.status_code == 400, not_json[:30]
    assert site.client.post(url, json={"values": [1]}, headers=api.headers).status_code == 400
    site.app.config["API_MAX_BODY_BYTES"] = 100
    try:
        large = site.client.post(url, json={"values": {"name": "x" * 200}}, headers=api.headers)
    finally:
        site.app.config["API_MAX_BODY_BYTES"] = 32 * 1024 * 1024
    assert large.status_code == 413
    assert large.mimetype == "application/problem+json"


@SQLITE_ONLY
def test_a_session_caller_without_the_csrf_token_is_refused(site: Site, module_hostile_database_url: str) -> None:
    before = rows(module_hostile_database_url, schemas.TAGS)
    response = site.client.post(f"/api/{schemas.TAGS}/", json={"values": {"name": "no token"}})
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert rows(module_hostile_database_url, schemas.TAGS) == before


@SQLITE_ONLY
def test_a_viewer_may_not_write_and_the_attempts_are_audited(
    site: Site, api: Api, module_hostile_database_url: str
) -> None:
    viewer = Api(site, logged_in(site.app, "viewer", "api-viewer"))
    before = rows(module_hostile_database_url, schemas.TAGS)
    assert viewer.post(schemas.TAGS, {"name": "viewer's"}).status_code == 403
    assert viewer.patch(schemas.TAGS, "1", {"name": "viewer's"}).status_code == 403
    assert viewer.delete(schemas.TAGS, "1").status_code == 403
    assert rows(module_hostile_database_url, schemas.TAGS) == before
    refused = audit_entries(site.app, user="api-viewer")
    assert sorted(e["action"] for e in refused) == ["create", "delete", "edit"]
    assert {e["outcome"] for e in refused} == {"failed"}


@SQLITE_ONLY
def test_a_lost_database_is_a_503_problem(site: Site, api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    store = site.state.views[schemas.TAGS].store

    def unreachable(values: t.Any) -> t.NoReturn:
        raise WriteError("The database is not reachable.", unavailable=True, kind=Kind.GONE)

    monkeypatch.setattr(store, "insert", unreachable)
    response = api.post(schemas.TAGS, {"name": "while the database is away"})
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"]
    entry = audit_entries(site.app, table=schemas.TAGS)[0]
    assert (entry["action"], entry["outcome"]) == ("create", "failed")


def test_a_read_only_dashboard_refuses_every_write(tmp_path: t.Any) -> None:
    url = make_small_database(tmp_path / "target.db")
    app = make_app(url, tmp_path, READ_ONLY=True)
    client = logged_in(app, "admin")
    headers = {"X-CSRFToken": csrf_token(client, "/admin/")}
    created = client.post("/api/parent/", json={"values": {"name": "new"}}, headers=headers)
    assert created.status_code == 403
    assert "read-only" in created.get_json()["detail"]
    assert client.delete("/api/parent/2", headers=headers).status_code == 403
    assert table_rows(url, "parent") == [(1, "first"), (2, "second")]
    assert [e["outcome"] for e in statedb.get_store(app).audit_entries({})] == ["failed", "failed"]
