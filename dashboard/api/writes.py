"""Writing one row through the API: ``POST /api/<endpoint>/``, ``PATCH`` and ``DELETE /api/<endpoint>/<key>``.

Every write goes through the same checks, store, audit log and cache as the pages'
(:mod:`dashboard.web.table_writes`): the operator's right on the table (``can``), a table the
dashboard serves read-only, the ``READ_ONLY`` setting, the database user's privileges; then
one transaction of the table's :class:`~dashboard.db.records.RecordStore`, an audit entry
(actions ``create``, ``edit``, ``delete`` as on the pages, refused attempts too) and the
table's listing-cache generation bumped, so the next listing on any worker shows the change.

What each call answers, besides its success (``201``, ``200``, ``204``):

- ``400``: the body is not JSON, or not the object the call takes (``values`` missing or not
  an object); or a browser session's call without its CSRF token in ``X-CSRFToken`` (a call
  with an API token needs none);
- ``403``: the caller may not make this write here (their role, a read-only table or site,
  the database user's privileges); recorded in the audit log;
- ``404``: no such table for this caller, a key that is no row's;
- ``409``: the database refused the values because of its constraints (a UNIQUE value another
  row holds, a foreign key no row matches, a CHECK) or a delete another row still refers to;
  ``errors`` names the fields when the schema can tell (:mod:`dashboard.web.violations`,
  :mod:`dashboard.web.references`);
- ``412``: ``If-Match`` names a version that is no longer the row's; the body's ``current``
  member is the row as it is now, with its ``ETag`` header;
- ``413``: the body is larger than ``API_MAX_BODY_BYTES``;
- ``415``: the body is not ``application/json``;
- ``422``: the JSON is well formed but a value is refused before anything is written: an
  unknown or hidden column, one the caller may not write (generated, numbered by the
  database, part of the key on ``PATCH``, configured read-only, no editor for its type), a
  value its column does not take, a required value missing or null, or a value out of its
  column's range; ``errors`` names each field. 422 rather than 400 because the request
  is syntactically right and the same body may be fine for another table: the client must
  change the values, not the way it sends them;
- ``428``: a ``PATCH`` or ``DELETE`` without ``If-Match``: without it, a change made meanwhile
  by someone else would be overwritten, or a row deleted, unseen (the pages refuse such an
  edit too);
- ``503``: the database cannot be reached; nothing was saved.

Values are by column name, in the JSON forms of :mod:`dashboard.api.values`; a field error
names its column (``price``).
"""

from __future__ import annotations

import json as strict_json
import math
import typing as t
from urllib.parse import quote

from flask import Response, abort, current_app, request

from dashboard.api import values as json_values
from dashboard.api.addressing import (
    api_routes,
    etag,
    expected_fingerprint,
    fetch_row,
    json_response,
    relation,
    row_json,
    row_key,
)
from dashboard.db import privileges as db_privileges
from dashboard.db.errors import Kind
from dashboard.db.records import Conflict, Record, RowsGone, WriteError
from dashboard.i18n.translation import exception_text, gettext, translate
from dashboard.messages import N_, Message
from dashboard.problems import API_PATH, FieldError, problem
from dashboard.security import audit
from dashboard.web import audit_changes, violations
from dashboard.web.caching import listing_cache
from dashboard.web.forms import optional_on_create, read_only_reason
from dashboard.web.keys import encode_key
from dashboard.web.references import blocking_reference
from dashboard.web.unavailable import DatabaseUnreachable

if t.TYPE_CHECKING:
    from dashboard.web.table_view import TableView

#: What an audit entry of a write made through the API says, when it succeeded.
API_WRITE = N_("Made through the API.")
#: The database privilege each write needs.
_PRIVILEGES = {"create": "INSERT", "edit": "UPDATE", "delete": "DELETE"}
#: What a refused edit or delete of a row changed meanwhile is recorded with (the pages' words).
CHANGED_MEANWHILE = N_("Not saved: the row was changed or deleted by someone else after it was opened.")
UNVERIFIED = N_("Not saved: the form did not say which version of the row it was opened on.")


