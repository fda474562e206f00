"""``POST /api/<endpoint>/_import`` (dashboard/api/importing.py): a file as the body, imported
in one transaction, its dry run, and refusals as problems naming ``rows[i].<column>``.

One hostile-schema SQLite site for the module; the tests write rows no other test reads.
The writes themselves run on every dialect in tests/test_import.py.
"""

from __future__ import annotations

import io
import json
import typing as t
from collections.abc import Iterator

import pytest

from dashboard import clock, statedb
from dashboard.security import tokens
from tests import schemas
from tests.apps import csrf_token, logged_in
from tests.checklist import site_on
from tests.site import Site, rows

SQLITE_ONLY = pytest.mark.parametrize("dialect", ["sqlite"], indirect=True)
pytestmark = SQLITE_ONLY


@pytest.fixture(scope="module")
def site(module_hostile_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    site = site_on(module_hostile_database_url, tmp_path_factory.mktemp("import-api"))
    yield site
    site.state.engine.dispose()


def send(
    site: Site, table: str, body: bytes, content_type: str = "text/csv", client: t.Any = None, **args: str
) -> t.Any:
    client = client or site.client
    query = "&".join(f"{k}={v}" for k, v in args.items())
    if not hasattr(client, "import_csrf_token"):  # read once: the token lasts as long as the session
        client.import_csrf_token = csrf_token(client, "/admin/")
    headers = {"Content-Type": content_type, "X-CSRFToken": client.import_csrf_token}
    return client.post(f"/api/{table}/_import" + (f"?{query}" if query else ""), data=body, headers=headers)


def labels(site: Site, table: str) -> dict[t.Any, t.Any]:
    return dict(r[:2] for r in rows(site.state.engine.url.render_as_string(hide_password=False), table))


def test_a_csv_body_is_imported_and_audited(site):
    answer = send(site, schemas.TEXT_KEYS_TABLE, b"code,label\napi-1,one\napi-2,two\n")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {"inserted": 2, "updated": 0}
    assert labels(site, schemas.TEXT_KEYS_TABLE)["api-2"] == "two"
    entry = statedb.get_store(site.app).audit_entries({"action": "import"}, limit=1)[0]
    assert entry["outcome"] == "ok" and "2 inserted, 0 updated" in entry["message"]


def test_an_upsert_of_json_lines_by_key(site):
    send(site, schemas.TEXT_KEYS_TABLE, b"code,label\napi-up,before\n")
    body = b'{"code": "api-up", "label": "after"}\n{"code": "api-up-new", "label": "new"}\n'
    answer = send(site, schemas.TEXT_KEYS_TABLE, body, "application/x-ndjson", mode="upsert", key="code")
    assert answer.get_json() == {"inserted": 1, "updated": 1}
    assert labels(site, schemas.TEXT_KEYS_TABLE)["api-up"] == "after"


def test_a_dry_run_lists_the_errors_and_writes_nothing(site):
    body = json.dumps([{"name": "dry", "order": "x"}, {"name": "dry2", "order": 3}, {"name": "n" * 101}]).encode()
    answer = send(site, schemas.CUSTOMERS, body, "application/json", dry_run="true")
    assert answer.status_code == 200
    found = answer.get_json()
    assert found["rows"] == 3 and found["valid"] is False and found["error_count"] == 2
    assert [e["field"] for e in found["errors"]] == ["rows[0].order", "rows[2].name"]
    assert "dry2" not in {r[1] for r in rows(site.state.engine.url.render_as_string(hide_password=False), "customers")}


def test_refused_values_are_a_422_problem_naming_each_row(site):
    answer = send(site, schemas.ORDER, b"customer_id,amount\n1,1.5\n1,lots\n")
    assert answer.status_code == 422
    assert answer.mimetype == "application/problem+json"
    assert [e["field"] for e in answer.get_json()["errors"]] == ["rows[1].amount"]


def test_an_unknown_column_is_refused_not_dropped(site):
    answer = send(site, schemas.TEXT_KEYS_TABLE, b"code,labl\napi-typo,x\n")
    assert answer.status_code == 422
    assert "columns.labl" in {e["field"] for e in answer.get_json()["errors"]}
    assert "api-typo" not in labels(site, schemas.TEXT_KEYS_TABLE)


def test_a_row_the_database_refuses_is_a_409_and_nothing_is_written(site):
    before = labels(site, schemas.ORDER)
    answer = send(site, schemas.ORDER, b"customer_id,amount\n1,1.5\n999999,2.5\n")
    assert answer.status_code == 409
    assert [e["field"] for e in answer.get_json()["errors"]] == ["rows[1].customer_id"]
    assert labels(site, schemas.ORDER) == before


@pytest.mark.parametrize(
    ("body", "content_type"),
    [(b"", "text/csv"), (b"[1]", "application/json"), (b"PK\x03\x04x", "application/octet-stream")],
)
def test_an_unreadable_body_is_a_400_problem(site, body, content_type):
    answer = send(site, schemas.TEXT_KEYS_TABLE, body, content_type)
    assert answer.status_code == 400 and answer.get_json()["detail"]


def test_a_body_over_the_cap_is_413(site):
    site.app.config["IMPORT_MAX_BYTES"] = 50
    try:
        answer = send(site, schemas.TEXT_KEYS_TABLE, b"code,label\n" + b"x," * 100 + b"\n")
    finally:
        site.app.config["IMPORT_MAX_BYTES"] = 256 * 1024 * 1024
    assert answer.status_code == 413


def test_a_viewer_and_a_read_only_token_are_refused(site):
    viewer = logged_in(site.app, "viewer", "api-import-viewer")
    assert send(site, schemas.TEXT_KEYS_TABLE, b"code,label\nv,1\n", client=viewer).status_code == 403
    store = statedb.get_store(site.app)
    admin = store.user_by_name("admin-user")
    assert admin is not None
    secret = tokens.create_token(store, admin, "import-ro", now=clock.now(site.app), read_only=True)
    answer = site.app.test_client().post(
        f"/api/{schemas.TEXT_KEYS_TABLE}/_import",
        data=b"code,label\nro,1\n",
        headers={"Content-Type": "text/csv", "Authorization": f"Bearer {secret}"},
    )
    assert answer.status_code == 403
    full = tokens.create_token(store, admin, "import-rw", now=clock.now(site.app))
    answer = site.app.test_client().post(
        f"/api/{schemas.TEXT_KEYS_TABLE}/_import",
        data=b"code,label\ntoken-row,1\n",
        headers={"Content-Type": "text/csv", "Authorization": f"Bearer {full}"},
    )
    assert answer.status_code == 200 and "token-row" in labels(site, schemas.TEXT_KEYS_TABLE)
    assert "ro" not in labels(site, schemas.TEXT_KEYS_TABLE) and "v" not in labels(site, schemas.TEXT_KEYS_TABLE)


def test_a_session_call_without_the_csrf_token_is_refused(site):
    answer = site.client.post(
        f"/api/{schemas.TEXT_KEYS_TABLE}/_import", data=b"code,label\nnocsrf,1\n", headers={"Content-Type": "text/csv"}
    )
    assert answer.status_code == 400
    assert "nocsrf" not in labels(site, schemas.TEXT_KEYS_TABLE)


def test_a_file_sent_as_a_form_field_is_imported_too(site):
    send(site, schemas.TEXT_KEYS_TABLE, b"code,label\napi-token-read,x\n", dry_run="true")  # reads the token once
    answer = site.client.post(
        f"/api/{schemas.TEXT_KEYS_TABLE}/_import",
        data={"file": (io.BytesIO(b"code,label\napi-form,from a form\n"), "rows.csv")},
        headers={"X-CSRFToken": site.client.import_csrf_token},
        content_type="multipart/form-data",
    )
    assert answer.get_json() == {"inserted": 1, "updated": 0}
    assert labels(site, schemas.TEXT_KEYS_TABLE)["api-form"] == "from a form"


def test_an_upsert_by_a_composite_key_and_by_a_unique_column(site):
    body = b'part_a,part_b,label\nb,1,composite updated\n"new,part",9,composite new\n'
    answer = send(site, schemas.COMPOSITE_KEYS_TABLE, body, mode="upsert", key="part_a,part_b")
    assert answer.get_json() == {"inserted": 1, "updated": 1}
    url = site.state.engine.url.render_as_string(hide_password=False)
    found = {(a, b): label for a, b, label in rows(url, schemas.COMPOSITE_KEYS_TABLE)}
    assert found[("b", 1)] == "composite updated" and found[("new,part", 9)] == "composite new"
    code = next(iter(labels(site, schemas.UNIQUE_KEYED)))
    answer = send(site, schemas.UNIQUE_KEYED, f"code,label\n{code},by unique\n".encode(), mode="upsert")
    assert answer.get_json() == {"inserted": 0, "updated": 1}
    assert labels(site, schemas.UNIQUE_KEYED)[code] == "by unique"
