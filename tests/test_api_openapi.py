"""``GET /api/openapi.json``: a valid OpenAPI 3.1 document of what the caller may reach, that
agrees with what the API answers.

On the hostile schema of each dialect, every relation's page and row are checked against
the document's own schemas (the values of every column type, keys, nulls); who sees which
operations runs on SQLite.
"""

from __future__ import annotations

import re
import typing as t
from collections.abc import Iterator
from urllib.parse import quote

import jsonschema_rs
import pytest
from schemathesis.specs.openapi import definitions

from tests import schemas
from tests.apps import logged_in, make_small_database
from tests.checklist import site_on
from tests.site import Site, make_site

SAFE_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


@pytest.fixture(scope="module")
def site(module_hostile_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    site = site_on(module_hostile_database_url, tmp_path_factory.mktemp("api-openapi"))
    yield site
    site.state.engine.dispose()


def document_of(client: t.Any) -> dict[str, t.Any]:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    return t.cast("dict[str, t.Any]", response.get_json())


def schema_validator(document: dict[str, t.Any], name: str) -> jsonschema_rs.Draft202012Validator:
    return jsonschema_rs.Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    )


def assert_valid(document: dict[str, t.Any]) -> None:
    errors = [str(error)[:300] for error in definitions.OPENAPI_31_VALIDATOR.iter_errors(document)]
    assert not errors, errors
    operation_ids = [
        op["operationId"] for item in document["paths"].values() for op in item.values() if "operationId" in op
    ]
    assert len(operation_ids) == len(set(operation_ids))
    assert all(SAFE_NAME.match(name) for name in [*operation_ids, *document["components"]["schemas"]])


def test_the_document_is_valid_and_every_answer_agrees_with_it(site: Site) -> None:
    document = document_of(site.client)
    assert_valid(document)
    assert document["openapi"].startswith("3.1")
    checked = 0
    for view in site.state.views.values():
        name = view.info.endpoint
        page = site.client.get(f"/api/{name}/", query_string={"limit": 100})
        assert page.status_code == 200, name
        errors = [str(e) for e in schema_validator(document, f"{name}.page").iter_errors(page.get_json())]
        assert not errors, (view.info.id, errors[:3])
        if not view.info.has_row_identity:
            assert f"/api/{name}/{{key}}" not in document["paths"]
            continue
        assert "get" in document["paths"][f"/api/{name}/{{key}}"]
        for row in page.get_json()["rows"][:3]:
            one = site.client.get(f"/api/{name}/{quote(row['key'], safe='')}")
            assert one.status_code == 200
            assert schema_validator(document, f"{name}.row").is_valid(one.get_json()), (view.info.id, row["key"])
            checked += 1
    assert checked > 20


def test_problems_agree_with_the_problem_schema(site: Site) -> None:
    document = document_of(site.client)
    order = site.state.views[schemas.ORDER].info.endpoint
    for url in (f"/api/{order}/?id__eq=x&limit=0", f"/api/{order}/424242", "/api/nope/", f"/api/{order}/?cursor=x"):
        response = site.client.get(url)
        assert response.mimetype == "application/problem+json"
        assert str(response.status_code) in document["paths"][f"/api/{order}/"]["get"]["responses"]
        assert schema_validator(document, "Problem").is_valid(response.get_json()), url


def test_columns_types_keys_and_filters_are_described(site: Site) -> None:
    document = document_of(site.client)
    order = site.state.views[schemas.ORDER].info.endpoint
    values = document["components"]["schemas"][f"{order}.values"]["properties"]
    assert values["id"]["type"] == "integer"
    assert values["amount"]["type"] in ("string", ["string", "null"])  # a decimal travels as text
    assert values["group"]["type"] == ["string", "null"]
    parameters = {p.get("name") for p in document["paths"][f"/api/{order}/"]["get"]["parameters"]}
    assert {"id__eq", "id__in", "group__contains", "group__isnull", "amount__ge"} <= parameters
    assert "id__contains" not in parameters
    text_keys = site.state.views[schemas.TEXT_KEYS_TABLE].info.endpoint
    assert document["components"]["schemas"][f"{text_keys}.create"]["properties"]["values"]["required"] == ["code"]


# -- per caller (SQLite) -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_url(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, t.Any]:
    folder = tmp_path_factory.mktemp("api-openapi-small")
    return make_small_database(folder / "target.db"), folder


def operations(document: dict[str, t.Any]) -> set[str]:
    return {op["operationId"] for item in document["paths"].values() for op in item.values() if "operationId" in op}


def test_writes_appear_only_for_what_the_caller_may_do(small_url: tuple[str, t.Any]) -> None:
    url, folder = small_url
    admin = make_site(url, folder / "admin")
    viewer = logged_in(admin.app, "viewer")
    editor_rights = {"payments": {"roles": {"editor": ["view"]}}}
    editor = make_site(url, folder / "editor", role="editor", TABLES=editor_rights)
    read_only = make_site(url, folder / "read-only", READ_ONLY=True)

    every = operations(document_of(admin.client))
    assert {
        "list_parent",
        "get_parent",
        "create_parent",
        "update_parent",
        "delete_parent",
        "bulk_parent",
        "import_parent",
    } <= every
    assert operations(document_of(viewer)) == {"openapi"} | {
        f"{v}_{t}" for v in ("list", "get") for t in ("parent", "child", "payments")
    }
    editor_ops = operations(document_of(editor.client))
    assert "create_parent" in editor_ops and "list_payments" in editor_ops
    assert not editor_ops & {"create_payments", "update_payments", "delete_payments", "bulk_payments"}
    read_only_document = document_of(read_only.client)
    assert_valid(read_only_document)
    assert all(set(item) <= {"get", "parameters"} for item in read_only_document["paths"].values())
    for document in (document_of(admin.client), document_of(editor.client)):
        assert_valid(document)
        schemes = document["components"]["securitySchemes"]
        assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
        assert schemes["sessionCookie"]["in"] == "cookie"
