"""Many writes to one relation in one transaction: ``POST /api/<endpoint>/_bulk``.

The body is ``{"operations": [...]}``, each operation one of

- ``{"op": "create", "values": {...}}``,
- ``{"op": "update", "key": "<key text>", "if_match": "<ETag>", "values": {...}}``
- ``{"op": "delete", "key": "<key text>", "if_match": "<ETag>"}``
  (``if_match`` is required for both, as ``If-Match`` is on ``PATCH`` and ``DELETE``).

They run in order, in ONE transaction of the table's
:class:`~dashboard.db.records.RecordStore`: all are applied or none. Success answers ``200``
``{"results": [{"op", "key", "etag"}]}``, one per operation in order (``key`` and ``etag``
of the row as the transaction left it; ``etag`` is ``null`` for a delete). Each row written
gets its own audit entry (``create``, ``edit``, ``delete``), as a bulk edit's rows do; a
refused call gets one failed entry, for the operation that was refused.

Every refusal is a problem whose ``errors`` name the operation, ``operations[3]``,
``operations[3].key`` or ``operations[3].values.price``, with the statuses of single writes
(:mod:`dashboard.api.writes`): ``400`` (the body is not this shape: no ``operations`` list,
an operation that is not an object, an unknown ``op``, a member of the wrong JSON type),
``403`` (checked first, for every kind of operation the call holds), ``404`` (a ``key`` no row
has now), ``409``, ``412`` (an ``if_match`` that is no longer the row's; ``current`` then holds
that row), ``415``, ``422`` (refused values, or a ``key`` that cannot be any row's, such as
text for a numeric key), ``428`` (an update or delete without ``if_match``), ``503``. Problems other
than 400 and 413 name every operation at fault they can find before writing; once writing,
the first one refused. More operations than ``API_BULK_MAX_OPERATIONS`` in
one call answer ``413``: the request is larger than the site will process, and splitting
it into several calls is the fix.
"""

from __future__ import annotations

import logging
import typing as t
from dataclasses import dataclass, field

from flask import Response, abort, current_app
from sqlalchemy.exc import SQLAlchemyError

from dashboard.api import writes
from dashboard.api.addressing import api_routes, etag, expected_fingerprint, json_response, relation, row_json
from dashboard.db.records import Conflict, Record, WriteError, describe_write_error
from dashboard.i18n.translation import gettext, ngettext
from dashboard.problems import FieldError, problem
from dashboard.web import audit_changes
from dashboard.web.keys import BadKey, decode_key, encode_key

if t.TYPE_CHECKING:
    from dashboard.web.table_view import TableView

log = logging.getLogger(__name__)

#: The operations a bulk call takes -> the table action (and audit action) each is.
OPERATIONS = {"create": "create", "update": "edit", "delete": "delete"}


@dataclass
class Operation:
    """One operation of the call, checked and typed."""

    index: int
    op: str
    key: tuple[t.Any, ...] | None = None
    if_match: str | None = None
    typed: dict[str, t.Any] = field(default_factory=dict)
    #: What its audit entry records (set while it runs) and its row's key text.
    changes: t.Any = None
    row_key: str | None = None

    @property
    def action(self) -> str:
        return OPERATIONS[self.op]

    @property
    def name(self) -> str:
        return f"operations[{self.index}]"


class _Refused(Exception):
    """An operation that cannot be applied: the transaction is rolled back, then ``response`` answers."""

    def __init__(self, operation: Operation, message: str, response: Response) -> None:
        super().__init__(message)
        self.operation = operation
        self.message = message
        self.response = response


class _DatabaseRefused(Exception):
    """An operation the database refused; its problem is made after the rollback, when the
    violation explainers can query."""

    def __init__(self, operation: Operation, error: WriteError) -> None:
        super().__init__(error.message)
        self.operation = operation
        self.error = error


