"""Writing an import: every row in one transaction, inserted or upserted by a key, all or none.

Rows are read from the file again (never kept), parsed by the plan and written in batches
of :data:`BATCH` rows with one ``executemany`` each, all inside one transaction of the
table's store (:meth:`~dashboard.db.records.RecordStore.transaction`): a row the plan
refuses, or one the database refuses, rolls the whole import back.

Upsert is "select, then write" on every dialect, inside the transaction: per batch, one
``SELECT`` of the keys that exist already, then an ``UPDATE`` of those rows and an
``INSERT`` of the others. ``ON CONFLICT`` (SQLite, PostgreSQL) and ``ON DUPLICATE KEY
UPDATE`` (MariaDB) were the alternatives; they count inserted and updated rows differently
or not at all, and MariaDB's fires on a clash with *any* unique key, not the one chosen, so
a row could update another row than the one its key names. A key that comes twice in the
file is written twice, the later row winning (it updates the row the earlier one wrote).

A batch the database refuses says nothing of which row it was. Finding it: the transaction
is rolled back, and a second one writes the batches before again, then the refused batch one
row at a time, until the row is found; that one is rolled back too. Slower, but only on the
way to an error message, and the same on every dialect (savepoints would need SQLite's
driver to be set up for them).
"""

from __future__ import annotations

import logging
import typing as t
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from dashboard.db.errors import Action
from dashboard.db.importing.plan import ImportPlan, RowError
from dashboard.db.importing.readers import Source
from dashboard.db.records import RecordStore, WriteError, describe_write_error

log = logging.getLogger(__name__)

#: Rows written per statement.
BATCH = 500


@dataclass(frozen=True)
class Counts:
    """What an import wrote."""

    inserted: int = 0
    updated: int = 0


class RowsInvalid(Exception):
    """A row the plan refuses: nothing was written. ``error`` is the first refusal."""

    def __init__(self, error: RowError) -> None:
        super().__init__(str(error.message))
        self.error = error


class RowRefused(WriteError):
    """The database refused row ``row`` (counting from 1; ``message`` says why); nothing was written."""

    def __init__(self, row: int, refused: WriteError) -> None:
        super().__init__(refused.message, unavailable=refused.unavailable, kind=refused.kind, error=refused.error)
        self.row = row


class _BatchFailed(Exception):
    def __init__(self, index: int, cause: BaseException) -> None:
        super().__init__("a batch was refused")
        self.index = index
        self.cause = cause


class _Found(Exception):
    """The row the database refused, found (raised to roll the search's transaction back)."""

    def __init__(self, row: int, cause: BaseException) -> None:
        super().__init__("found the refused row")
        self.row = row
        self.cause = cause


Batch = list[tuple[int, dict[str, t.Any]]]


def write_import(store: RecordStore, source: Source, plan: ImportPlan, batch: int = BATCH) -> Counts:
    """Write every row of ``source`` as ``plan`` says, in one transaction.

    :raises RowsInvalid: a row the plan refuses (checked again here: the file is read afresh).
    :raises RowRefused: a row the database refuses.
    :raises WriteError: the database refused otherwise (the connection, the commit).
    :raises dashboard.db.importing.readers.UnreadableFile: where the file breaks.
    """
    action: Action = "create" if plan.mode == "insert" else "edit"
    try:
        with store.transaction(action) as connection:
            return _write_batches(connection, store, plan, _batches(source, plan, batch))
    except _BatchFailed as failed:
        log.warning("import into %s refused in batch %s: %s", store.info.id, failed.index, failed.cause)
        raise _refused_row(store, source, plan, batch, failed) from failed.cause


def _batches(source: Source, plan: ImportPlan, size: int) -> t.Iterator[Batch]:
    """The file's rows as written, in batches; a key seen already in a batch starts the next one,
    so that the second row updates what the first wrote."""
    current: Batch = []
    keys: set[tuple[t.Any, ...]] = set()
    for row in source.rows():
        values, errors = plan.convert(row)
        if errors:
            raise RowsInvalid(errors[0])
        key = tuple(values.get(k) for k in plan.key) if plan.mode == "upsert" else None
        if len(current) >= size or (key is not None and key in keys):
            yield current
            current, keys = [], set()
        current.append((row.number, values))
        if key is not None:
            keys.add(key)
    if current:
        yield current


def _write_batches(
    connection: sa.Connection, store: RecordStore, plan: ImportPlan, batches: t.Iterable[Batch]
) -> Counts:
    inserted = updated = 0
    for index, rows in enumerate(batches):
        try:
            new, old = _write(connection, store, plan, rows)
        except (SQLAlchemyError, OverflowError) as exc:
            raise _BatchFailed(index, exc) from exc
        inserted, updated = inserted + new, updated + old
    return Counts(inserted, updated)


def _write(connection: sa.Connection, store: RecordStore, plan: ImportPlan, rows: Batch) -> tuple[int, int]:
    """Write one batch; how many rows it inserted and updated."""
    if store.hooks.active:
        return _write_each(connection, store, plan, rows)
    if plan.mode == "insert":
        _insert(connection, store, [values for _, values in rows])
        return len(rows), 0
    existing = _existing_keys(connection, store, plan.key, [values for _, values in rows])
    old = [values for _, values in rows if tuple(values[k] for k in plan.key) in existing]
    new = [values for _, values in rows if tuple(values[k] for k in plan.key) not in existing]
    _update(connection, store, plan.key, old)
    _insert(connection, store, new)
    return len(new), len(old)


