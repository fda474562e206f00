"""Reading the audit log back: a row's history, one entry, every entry in order, and pruning.

The entries themselves are written by :mod:`dashboard.security.audit` into
:data:`dashboard.statedb.audit_log`. A row's history is the entries naming its table and key,
and the bulk deletes whose list of keys holds it (their ``row_key`` is a JSON list, matched
with ``LIKE`` on the key as JSON writes it, then checked in Python).
"""

from __future__ import annotations

import datetime as dt
import json
import typing as t

import sqlalchemy as sa

from dashboard.statedb import AUDIT_FILTERS, StateStore, audit_log

#: Entries read per query when every entry is streamed (an export).
BATCH = 500


def _like_literal(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _in_bulk(entry: t.Mapping[str, t.Any], row_key: str) -> bool:
    try:
        keys = json.loads(entry["row_key"] or "[]")
    except ValueError:
        return False
    return isinstance(keys, list) and row_key in keys


def _row_condition(table_id: str, row_key: str) -> sa.ColumnElement[bool]:
    listed = "%" + _like_literal(json.dumps(row_key, ensure_ascii=False)) + "%"
    return sa.and_(
        audit_log.c.table_id == table_id,
        audit_log.c.outcome == "ok",
        sa.or_(
            audit_log.c.row_key == row_key,
            sa.and_(audit_log.c.action == "bulk_delete", audit_log.c.row_key.like(listed, escape="\\")),
        ),
    )


def row_history(
    store: StateStore, table_id: str, row_key: str, *, offset: int = 0, limit: int = 20
) -> tuple[list[dict[str, t.Any]], int]:
    """The saved changes of one row (``outcome`` ok), newest first, and how many there are.

    A bulk delete that removed the row is one of them, its ``changes`` narrowed to that row.
    """
    condition = _row_condition(table_id, row_key)
    statement = sa.select(audit_log).where(condition).order_by(audit_log.c.id.desc()).offset(offset).limit(limit + 1)
    with store.engine.connect() as connection:
        found = [dict(row._mapping) for row in connection.execute(statement)]
        # Counted only when there are more than a page: most rows have a short history, or none.
        if len(found) > limit:
            counting = sa.select(sa.func.count()).select_from(audit_log).where(condition)
            total = int(connection.execute(counting).scalar_one())
            found = found[:limit]
        else:
            total = (
                offset + len(found)
                if found or offset == 0
                else int(
                    connection.execute(sa.select(sa.func.count()).select_from(audit_log).where(condition)).scalar_one()
                )
            )
    entries = []
    for entry in found:
        if entry["action"] == "bulk_delete" and entry["row_key"] != row_key:
            if not _in_bulk(entry, row_key):
                continue
            changes = entry["changes"] if isinstance(entry["changes"], dict) else {}
            entry = {**entry, "changes": changes.get(row_key)}
        entries.append(entry)
    return entries, total


def entry_by_id(store: StateStore, entry_id: int) -> dict[str, t.Any] | None:
    """One entry, or ``None``."""
    with store.engine.connect() as connection:
        row = connection.execute(sa.select(audit_log).where(audit_log.c.id == entry_id)).first()
    return dict(row._mapping) if row is not None else None


def all_entries(store: StateStore, filters: t.Mapping[str, str] | None = None) -> t.Iterator[dict[str, t.Any]]:
    """Every entry matching ``filters`` (keys of :data:`~dashboard.statedb.AUDIT_FILTERS`), oldest
    first, read :data:`BATCH` at a time by id, so an export of a big log holds one batch in memory."""
    conditions = [AUDIT_FILTERS[name] == value for name, value in (filters or {}).items() if name in AUDIT_FILTERS]
    after = 0
    while True:
        statement = (
            sa.select(audit_log).where(audit_log.c.id > after, *conditions).order_by(audit_log.c.id).limit(BATCH)
        )
        with store.engine.connect() as connection:
            batch = [dict(row._mapping) for row in connection.execute(statement)]
        yield from batch
        if len(batch) < BATCH:
            return
        after = batch[-1]["id"]


def prune(store: StateStore, before: dt.datetime) -> int:
    """Delete the entries written before ``before``; how many were deleted."""
    with store.engine.begin() as connection:
        return int(connection.execute(audit_log.delete().where(audit_log.c.at < before)).rowcount)


def deleted_rows(store: StateStore, table_id: str, *, limit: int = 50) -> list[tuple[dict[str, t.Any], str, t.Any]]:
    """The rows of ``table_id`` deleted through the dashboard, newest first, at most ``limit``:
    ``(entry, row key, that row's changes)``, from delete and bulk delete entries alike."""
    statement = (
        sa.select(audit_log)
        .where(
            audit_log.c.table_id == table_id,
            audit_log.c.outcome == "ok",
            audit_log.c.action.in_(("delete", "bulk_delete")),
        )
        .order_by(audit_log.c.id.desc())
        .limit(limit)
    )
    with store.engine.connect() as connection:
        found = [dict(row._mapping) for row in connection.execute(statement)]
    rows: list[tuple[dict[str, t.Any], str, t.Any]] = []
    for entry in found:
        changes = entry["changes"] if isinstance(entry["changes"], dict) else {}
        if entry["action"] == "delete":
            rows.append((entry, entry["row_key"], changes))
        else:
            rows.extend((entry, str(key), row) for key, row in changes.items())
    return rows[:limit]