# -- reading the call ------------------------------------------------------------------------
def _operations(
    view: TableView, body: t.Mapping[str, t.Any]
) -> tuple[list[Operation], list[FieldError], list[Operation]]:
    """The call's operations, their refused keys and values, and their updates without ``if_match``.

    The call ends at once with a problem when it has too many operations or one is badly shaped.
    """
    sent = writes.member(body, "operations", list)
    cap = int(current_app.config["API_BULK_MAX_OPERATIONS"])
    if len(sent) > cap:
        abort(
            problem(
                413,
                gettext("Too many operations"),
                ngettext(
                    "One call takes at most %(num)s operation; send them in several calls.",
                    "One call takes at most %(num)s operations; send them in several calls.",
                    cap,
                ),
                limit=cap,
            )
        )
    operations: list[Operation] = []
    errors: list[FieldError] = []
    unverified: list[Operation] = []
    for index, item in enumerate(sent):
        name = f"operations[{index}]"
        if not isinstance(item, dict):
            _malformed(name, gettext("Each operation must be an object."))
        op = item.get("op")
        # A list or object is no operation's name (and cannot be looked up: it has no hash).
        if not isinstance(op, str) or op not in OPERATIONS:
            _malformed(f"{name}.op", gettext("The operation must be create, update or delete."))
        # A member the operation does not use is still checked: {"op": "create", "key": 7} is a
        # call written wrong, which its author should hear of (the document gives each member a type).
        for unused, kind in (("key", str), ("values", dict)):
            if unused in item:
                writes.member(item, unused, kind, f"{name}.{unused}")
        if item.get("if_match") is not None:
            writes.member(item, "if_match", str, f"{name}.if_match")
        operation = Operation(index, op)
        if op != "create":
            text = writes.member(item, "key", str, f"{name}.key")
            try:
                operation.key = decode_key(text, view.store.key_codecs)
            except BadKey:
                errors.append({"field": f"{name}.key", "message": gettext("No row has this key.")})
            operation.row_key = text
        if op != "create":
            if item.get("if_match") is None:
                unverified.append(operation)
            else:
                operation.if_match = writes.member(item, "if_match", str, f"{name}.if_match").strip().strip('"')
        if op != "delete":
            values = writes.member(item, "values", dict, f"{name}.values")
            operation.typed, refused = writes.typed_values(
                view, values, creating=op == "create", prefix=f"{name}.values."
            )
            errors.extend(refused)
        operations.append(operation)
    return operations, errors, unverified


def _malformed(field_name: str, message: str) -> t.NoReturn:
    abort(problem(400, gettext("Bad request"), message, errors=[{"field": field_name, "message": message}]))


# -- applying it ---------------------------------------------------------------------------------
def _apply(view: TableView, operations: t.Sequence[Operation]) -> list[tuple[Operation, Record | None]]:
    """Run ``operations`` in one transaction; each with the row it left (``None`` after a delete).

    :raises _Refused: for the operation that could not be applied (nothing was).
    :raises WriteError: when the database refused the transaction itself (the commit).
    """
    store = view.store
    done: list[tuple[Operation, Record | None]] = []
    with store.transaction("edit") as connection:
        for operation in operations:
            try:
                done.append((operation, _run(view, connection, operation)))
            except (SQLAlchemyError, OverflowError) as exc:
                # Which operation the database refused is known only here; its words go to the log.
                log.warning("bulk call on %s refused at operation %s: %s", view.info.id, operation.index, exc)
                refused = describe_write_error(exc, t.cast(t.Any, operation.action), view.info.name)
                raise _DatabaseRefused(operation, refused) from exc
            except WriteError as refused:
                # A plugin's before_write refused this operation's row.
                raise _DatabaseRefused(operation, refused) from refused
    return done