# -- the request ----------------------------------------------------------------------------
def json_object() -> dict[str, t.Any]:
    """The request's body, a JSON object; else the call ends with a 415, 413 or 400 problem."""
    if request.mimetype != "application/json" and not request.mimetype.endswith("+json"):
        abort(
            problem(
                415,
                gettext("Unsupported media type"),
                gettext("Send the body as JSON, with Content-Type: application/json."),
            )
        )
    limit = int(current_app.config["API_MAX_BODY_BYTES"])
    # Read with the limit here: the request's stream was opened by the CSRF check's look at the
    # form, before a per-request max_content_length could apply; a body sent without a length
    # (chunked) is read no further than the limit either.
    data = b"" if (request.content_length or 0) > limit else request.stream.read(limit + 1)
    if len(data) > limit or (request.content_length or 0) > limit:
        abort(
            problem(
                413,
                gettext("Too large to save"),
                gettext("Nothing was saved: the request is larger than this site accepts."),
            )
        )
    try:
        body = strict_json.loads(data, parse_constant=_not_json, parse_float=_finite) if data else None
    except (ValueError, RecursionError):  # RecursionError: arrays nested thousands deep
        body = None
    if not isinstance(body, dict):
        detail = gettext("The body is not valid JSON.") if body is None else gettext("The body must be a JSON object.")
        abort(problem(400, gettext("Bad request"), detail))
    return body


def _not_json(name: str) -> t.NoReturn:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    # Python reads 1e400 as infinity, which no JSON number is and no column should receive.
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"{text} is out of range")
    return number


def member(body: t.Mapping[str, t.Any], name: str, kind: type, field: str | None = None) -> t.Any:
    """``body[name]``, which must be a JSON value of ``kind`` (``dict``, ``list``, ``str``); else a 400."""
    value = body.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        names: dict[type, str] = {dict: gettext("an object"), list: gettext("a list"), str: gettext("a string")}
        what = names[kind]
        message = gettext("This member is required and must be %(what)s.", what=what)
        abort(problem(400, gettext("Bad request"), message, errors=[{"field": field or name, "message": message}]))
    return value


def if_match() -> set[str]:
    """The fingerprints the request's ``If-Match`` names (strong entity tags; ``*`` names none)."""
    return set(request.if_match.as_set())


# -- rights -------------------------------------------------------------------------------------
def refusal(view: TableView, action: str) -> str | None:
    """Why the caller may not ``action`` ("create", "edit", "delete") rows of ``view``'s table now,
    or ``None``: the same rules as the pages' buttons and routes."""
    if current_app.config.get("READ_ONLY") or view.read_only_site:
        return gettext("The dashboard runs in read-only mode: nothing can be changed.")
    if not view.allowed(action):
        return gettext("Permission denied.")
    if not view.writable or (action != "create" and not view.info.has_row_identity):
        return gettext("This table is read-only.")
    privilege = _PRIVILEGES[action]
    if not view.info.may(privilege):
        return translate(Message(db_privileges.REFUSED, privilege=privilege, table=view.info.name))
    return None


def check_right(view: TableView, action: str, row_key: str | None = None, changes: t.Any = None) -> None:
    """End the call with a 403 problem, recorded in the audit log, when :func:`refusal` says so."""
    reason = refusal(view, action)
    if reason is not None:
        record(view, action, row_key, changes, outcome="failed", message=reason)
        abort(problem(403, gettext("Forbidden"), reason))


