"""``GET /api/openapi.json``: the OpenAPI 3.1 document of what the caller may reach.

Made per call from the caller's rights, never cached: a relation the caller may not view is
absent (as its address answers 404), and the write operations appear only for the
relations and actions the caller may do (none in read-only mode or for a read-only token).
Every schema comes from the tables the API answers from (:mod:`dashboard.api.values`,
:mod:`dashboard.api.arguments`), so the document and the answers agree by construction.

``operationId`` is ``<verb>_<endpoint>`` (``list_orders``, ``get_orders``, ``create_orders``,
``update_orders``, ``delete_orders``, ``bulk_orders``, ``import_orders``): endpoints are distinct and safe
(:mod:`dashboard.urls`), and no two verbs start alike, so every id is unique.
"""

from __future__ import annotations

import typing as t

from flask import current_app, json, request

from dashboard.api import addressing
from dashboard.api.addressing import api_routes
from dashboard.api.openapi_schemas import (
    JSON,
    filter_parameters,
    filters_text,
    problem_responses,
    ref,
    relation_schemas,
    shared_components,
)
from dashboard.i18n.translation import gettext
from dashboard.problems import API_PATH

if t.TYPE_CHECKING:
    from dashboard.web.table_view import TableView

OPENAPI_VERSION = "3.1.0"


@api_routes.route("/openapi.json", endpoint="openapi")
def openapi_document() -> t.Any:
    """The caller's OpenAPI document (never cached: it differs by caller)."""
    body = json.dumps(build_document(), sort_keys=False, separators=(",", ":"))
    response = current_app.response_class(body, mimetype=JSON)
    response.headers["Cache-Control"] = "private, no-store"
    response.vary.add("Authorization")
    response.vary.add("Cookie")
    return response


def build_document() -> dict[str, t.Any]:
    """The OpenAPI document for the current caller."""
    components = shared_components()
    components["securitySchemes"] = {
        "bearerAuth": {"type": "http", "scheme": "bearer", "description": gettext("An API token.")},
        "sessionCookie": {
            "type": "apiKey",
            "in": "cookie",
            "name": str(current_app.config.get("SESSION_COOKIE_NAME", "session")),
            "description": gettext("A logged-in browser's session; writes then need the X-CSRFToken header."),
        },
    }
    paths: dict[str, t.Any] = {
        f"{API_PATH}/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": gettext("This document"),
                "responses": {
                    "200": {"description": gettext("The OpenAPI document."), "content": {JSON: {"schema": {}}}},
                    **problem_responses(),
                },
            }
        }
    }
    tags = []
    for view in addressing.visible_views():
        name = view.info.endpoint
        writes = {action: addressing.may(view, action) for action in ("create", "edit", "delete")}
        if not view.info.has_row_identity:
            writes["edit"] = writes["delete"] = False
        components["schemas"].update(relation_schemas(view, name, writes=any(writes.values())))
        paths.update(relation_paths(view, writes))
        tags.append({"name": view.info.id, "description": _relation_text(view, writes)})
    document: dict[str, t.Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": gettext("dashboard API"),
            "version": "1",
            "description": gettext(
                "Rows of every relation you may view, as JSON. Values are keyed by column name; "
                "decimals are strings, dates and times ISO 8601 text, binary values base64. "
                "Errors are problem details (RFC 9457)."
            )
            + "\n\n"
            + filters_text(),
        },
        "security": [{"bearerAuth": []}, {"sessionCookie": []}],
        "tags": tags,
        "paths": paths,
        "components": components,
    }
    if request.script_root:
        # Served below a prefix: the paths start there. Otherwise no "servers" at all (the
        # document's own origin): a server "/" joined to "/api/..." reads as "//api/...",
        # another host's address, in some clients.
        document["servers"] = [{"url": request.script_root}]
    return document


def _relation_text(view: TableView, writes: dict[str, bool]) -> str:
    kind = gettext("View") if view.info.kind != "table" else gettext("Table")
    if not view.info.has_row_identity:
        return gettext("%(kind)s without a row key: read-only, rows have key null.", kind=kind)
    if not any(writes.values()):
        return gettext("%(kind)s, read-only for you.", kind=kind)
    return kind