def _run(view: TableView, connection: t.Any, operation: Operation) -> Record | None:
    store = view.store
    if operation.op == "create":
        operation.changes = audit_changes.created(view, operation.typed)
        key = store.insert_in(connection, operation.typed)
        operation.changes = audit_changes.created(view, operation.typed)  # as written: hooks may change it
        operation.row_key = writes.key_text(view, key)
        return store.get_in(connection, key) if operation.row_key is not None else None
    key = t.cast("tuple[t.Any, ...]", operation.key)  # every update and delete has one (_operations)
    before = store.get_in(connection, key)
    if before is None:
        raise _Refused(operation, gettext("No row has this key."), _gone(operation))
    if operation.if_match is not None:
        try:
            store.update_in(connection, key, {}, expected_fingerprint(view, before, {operation.if_match}))
        except Conflict as conflict:
            message = writes.CHANGED_MEANWHILE
            raise _Refused(operation, message, _stale(view, operation, conflict.current)) from None
    if operation.op == "delete":
        operation.changes = audit_changes.deleted(view, before)
        store.delete_in(connection, key)
        return None
    operation.changes = audit_changes.edited(view, before, operation.typed)
    if operation.typed:
        store.update_in(connection, key, operation.typed, store.fingerprint(before))
        operation.changes = audit_changes.edited(view, before, operation.typed)  # as written: hooks may change it
    by_name = {view.info.column_by_key(k).name: v for k, v in operation.typed.items()}
    new_key = tuple(by_name.get(name, part) for name, part in zip(view.info.row_key, key, strict=False))
    if view.info.row_key_source != "rowid" and new_key != key:
        operation.row_key = encode_key(new_key, store.key_codecs)
        return store.get_in(connection, new_key)
    return store.get_in(connection, key)


def _gone(operation: Operation) -> Response:
    message = gettext("No row has this key.")
    return problem(
        404,
        gettext("Not found"),
        gettext("Nothing was saved: %(operation)s names a row that is not there.", operation=operation.name),
        errors=[{"field": f"{operation.name}.key", "message": message}],
    )


def _stale(view: TableView, operation: Operation, current: Record | None) -> Response:
    message = gettext("The row was changed by someone else since this version.")
    members: dict[str, t.Any] = {"current": row_json(view, current)} if current is not None else {}
    return problem(
        412,
        gettext("Precondition failed"),
        gettext("Nothing was saved: the row of %(operation)s changed meanwhile.", operation=operation.name),
        errors=[{"field": f"{operation.name}.if_match", "message": message}],
        headers={"ETag": etag(view, current)} if current is not None else None,
        **members,
    )


# -- the call --------------------------------------------------------------------------------------
def bulk_write(view: TableView) -> Response:
    """``POST /api/<endpoint>/_bulk``: the operations of the body, all or none (see the module)."""
    body = writes.json_object()
    operations, errors, unverified = _operations(view, body)
    for action in dict.fromkeys(operation.action for operation in operations):
        first = next(operation for operation in operations if operation.action == action)
        writes.check_right(view, action, first.row_key)
    if unverified:
        first = unverified[0]
        writes.record(view, first.action, first.row_key, None, outcome="failed", message=writes.UNVERIFIED)
        message = gettext("An update or a delete needs the row's ETag.")
        abort(
            problem(
                428,
                gettext("Precondition required"),
                gettext(
                    "Give each update and delete the row's ETag in if_match, "
                    "so a row changed meanwhile is not overwritten or deleted unseen."
                ),
                errors=[{"field": f"{operation.name}.if_match", "message": message} for operation in unverified],
            )
        )
    if errors:
        writes.refuse_values(errors)
    try:
        done = _apply(view, operations)
    except _DatabaseRefused as refused:
        return _explained(view, refused.operation, refused.error)
    except _Refused as refused:
        operation = refused.operation
        writes.record(
            view, operation.action, operation.row_key, operation.changes, outcome="failed", message=refused.message
        )
        return refused.response
    except WriteError as exc:
        return writes.database_refusal(view, exc, action="edit", row_key=None, changes=None)
    writes.after_write(view)
    results = []
    for operation, row in done:
        writes.record(view, operation.action, operation.row_key, operation.changes)
        results.append({"op": operation.op, "key": operation.row_key, "etag": etag(view, row) if row else None})
    return json_response({"results": results})


def _explained(view: TableView, operation: Operation, error: WriteError) -> Response:
    """The problem of an operation the database refused, its fields named as ``operations[i]...``."""
    return writes.database_refusal(
        view,
        error,
        action=operation.action,
        row_key=operation.row_key,
        changes=operation.changes,
        typed=operation.typed,
        key=operation.key,
        prefix=f"{operation.name}.values.",
        key_field=f"{operation.name}.key",
        operation_field=operation.name,
    )


@api_routes.route("/<endpoint>/_bulk", methods=["POST"], endpoint="bulk_write")
def bulk_view(endpoint: str) -> Response:
    """Many writes in one transaction (:func:`bulk_write`)."""
    return bulk_write(relation(endpoint))