# -- values ---------------------------------------------------------------------------------------
def typed_values(
    view: TableView, sent: t.Mapping[str, t.Any], *, creating: bool, prefix: str = ""
) -> tuple[dict[str, t.Any], list[FieldError]]:
    """``sent`` (JSON values by column name) as values to write by column key, and the refused fields.

    A column the caller may not see is refused like an unknown one: the answer must not tell
    that it exists.

    :param creating: a create (every required column must be there) rather than an edit.
    :param prefix: put before each field's name (``operations[3].values.``).
    """
    writable = {column.name: column for column in view.visible}
    typed: dict[str, t.Any] = {}
    errors: list[FieldError] = []
    for name, value in sent.items():
        column = writable.get(name)
        if column is None:
            errors.append({"field": prefix + name, "message": gettext("This table has no such column.")})
            continue
        configured = bool(view.options.column(column.name).get("read_only"))
        reason = read_only_reason(column, view.store.codecs[column.key], creating=creating, configured=configured)
        if reason is not None:
            message = gettext("This column cannot be written: %(reason)s.", reason=translate(reason))
            errors.append({"field": prefix + name, "message": message})
            continue
        if value is None and not column.nullable:
            # Even where the database has a default: null asks for NULL, which it would refuse.
            errors.append({"field": prefix + name, "message": gettext("This field is required.")})
            continue
        try:
            typed[column.key] = json_values.from_json(view.store.codecs[column.key], value)
        except ValueError as exc:
            errors.append({"field": prefix + name, "message": exception_text(exc)})
    if creating:
        for column in view.visible:
            configured = bool(view.options.column(column.name).get("read_only"))
            settable = read_only_reason(column, view.store.codecs[column.key], creating=True, configured=configured)
            if column.name not in sent and settable is None and not optional_on_create(column):
                errors.append({"field": prefix + column.name, "message": gettext("This field is required.")})
    return typed, errors


def refuse_values(errors: t.Sequence[FieldError]) -> t.NoReturn:
    """End the call with the 422 problem naming ``errors``."""
    abort(
        problem(
            422,
            gettext("Values refused"),
            gettext("Nothing was saved: some values cannot be written."),
            errors=errors,
        )
    )


# -- answers ----------------------------------------------------------------------------------------
def key_text(view: TableView, key: t.Sequence[t.Any]) -> str | None:
    """The row key's text (as in URLs), or ``None`` when the row has no complete key."""
    if not view.info.has_row_identity or not key or any(part is None for part in key):
        return None
    return encode_key(tuple(key), view.store.key_codecs)


def row_url(view: TableView, text: str) -> str:
    """The API address of the row whose key text is ``text`` (the key one percent-encoded segment)."""
    return f"{request.script_root}{API_PATH}/{quote(view.info.endpoint, safe='')}/{quote(text, safe='')}"


def row_response(view: TableView, record: Record, status: int = 200) -> Response:
    """``record`` as the body, with its ``ETag``."""
    response = json_response(row_json(view, record), status)
    response.headers["ETag"] = etag(view, record)
    return response


def stale(view: TableView, current: Record | None) -> t.NoReturn:
    """End the call with the 412 problem of a row changed meanwhile (404 when it is gone)."""
    if current is None:
        gone()
    abort(
        problem(
            412,
            gettext("Precondition failed"),
            gettext("The row was changed by someone else since this version: nothing was saved."),
            headers={"ETag": etag(view, current)},
            current=row_json(view, current),
        )
    )


def gone() -> t.NoReturn:
    """End the call with the 404 problem of a row that is not there."""
    abort(problem(404, gettext("Not found"), gettext("No row has this key.")))


# -- after a write ------------------------------------------------------------------------------------
def after_write(view: TableView) -> None:
    """Every listing of the table, on every worker, must now be read afresh."""
    cache = listing_cache()
    if cache is not None:
        cache.bump(view.info.id)


def record(
    view: TableView,
    action: str,
    row_key: str | None,
    changes: t.Any,
    *,
    outcome: str = "ok",
    message: str = "",
    kind: str | None = None,
) -> None:
    """One audit entry for a write to ``view``'s table (``message``: why it was refused)."""
    audit.record_write(
        action,
        view.info.id,
        row_key=row_key,
        changes=changes,
        outcome=outcome,
        message=message or (API_WRITE if outcome == "ok" else ""),
        kind=kind,
    )


