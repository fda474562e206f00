"""What the audit log records of a table view's writes: the values of a row created, changed or
deleted as their text, and the write POSTs a view turns away (:mod:`dashboard.security.audit`
records them)."""

from __future__ import annotations

import json
import logging
import typing as t

import sqlalchemy as sa
from flask import request
from sqlalchemy.exc import SQLAlchemyError

from dashboard.db.records import Record
from dashboard.messages import N_
from dashboard.security import audit
from dashboard.web.table_base import TableBase

log = logging.getLogger(__name__)


def row_texts(view: TableBase, values: t.Mapping[str, t.Any]) -> dict[str, str | None]:
    """Values by column key -> their text (the column's codec) by column name."""
    return {
        view.info.column_by_key(key).name: None if value is None else view._codec(key).to_text(value)
        for key, value in values.items()
    }


def created(view: TableBase, values: t.Mapping[str, t.Any]) -> audit.Changes:
    """The changes of a create: every value given."""
    return audit.changes_between(None, {k: v for k, v in row_texts(view, values).items() if v is not None})


def edited(view: TableBase, model: Record, changes: t.Mapping[str, t.Any]) -> audit.Changes:
    """The changes of an edit of ``model``: the columns whose text changes, old -> new."""
    return audit.changes_between(
        row_texts(view, {key: getattr(model, key) for key in changes}), row_texts(view, changes)
    )


def deleted(view: TableBase, model: Record) -> audit.Changes:
    """The changes of a delete: every value of the row."""
    return audit.changes_between(row_texts(view, model._values), None)


def rows_to_delete(view: TableBase, keys: t.Sequence[tuple[t.Any, ...]]) -> dict[str, audit.Changes] | None:
    """The values of the rows a bulk delete is about to remove, by row key (``None``: not read)."""
    if len(keys) > audit.MAX_AUDITED_ROWS:
        return None
    found: dict[str, audit.Changes] = {}
    try:
        for start in range(0, len(keys), 50):
            condition = sa.or_(*(view.store.key_condition(key) for key in keys[start : start + 50]))
            for record in view.store.select(where=[condition], limit=None):
                found[view.get_pk_value(record)] = deleted(view, record)
    except SQLAlchemyError as exc:
        # The delete that follows finds out whether the database is there; the entry then
        # keeps the keys without their values.
        log.warning("could not read the rows to delete from %s for the audit log: %s", view.info.id, exc)
        return None
    return found


def record_refused_post(view: TableBase, endpoint: str) -> None:
    """Record a write POST to ``endpoint`` that the view turns away for lack of a right.

    :param endpoint: a key of :data:`WRITE_VIEWS`.
    """
    right = audit.WRITE_VIEWS[endpoint]
    if endpoint == "action_view" and request.form.get("action") != "delete":
        return
    if view.is_accessible() and getattr(view, f"can_{right}"):
        return
    permitted = view.is_accessible() and view.allowed(right)
    row_key = {
        "edit_view": request.args.get("id"),
        "delete_view": request.form.get("id"),
        "action_view": json.dumps(request.form.getlist("rowid"), ensure_ascii=False),
    }.get(endpoint)
    audit.record_write(
        "bulk_delete" if endpoint == "action_view" else right,
        view.info.id,
        row_key=row_key,
        outcome="failed",
        message=N_("This table is read-only.") if permitted else N_("Permission denied."),
    )
