"""Many writes in one call: POST /api/<endpoint>/_bulk applies every operation or none (dashboard.api.bulk).

One hostile-schema site per dialect and module; each test writes rows no other test reads.
"""

from __future__ import annotations

import typing as t
from collections.abc import Iterator

import pytest

from tests import schemas
from tests.apps import logged_in
from tests.checklist import site_on
from tests.site import Site, rows
from tests.test_api_writes import SQLITE_ONLY, Api, audit_entries, fields


@pytest.fixture(scope="module")
def site(module_hostile_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """An admin's session on this module's own hostile database (its tests write distinct rows)."""
    site = site_on(module_hostile_database_url, tmp_path_factory.mktemp("api-bulk"))
    yield site
    site.state.engine.dispose()


@pytest.fixture(scope="module")
def api(site: Site) -> Api:
    return Api(site)


def tag_names(url: str) -> dict[int, str]:
    return dict(rows(url, schemas.TAGS))


def test_a_bulk_call_applies_creates_updates_and_deletes_and_audits_each_row(
    site: Site, api: Api, module_hostile_database_url: str
) -> None:
    url = module_hostile_database_url
    before = tag_names(url)
    created = api.bulk(
        schemas.TAGS,
        [
            {"op": "create", "values": {"name": "bulk one"}},
            {"op": "create", "values": {"name": "bulk two"}},
            {"op": "update", "key": "2", "if_match": api.etag(schemas.TAGS, "2"), "values": {"name": "renamed"}},
        ],
    )
    assert created.status_code == 200, created.get_data(as_text=True)
    results = created.get_json()["results"]
    assert [r["op"] for r in results] == ["create", "create", "update"]
    assert results[2] == {"op": "update", "key": "2", "etag": api.etag(schemas.TAGS, "2")}
    one, two = (r["key"] for r in results[:2])
    assert tag_names(url) == {**before, 2: "renamed", int(one): "bulk one", int(two): "bulk two"}
    listed = site.client.get(api.url(schemas.TAGS), query_string={"limit": 100}).get_json()
    assert {row["values"]["name"] for row in listed["rows"]} >= {"bulk one", "bulk two", "renamed"}

    removed = api.bulk(
        schemas.TAGS,
        [
            {"op": "delete", "key": one, "if_match": results[0]["etag"]},
            {"op": "delete", "key": two, "if_match": results[1]["etag"]},
        ],
    )
    assert removed.status_code == 200
    assert removed.get_json()["results"] == [
        {"op": "delete", "key": one, "etag": None},
        {"op": "delete", "key": two, "etag": None},
    ]
    assert tag_names(url) == {**before, 2: "renamed"}
    entries = [(e["action"], e["row_key"], e["outcome"]) for e in audit_entries(site.app, table=schemas.TAGS)]
    assert entries[:5] == [
        ("delete", two, "ok"),
        ("delete", one, "ok"),
        ("edit", "2", "ok"),
        ("create", two, "ok"),
        ("create", one, "ok"),
    ]


def test_one_refused_operation_leaves_every_row_as_it_was(
    site: Site, api: Api, module_hostile_database_url: str
) -> None:
    url = module_hostile_database_url
    employees = rows(url, schemas.EMPLOYEES, order_by="id")
    operations = [
        {"op": "update", "key": "3", "if_match": api.etag(schemas.EMPLOYEES, "3"), "values": {"name": "Changed"}},
        {"op": "create", "values": {"name": "Newcomer", "manager_id": 1}},
        # Ada (1) manages Grace: her delete is refused by the foreign key.
        {"op": "delete", "key": "1", "if_match": api.etag(schemas.EMPLOYEES, "1")},
    ]
    refused = api.bulk(schemas.EMPLOYEES, operations)
    assert refused.status_code == 409, refused.get_data(as_text=True)
    assert fields(refused) == {"operations[2].key"}
    assert "Row 1 is still referred to" in refused.get_json()["errors"][0]["message"]
    assert rows(url, schemas.EMPLOYEES, order_by="id") == employees
    failed = audit_entries(site.app, table=schemas.EMPLOYEES, outcome="failed")
    assert (failed[0]["action"], failed[0]["row_key"]) == ("delete", "1")

    duplicate = api.bulk(
        schemas.TAGS, [{"op": "create", "values": {"name": "fresh"}}, {"op": "create", "values": {"name": "vip"}}]
    )
    assert duplicate.status_code == 409
    assert fields(duplicate) == {"operations[1].values.name"}
    assert "fresh" not in tag_names(url).values()


@SQLITE_ONLY
def test_a_bulk_call_refuses_what_it_cannot_apply_before_writing(
    site: Site, api: Api, module_hostile_database_url: str
) -> None:
    before = tag_names(module_hostile_database_url)
    stale = api.bulk(
        schemas.TAGS,
        [
            {"op": "create", "values": {"name": "not kept"}},
            {"op": "update", "key": "1", "if_match": '"' + "0" * 64 + '"', "values": {"name": "x"}},
        ],
    )
    assert stale.status_code == 412
    assert fields(stale) == {"operations[1].if_match"}
    assert stale.get_json()["current"]["key"] == "1"

    unverified = api.bulk(
        schemas.TAGS, [{"op": "update", "key": "1", "values": {"name": "x"}}, {"op": "delete", "key": "2"}]
    )
    assert unverified.status_code == 428
    assert fields(unverified) == {"operations[0].if_match", "operations[1].if_match"}

    values = api.bulk(
        schemas.TAGS,
        [
            {"op": "create", "values": {"name": "ok"}},
            {"op": "create", "values": {"name": 5, "id": 9, "colour": "red"}},
            {"op": "delete", "key": "not a number", "if_match": '"any"'},
        ],
    )
    assert values.status_code == 422
    assert fields(values) == {
        "operations[1].values.name",
        "operations[1].values.id",
        "operations[1].values.colour",
        "operations[2].key",
    }

    gone = api.bulk(schemas.TAGS, [{"op": "delete", "key": "999", "if_match": '"any"'}])
    assert gone.status_code == 404
    assert fields(gone) == {"operations[0].key"}

    for malformed in ({"operations": "all"}, {"operations": [1]}, {"operations": [{"op": "upsert"}]}):
        response = site.client.post(api.url(schemas.TAGS) + "_bulk", json=malformed, headers=api.headers)
        assert response.status_code == 400, malformed
    assert tag_names(module_hostile_database_url) == before


@SQLITE_ONLY
def test_a_bulk_call_over_the_cap_is_refused_whole(site: Site, api: Api, module_hostile_database_url: str) -> None:
    before = tag_names(module_hostile_database_url)
    site.app.config["API_BULK_MAX_OPERATIONS"] = 2
    try:
        response = api.bulk(schemas.TAGS, [{"op": "create", "values": {"name": f"capped {i}"}} for i in range(3)])
    finally:
        site.app.config["API_BULK_MAX_OPERATIONS"] = 1_000
    assert response.status_code == 413
    assert response.get_json()["limit"] == 2
    assert tag_names(module_hostile_database_url) == before


@SQLITE_ONLY
def test_a_viewer_may_not_make_a_bulk_call(site: Site, module_hostile_database_url: str) -> None:
    viewer = Api(site, logged_in(site.app, "viewer", "bulk-viewer"))
    before = tag_names(module_hostile_database_url)
    response = viewer.bulk(schemas.TAGS, [{"op": "create", "values": {"name": "viewer's"}}])
    assert response.status_code == 403
    # Refused for the right first, whatever the values: they say nothing to a caller who may not write.
    assert viewer.bulk(schemas.TAGS, [{"op": "update", "key": "1", "values": {"name": 5}}]).status_code == 403
    assert tag_names(module_hostile_database_url) == before
    refused: list[dict[str, t.Any]] = audit_entries(site.app, user="bulk-viewer")
    assert [(e["action"], e["outcome"]) for e in refused] == [("edit", "failed"), ("create", "failed")]