def database_refusal(
    view: TableView,
    exc: WriteError,
    *,
    action: str,
    row_key: str | None,
    changes: t.Any,
    typed: t.Mapping[str, t.Any] | None = None,
    key: t.Sequence[t.Any] | None = None,
    prefix: str = "",
    key_field: str = "key",
    operation_field: str | None = None,
) -> Response:
    """Record a write the database refused (its transaction rolled back) and the problem answering it.

    :param row_key: the row's key text, and ``changes`` the write's, for the audit entry.
    :param typed: the values the write tried to set, by column key (the fields to blame).
    :param key: the row written, for an edit (its own values do not collide) or a delete.
    :param prefix: put before each field's name.
    :param key_field: the field blamed for a delete another row still refers to.
    :param operation_field: the field blamed when no other can be (a bulk call's operation).
    """
    detail = translate(exc.message)
    reason: str = exc.message
    errors: list[FieldError] = []
    status = 422
    if exc.kind == Kind.CONSTRAINT:
        status = 409
        blocked = None
        if (
            action == "delete"
            and key is not None
            and exc.error is not None
            and exc.error.detail in ("foreign_key", None)
        ):
            blocked = blocking_reference(view.store, view.stores, [key], view.may_see)
        if blocked:
            reason = blocked
            detail = gettext("Nothing was deleted. %(reason)s", reason=blocked)
            errors.append({"field": key_field, "message": blocked})
        elif typed:
            by_key = violations.field_errors(view.store, view.stores, typed, key if action == "edit" else None)
            errors.extend(
                {"field": prefix + view.info.column_by_key(column_key).name, "message": message}
                for column_key, message in by_key.items()
            )
    elif exc.kind == Kind.PERMISSION:
        status = 403
    elif exc.kind == Kind.TIMEOUT:
        status = 503
    elif exc.kind == Kind.OUT_OF_RANGE and exc.error is not None and exc.error.column:
        if any(c.name == exc.error.column for c in view.visible):
            errors.append({"field": prefix + exc.error.column, "message": detail})
    if operation_field is not None and not errors:
        errors.append({"field": operation_field, "message": detail})
    record(view, action, row_key, changes, outcome="failed", message=reason, kind=exc.kind)
    if exc.unavailable:
        raise DatabaseUnreachable() from exc
    title = gettext("Refused by a plugin") if exc.kind == Kind.REFUSED else gettext("Refused by the database")
    return problem(status, title, detail, errors=errors)


# -- the calls --------------------------------------------------------------------------------------------
def create_row(view: TableView) -> Response:
    """``POST /api/<endpoint>/`` with ``{"values": {...}}``: ``201``, the new row (as read back) with
    ``Location`` and ``ETag``; a row without a complete key (numbered by a trigger, a table keyed
    by SQLite's rowid) answers ``201`` with ``"key": null`` and the values sent, without either header."""
    check_right(view, "create")
    body = json_object()
    sent = member(body, "values", dict)
    typed, errors = typed_values(view, sent, creating=True)
    if errors:
        refuse_values(errors)
    changes = audit_changes.created(view, typed)
    try:
        key = view.store.insert(typed)
    except WriteError as exc:
        return database_refusal(view, exc, action="create", row_key=None, changes=changes, typed=typed)
    after_write(view)
    text = key_text(view, key)
    record(view, "create", text, audit_changes.created(view, typed))  # as written: hooks may change it
    created = view.store.get(key) if text is not None else None
    if text is None or created is None:
        written = {
            view.info.column_by_key(k).name: json_values.to_json(view.store.codecs[k], v) for k, v in typed.items()
        }
        return json_response({"key": None, "values": written}, 201)
    response = row_response(view, created, 201)
    response.headers["Location"] = row_url(view, text)
    return response


def required_if_match(view: TableView, action: str, row_key: str, advice: str) -> set[str]:
    """The versions ``If-Match`` names; without any, a failed audit entry and a 428 saying ``advice``."""
    expected = if_match()
    if not expected:
        record(view, action, row_key, None, outcome="failed", message=UNVERIFIED)
        abort(problem(428, gettext("Precondition required"), advice))
    return expected


