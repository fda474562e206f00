"""The schemas, parameters and responses of the OpenAPI document (:mod:`dashboard.api.openapi`)
that describe one relation or every call alike.

Component names are made from a relation's endpoint (``A-Z a-z 0-9 _ -``, :mod:`dashboard.urls`),
so a hostile table name never reaches a ``$ref`` or an ``operationId``.
"""

from __future__ import annotations

import typing as t

from dashboard.api import values
from dashboard.api.addressing import api_columns
from dashboard.api.arguments import default_limit, max_limit, operations_for
from dashboard.i18n.translation import gettext
from dashboard.messages import N_
from dashboard.problems import PROBLEM_MEDIA_TYPE
from dashboard.web.forms import optional_on_create, read_only_reason

if t.TYPE_CHECKING:
    from dashboard.web.table_view import TableView

JSON = "application/json"

#: The statuses of problems that any call may answer, with what they mean.
PROBLEM_STATUSES = {
    "400": N_("The request is not valid: a bad argument, body or cursor; `errors` names each field."),
    "401": N_("Not logged in: send an API token (Authorization: Bearer) or a session cookie."),
    "403": N_("The caller may not do this here."),
    "404": N_("No such relation for this caller, or no row with this key."),
    "409": N_("The database refused the values because of its constraints."),
    "412": N_("If-Match names a version that is no longer the row's; `current` holds the row as it is."),
    "413": N_("The request is larger than this site accepts."),
    "415": N_("The body is not application/json."),
    "422": N_("A value is refused; `errors` names each field."),
    "428": N_("If-Match is required."),
    "429": N_("Too many calls: wait as Retry-After says."),
    "503": N_("The database is not reachable or refused to read; nothing was saved."),
}


def ref(kind: str, name: str) -> dict[str, str]:
    """A ``$ref`` to component ``name`` of ``kind`` (``schemas``, ``responses``, ``parameters``)."""
    return {"$ref": f"#/components/{kind}/{name}"}


def problem_responses(*statuses: str) -> dict[str, t.Any]:
    """The ``responses`` entries of problem ``statuses`` (always with 401, 429 and 503)."""
    every = sorted({*statuses, "401", "429", "503"})
    return {status: ref("responses", f"Problem{status}") for status in every}


def shared_components() -> dict[str, t.Any]:
    """The components every relation's operations use."""
    problem_schema = {
        "type": "object",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["field", "message"],
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                },
            },
            "current": {"description": gettext("The row as it is now (a stale write).")},
        },
    }
    responses = {
        f"Problem{status}": {
            "description": gettext(text),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": ref("schemas", "Problem")}},
        }
        for status, text in PROBLEM_STATUSES.items()
    }
    parameters = {
        "limit": {
            "name": "limit",
            "in": "query",
            "description": gettext("Rows per page."),
            "schema": {"type": "integer", "minimum": 1, "maximum": max_limit(), "default": default_limit()},
        },
        "cursor": {
            "name": "cursor",
            "in": "query",
            "description": gettext("The `next` of the previous page, as it was given."),
            "schema": {"type": "string"},
        },
        "count": {
            "name": "count",
            "in": "query",
            "description": gettext("How to count the rows: a cheap estimate for large tables, or exactly."),
            "schema": {"type": "string", "enum": ["estimate", "exact"], "default": "estimate"},
        },
        "key": {
            "name": "key",
            "in": "path",
            "required": True,
            "description": gettext(
                "The row's key text (the `key` of a listed row), percent-encoded as one path segment."
            ),
            "schema": {"type": "string", "minLength": 1},
        },
    }
    parameters.update(_write_parameters())
    schemas = {
        **_write_schemas(),
        "Problem": problem_schema,
        "Count": {
            "type": "object",
            "required": ["value", "exact"],
            "properties": {"value": {"type": ["integer", "null"]}, "exact": {"type": "boolean"}},
        },
    }
    return {"schemas": schemas, "responses": responses, "parameters": parameters}


def _write_parameters() -> dict[str, t.Any]:
    def header(name: str, description: str, *, required: bool = False) -> dict[str, t.Any]:
        found = {"name": name, "in": "header", "description": description, "schema": {"type": "string"}}
        return {**found, "required": True} if required else found

    return {
        "csrfToken": header(
            "X-CSRFToken", gettext("With a session cookie: the page's CSRF token. Not needed with an API token.")
        ),
        "ifMatch": header("If-Match", gettext("The row's ETag as it was read."), required=True),
        "ifNoneMatch": header("If-None-Match", gettext("The ETag you hold: 304 when the row is unchanged.")),
        "importMode": {"name": "mode", "in": "query", "schema": {"type": "string", "enum": ["insert", "upsert"]}},
        "importKey": {
            "name": "key",
            "in": "query",
            "description": gettext("The columns an upsert goes by, comma-separated (default: the table's key)."),
            "schema": {"type": "string"},
        },
        "importDryRun": {
            "name": "dry_run",
            "in": "query",
            "description": gettext("Check every row and write nothing."),
            "schema": {"type": "string", "enum": ["true", "false"]},
        },
    }


