"""One value written to many rows in one transaction, each row as the operator last saw it.

A bulk edit is previewed before it is applied: the rows it will change are read, shown and
fingerprinted (:meth:`~dashboard.db.records.RecordStore.fingerprint`). Applying it locks each
row in turn, compares it with its fingerprint and updates it, all in one transaction: a row
changed or deleted since the preview, or one the database refuses (a CHECK, a foreign key, a
unique value already taken by a row updated before it), rolls back the whole batch, and the
exception names that row. Nothing here knows of Flask.
"""

from __future__ import annotations

import logging
import typing as t

from sqlalchemy.exc import SQLAlchemyError

from dashboard.db.records import Record, RecordStore, WriteError, describe_write_error

log = logging.getLogger(__name__)


class RowChanged(Exception):
    """The row with ``key`` is no longer the one previewed (``current`` is ``None``: it is gone);
    nothing was written."""

    def __init__(self, key: tuple[t.Any, ...], current: Record | None) -> None:
        super().__init__("a row changed since the preview")
        self.key = key
        self.current = current


class RowRefused(WriteError):
    """The database refused the update of the row with ``key`` (``message`` says why); nothing
    was written."""

    def __init__(self, key: tuple[t.Any, ...], refused: WriteError) -> None:
        super().__init__(refused.message, unavailable=refused.unavailable, kind=refused.kind, error=refused.error)
        self.key = key


def update_previewed(
    store: RecordStore,
    rows: t.Sequence[tuple[tuple[t.Any, ...], str]],
    changes: dict[str, t.Any],
    written: list[dict[str, t.Any]] | None = None,
) -> list[Record]:
    """Write ``changes`` (by column key) to every row of ``rows``, ``(key, fingerprint)`` pairs: all or none.

    :param written: gets the changes written to each row, in order: the store's write hooks
        (:mod:`dashboard.db.write_hooks`) may change them row by row.
    :returns: the rows as they were just before the update (for the audit log), in order.
    :raises RowChanged: when a row's fingerprint is no longer the one given.
    :raises RowRefused: when the database, or a write hook, refuses the update of one row.
    :raises WriteError: when it refuses the transaction otherwise (the connection, the commit).
    """
    before: list[Record] = []
    # The store's guarded transaction: rolled back on any exception, a database error made safe to show.
    with store._writing("edit") as connection:
        for key, expected in rows:
            current = store.locked_in(connection, key)
            if current is None or store.fingerprint(current) != expected:
                raise RowChanged(tuple(key), current)
            row_changes = dict(changes)
            try:
                store.update_row_in(connection, current, row_changes)
            except (SQLAlchemyError, OverflowError) as exc:
                # Which row the database refused is known only here, statement by statement.
                log.warning("bulk edit of %s refused at row %r: %s", store.info.id, key, exc)
                raise RowRefused(tuple(key), describe_write_error(exc, "edit", store.info.name)) from exc
            except WriteError as refused:
                raise RowRefused(tuple(key), refused) from refused
            before.append(current)
            if written is not None:
                written.append(row_changes)
    return before