def _write_each(connection: sa.Connection, store: RecordStore, plan: ImportPlan, rows: Batch) -> tuple[int, int]:
    """Write one batch row by row through the store, which asks its write hooks about each
    (:mod:`dashboard.db.write_hooks`): slower than a batch, and only while hooks listen."""
    inserted = updated = 0
    fixed = {*plan.key, *(store.info.column(name).key for name in store.info.primary_key)}
    for number, values in rows:
        current = None
        if plan.mode == "upsert":
            condition = sa.and_(*(store.column(k) == values[k] for k in plan.key))
            found = connection.execute(store.base_select().where(condition)).first()
            current = store._to_record(found) if found is not None else None
        try:
            if current is None:
                store.insert_in(connection, dict(values))
                inserted += 1
            else:
                store.update_row_in(connection, current, {k: v for k, v in values.items() if k not in fixed})
                updated += 1
        except WriteError as refused:
            raise RowRefused(number, refused) from refused
    return inserted, updated


def _params(values: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """``values`` by column key -> by bind parameter name (``p0``, ``p1``...): column names
    are untrusted, and are never made into parameter names."""
    return {f"p{index}": value for index, value in enumerate(values.values())}


def _grouped(rows: t.Sequence[dict[str, t.Any]]) -> dict[tuple[str, ...], list[dict[str, t.Any]]]:
    """Rows by the columns they set (a column the database fills is left out of some rows only)."""
    groups: dict[tuple[str, ...], list[dict[str, t.Any]]] = {}
    for values in rows:
        groups.setdefault(tuple(values), []).append(values)
    return groups


def _insert(connection: sa.Connection, store: RecordStore, rows: t.Sequence[dict[str, t.Any]]) -> None:
    for keys, group in _grouped(rows).items():
        if not keys:
            for _ in group:
                connection.execute(sa.insert(store.table).values({}))
            continue
        columns = [store.column(key) for key in keys]
        statement = sa.insert(store.table).values({c: sa.bindparam(f"p{i}") for i, c in enumerate(columns)})
        connection.execute(statement, [_params(values) for values in group])


def _existing_keys(
    connection: sa.Connection, store: RecordStore, key: tuple[str, ...], rows: t.Sequence[dict[str, t.Any]]
) -> set[tuple[t.Any, ...]]:
    columns = [store.column(k) for k in key]
    wanted = list(dict.fromkeys(tuple(values[k] for k in key) for values in rows))
    found: set[tuple[t.Any, ...]] = set()
    # 50 keys a statement: a condition that stays within every database's limits.
    for start in range(0, len(wanted), 50):
        part = wanted[start : start + 50]
        condition: sa.ColumnElement[bool]
        if len(columns) == 1:
            condition = columns[0].in_([k[0] for k in part])
        else:
            condition = sa.or_(*(sa.and_(*(c == v for c, v in zip(columns, k, strict=True))) for k in part))
        found.update(tuple(row) for row in connection.execute(sa.select(*columns).where(condition)))
    # Compared as the file gives them and as the database returns them: the codecs' types.
    return found


def _update(
    connection: sa.Connection, store: RecordStore, key: tuple[str, ...], rows: t.Sequence[dict[str, t.Any]]
) -> None:
    # A primary key column is never changed, as the edit form never changes it.
    fixed = {*key, *(store.info.column(name).key for name in store.info.primary_key)}
    for keys, group in _grouped(rows).items():
        changed = [k for k in keys if k not in fixed]
        if not changed:
            continue  # only the key: the row exists, nothing else to write
        condition = sa.and_(*(store.column(k) == sa.bindparam(f"k{i}") for i, k in enumerate(key)))
        statement = (
            sa.update(store.table)
            .where(condition)
            .values({store.column(k): sa.bindparam(f"v{i}") for i, k in enumerate(changed)})
        )
        params = [
            {**{f"k{i}": values[k] for i, k in enumerate(key)}, **{f"v{i}": values[k] for i, k in enumerate(changed)}}
            for values in group
        ]
        connection.execute(statement, params)


def _refused_row(store: RecordStore, source: Source, plan: ImportPlan, size: int, failed: _BatchFailed) -> WriteError:
    """Which row of the refused batch the database refuses, written again up to it in a
    transaction rolled back at the end (see the module's docstring)."""
    action: Action = "create" if plan.mode == "insert" else "edit"
    try:
        with store.transaction(action) as connection:
            for index, rows in enumerate(_batches(source, plan, size)):
                if index < failed.index:
                    _write(connection, store, plan, rows)
                    continue
                for number, values in rows:
                    try:
                        _write(connection, store, plan, [(number, values)])
                    except (SQLAlchemyError, OverflowError) as exc:
                        raise _Found(number, exc) from exc
                break
            raise _Found(0, failed.cause)  # not refused this time: roll back, name no row
    except _Found as found:
        refused = describe_write_error(found.cause, action, store.info.name)
        return RowRefused(found.row, refused) if found.row else refused
    except WriteError as exc:
        return exc