def _write_schemas() -> dict[str, t.Any]:
    operation = {
        "type": "object",
        "required": ["op"],
        "properties": {
            "op": {"type": "string", "enum": ["create", "update", "delete"]},
            "key": {"type": "string"},
            # null: as if absent (an update then answers 428).
            "if_match": {"type": ["string", "null"]},
            "values": {"type": "object"},
        },
    }
    result = {
        "type": "object",
        "required": ["op", "key", "etag"],
        "properties": {
            "op": {"type": "string"},
            "key": {"type": ["string", "null"]},
            "etag": {"type": ["string", "null"]},
        },
    }
    counts = {
        "type": "object",
        "required": ["inserted", "updated"],
        "properties": {"inserted": {"type": "integer"}, "updated": {"type": "integer"}},
    }
    dry_run = {
        "type": "object",
        "required": ["rows", "valid", "error_count", "errors"],
        "properties": {
            "rows": {"type": "integer"},
            "valid": {"type": "boolean"},
            "error_count": {"type": "integer"},
            "errors": {"type": "array", "items": {"type": "object"}},
        },
    }
    return {
        "BulkRequest": {
            "type": "object",
            "required": ["operations"],
            "properties": {"operations": {"type": "array", "items": operation}},
        },
        "BulkResults": {
            "type": "object",
            "required": ["results"],
            "properties": {"results": {"type": "array", "items": result}},
        },
        "ImportResult": {"anyOf": [counts, dry_run]},
    }


def relation_schemas(view: TableView, name: str, *, writes: bool) -> dict[str, t.Any]:
    """The schemas of one relation: its values, a row, a page; the write bodies when ``writes``."""
    codecs = view.store.codecs
    shown = api_columns(view)
    key_schema: dict[str, t.Any] = {"type": "string"} if view.info.has_row_identity else {"type": "null"}
    key_schema["description"] = (
        gettext("The row's key text.")
        if view.info.has_row_identity
        else gettext("Always null: rows of this relation have no key and cannot be addressed one by one.")
    )
    found: dict[str, t.Any] = {
        f"{name}.values": {
            "type": "object",
            "properties": {c.name: values.json_schema(codecs[c.key], c) for c in shown},
            "additionalProperties": False,
        },
        f"{name}.row": {
            "type": "object",
            "required": ["key", "values"],
            "properties": {"key": key_schema, "values": ref("schemas", f"{name}.values")},
        },
        f"{name}.page": {
            "type": "object",
            "required": ["rows", "next", "count"],
            "properties": {
                "rows": {"type": "array", "items": ref("schemas", f"{name}.row")},
                "next": {"type": ["string", "null"]},
                "count": ref("schemas", "Count"),
            },
        },
    }
    if writes:
        found[f"{name}.create"] = _body_schema(view, creating=True)
        found[f"{name}.update"] = _body_schema(view, creating=False)
    return found


def _body_schema(view: TableView, *, creating: bool) -> dict[str, t.Any]:
    """``{"values": {...}}`` of a create or an update: the columns the caller may write."""
    properties: dict[str, t.Any] = {}
    required: list[str] = []
    for column in api_columns(view):
        codec = view.store.codecs[column.key]
        configured = bool(view.options.column(column.name).get("read_only"))
        if read_only_reason(column, codec, creating=creating, configured=configured) is not None:
            continue
        properties[column.name] = values.input_schema(codec, column)
        if creating and not optional_on_create(column):
            required.append(column.name)
    inner: dict[str, t.Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        inner["required"] = required
    return {"type": "object", "required": ["values"], "properties": {"values": inner}}


def filter_parameters(view: TableView) -> list[dict[str, t.Any]]:
    """``<column>__<op>`` query parameters of the columns the caller may filter."""
    parameters: list[dict[str, t.Any]] = []
    for column in api_columns(view):
        if not view.options.column(column.name).get("filterable", True):
            continue
        for op in operations_for(view.store.codecs[column.key]):
            schema: dict[str, t.Any] = {"type": "string"}
            if op == "isnull":
                schema["enum"] = ["true", "false"]
            parameters.append({"name": f"{column.name}__{op}", "in": "query", "schema": schema})
    return parameters


def filters_text() -> str:
    """What the ``<column>__<op>`` parameters do, for a listing's description."""
    lines = [gettext("Filters: `<column>__<operation>=value`, values typed as the column's are.")]
    for op, text in _OPERATION_TEXTS.items():
        lines.append(f"- `{op}`: " + gettext(text))
    return "\n".join(lines)


_OPERATION_TEXTS = {
    "eq": N_("Rows whose value equals this one (typed as the column's values are)."),
    "ne": N_("Rows whose value differs from this one, or is null."),
    "lt": N_("Rows whose value is less than this one."),
    "le": N_("Rows whose value is at most this one."),
    "gt": N_("Rows whose value is greater than this one."),
    "ge": N_("Rows whose value is at least this one."),
    "in": N_("Rows whose value is one of these, separated by commas."),
    "contains": N_("Rows whose text contains this, ignoring case."),
    "isnull": N_("Rows whose value is null (true) or not (false)."),
}