def relation_paths(view: TableView, writes: dict[str, bool]) -> dict[str, t.Any]:
    """The paths of one relation: listing and row reads, and the writes the caller may make."""
    name = view.info.endpoint
    tag = [view.info.id]
    listing: dict[str, t.Any] = {
        "get": {
            "operationId": f"list_{name}",
            "summary": gettext("List rows"),
            "tags": tag,
            "parameters": _listing_parameters(view),
            "responses": {
                "200": {
                    "description": gettext("A page of rows."),
                    "content": {JSON: {"schema": ref("schemas", f"{name}.page")}},
                },
                **problem_responses("400", "404"),
            },
        }
    }
    paths = {f"{API_PATH}/{name}/": listing}
    if writes["create"]:
        listing["post"] = {
            "operationId": f"create_{name}",
            "summary": gettext("Create a row"),
            "tags": tag,
            "parameters": [_csrf_header()],
            "requestBody": {"required": True, "content": {JSON: {"schema": ref("schemas", f"{name}.create")}}},
            "responses": {
                "201": {
                    "description": gettext("The row as written."),
                    "headers": {"Location": _header(), "ETag": _header()},
                    "content": {JSON: {"schema": ref("schemas", f"{name}.row")}},
                },
                **problem_responses("400", "403", "404", "409", "413", "415", "422"),
            },
        }
    if any(writes.values()):
        paths[f"{API_PATH}/{name}/_bulk"] = {"post": _bulk_operation(view)}
    if writes["create"]:
        paths[f"{API_PATH}/{name}/_import"] = {"post": _import_operation(view)}
    if not view.info.has_row_identity:
        return paths
    row: dict[str, t.Any] = {"parameters": [ref("parameters", "key")], "get": _get_operation(view)}
    if writes["edit"]:
        row["patch"] = {
            "operationId": f"update_{name}",
            "summary": gettext("Change a row"),
            "tags": tag,
            "parameters": [
                ref("parameters", "ifMatch"),
                _csrf_header(),
            ],
            "requestBody": {"required": True, "content": {JSON: {"schema": ref("schemas", f"{name}.update")}}},
            "responses": {
                "200": {
                    "description": gettext("The row as written."),
                    "headers": {"ETag": _header()},
                    "content": {JSON: {"schema": ref("schemas", f"{name}.row")}},
                },
                **problem_responses("400", "403", "404", "409", "412", "413", "415", "422", "428"),
            },
        }
    if writes["delete"]:
        row["delete"] = {
            "operationId": f"delete_{name}",
            "summary": gettext("Delete a row"),
            "tags": tag,
            "parameters": [
                ref("parameters", "ifMatch"),
                _csrf_header(),
            ],
            "responses": {
                "204": {"description": gettext("Deleted.")},
                **problem_responses("400", "403", "404", "409", "412", "428"),
            },
        }
    paths[f"{API_PATH}/{name}/{{key}}"] = row
    return paths


def _header() -> dict[str, t.Any]:
    return {"schema": {"type": "string"}}


def _csrf_header() -> dict[str, t.Any]:
    return ref("parameters", "csrfToken")


def _listing_parameters(view: TableView) -> list[dict[str, t.Any]]:
    parameters: list[dict[str, t.Any]] = [
        ref("parameters", "limit"),
        ref("parameters", "cursor"),
        ref("parameters", "count"),
        {
            "name": "sort",
            "in": "query",
            "description": gettext("Columns to sort by, comma-separated; a leading - sorts descending."),
            "schema": {"type": "string"},
        },
        {
            "name": "fields",
            "in": "query",
            "description": gettext("The columns to return, comma-separated (default: all you may see)."),
            "schema": {"type": "string"},
        },
    ]
    if view._search_columns or view.full_text:
        parameters.append(
            {
                "name": "search",
                "in": "query",
                "description": str(view.search_placeholder() or gettext("Search")),
                "schema": {"type": "string"},
            }
        )
    return parameters + filter_parameters(view)


def _get_operation(view: TableView) -> dict[str, t.Any]:
    name = view.info.endpoint
    return {
        "operationId": f"get_{name}",
        "summary": gettext("Read a row"),
        "tags": [view.info.id],
        "parameters": [ref("parameters", "ifNoneMatch")],
        "responses": {
            "200": {
                "description": gettext("The row; its ETag is the version to send in If-Match."),
                "headers": {"ETag": _header()},
                "content": {JSON: {"schema": ref("schemas", f"{name}.row")}},
            },
            "304": {"description": gettext("The row is unchanged."), "headers": {"ETag": _header()}},
            **problem_responses("404"),
        },
    }


def _bulk_operation(view: TableView) -> dict[str, t.Any]:
    return {
        "operationId": f"bulk_{view.info.endpoint}",
        "summary": gettext("Several writes in one transaction: all or none"),
        "tags": [view.info.id],
        "parameters": [_csrf_header()],
        "requestBody": {"required": True, "content": {JSON: {"schema": ref("schemas", "BulkRequest")}}},
        "responses": {
            "200": {
                "description": gettext("Every operation was applied."),
                "content": {JSON: {"schema": ref("schemas", "BulkResults")}},
            },
            **problem_responses("400", "403", "404", "409", "412", "413", "415", "422", "428"),
        },
    }


def _import_operation(view: TableView) -> dict[str, t.Any]:
    """``POST /api/<endpoint>/_import`` (:mod:`dashboard.api.importing`)."""
    text_file = {"schema": {"type": "string"}}
    return {
        "operationId": f"import_{view.info.endpoint}",
        "summary": gettext("Import a CSV, XLSX, JSON or JSON-lines file: every row or none"),
        "tags": [view.info.id],
        "parameters": [
            ref("parameters", "importMode"),
            ref("parameters", "importKey"),
            ref("parameters", "importDryRun"),
            _csrf_header(),
        ],
        "requestBody": {
            "required": True,
            "content": {"text/csv": text_file, "application/x-ndjson": text_file, JSON: {"schema": {}}},
        },
        "responses": {
            "200": {
                "description": gettext("The rows imported, or with dry_run what a real import would refuse."),
                "content": {JSON: {"schema": ref("schemas", "ImportResult")}},
            },
            **problem_responses("400", "403", "404", "409", "413", "415", "422"),
        },
    }