def patch_row(view: TableView, key: tuple[t.Any, ...]) -> Response:
    """``PATCH /api/<endpoint>/<key>`` with ``{"values": {...}}`` and ``If-Match``: only the columns
    sent change; ``200``, the row as it is now with its new ``ETag``."""
    text = encode_key(key, view.store.key_codecs)
    check_right(view, "edit", text)
    expected = required_if_match(
        view, "edit", text, gettext("Send If-Match with the row's ETag, so a change made meanwhile is not overwritten.")
    )
    body = json_object()
    sent = member(body, "values", dict)
    typed, errors = typed_values(view, sent, creating=False)
    if errors:
        refuse_values(errors)
    before = fetch_row(view, key)
    changes = audit_changes.edited(view, before, typed)
    try:
        view.store.update(key, typed, expected_fingerprint(view, before, expected))
    except Conflict as conflict:
        record(view, "edit", text, changes, outcome="failed", message=CHANGED_MEANWHILE)
        stale(view, conflict.current)
    except WriteError as exc:
        return database_refusal(view, exc, action="edit", row_key=text, changes=changes, typed=typed, key=key)
    after_write(view)
    record(view, "edit", text, audit_changes.edited(view, before, typed))  # as written: hooks may change it
    # A table keyed by a UNIQUE column may have had that column changed: the row has a new key.
    by_name = {view.info.column_by_key(k).name: v for k, v in typed.items()}
    new_key = tuple(by_name.get(name, part) for name, part in zip(view.info.row_key, key, strict=False))
    after = view.store.get(new_key) if view.info.row_key_source != "rowid" else view.store.get(key)
    if after is None:
        gone()
    return row_response(view, after)


def delete_row(view: TableView, key: tuple[t.Any, ...]) -> Response:
    """``DELETE /api/<endpoint>/<key>`` with ``If-Match``: ``204``, only the version it names is deleted."""
    text = encode_key(key, view.store.key_codecs)
    check_right(view, "delete", text)
    advice = gettext("Send If-Match with the row's ETag, so a row changed meanwhile is not deleted unseen.")
    expected = required_if_match(view, "delete", text, advice)
    before = fetch_row(view, key)
    removed = audit_changes.deleted(view, before)
    try:
        with view.store.transaction("delete") as connection:
            view.store.update_in(connection, key, {}, expected_fingerprint(view, before, expected))
            if not view.store.delete_in(connection, key):
                raise RowsGone([key])
    except Conflict as conflict:
        record(view, "delete", text, removed, outcome="failed", message=CHANGED_MEANWHILE)
        stale(view, conflict.current)
    except RowsGone:
        gone()
    except WriteError as exc:
        return database_refusal(view, exc, action="delete", row_key=text, changes=removed, key=key)
    after_write(view)
    record(view, "delete", text, removed)
    response = Response(status=204)
    del response.headers["Content-Type"]  # no content, so no type
    return response


# -- routes ------------------------------------------------------------------------------------------------
@api_routes.route("/<endpoint>/", methods=["POST"], endpoint="create_row")
def create_view(endpoint: str) -> Response:
    """Create a row (:func:`create_row`)."""
    return create_row(relation(endpoint))


@api_routes.route("/<endpoint>/<rowkey:key>", methods=["PATCH"], endpoint="patch_row")
def patch_view(endpoint: str, key: str) -> Response:
    """Change a row (:func:`patch_row`)."""
    view = relation(endpoint)
    return patch_row(view, row_key(view, key))


@api_routes.route("/<endpoint>/<rowkey:key>", methods=["DELETE"], endpoint="delete_row")
def delete_view(endpoint: str, key: str) -> Response:
    """Delete a row (:func:`delete_row`)."""
    view = relation(endpoint)
    return delete_row(view, row_key(view, key))
