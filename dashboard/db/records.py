"""Reading and writing the rows of one reflected relation with SQLAlchemy Core.

No ORM: reflected relations may lack a primary key, carry hostile names or hold
identical rows, none of which an identity map copes with. Rows come back as
:class:`Record` objects (plain values keyed by each column's safe key), which the
views render and the cache can store as they are.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import typing as t

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from dashboard.db.codecs import AsStoredIfUnreadable, Codec, codec_for, key_codec_for
from dashboard.db.engine import NO_STATEMENT_TIMEOUT
from dashboard.db.errors import Action, DatabaseError, Kind, classify, write_message
from dashboard.db.reflection import TableInfo
from dashboard.db.write_hooks import NO_HOOKS, PENDING_KEY, WriteHooks
from dashboard.messages import N_, Message

log = logging.getLogger(__name__)

ROWID = "rowid"


class Record:
    """One row: its values by column key, and the values of its row key."""

    __slots__ = ("_values", "_key")

    def __init__(self, values: dict[str, t.Any], key: tuple[t.Any, ...]) -> None:
        self._values = values
        self._key = key

    def __getattr__(self, name: str) -> t.Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getstate__(self) -> tuple[dict[str, t.Any], tuple[t.Any, ...]]:
        return self._values, self._key

    def __setstate__(self, state: tuple[dict[str, t.Any], tuple[t.Any, ...]]) -> None:
        self._values, self._key = state


class WriteError(Exception):
    """A write the database refused; ``message`` is safe to show, details are logged.

    :param kind: why, as :mod:`dashboard.db.errors` classifies it (the audit log records it).
    :param error: the classified database error, when the database raised one.
    """

    def __init__(
        self, message: str, *, unavailable: bool = False, kind: str = Kind.OTHER, error: DatabaseError | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.unavailable = unavailable
        self.kind = kind
        self.error = error


class RowsGone(WriteError):
    """Rows to delete that no longer exist (deleted meanwhile, or never there); nothing was deleted.

    :param keys: the row keys that were not found.
    """

    def __init__(self, keys: t.Sequence[tuple[t.Any, ...]]) -> None:
        super().__init__(Message(N_("Nothing was deleted: a row to delete no longer exists.")))
        self.keys = list(keys)


class Conflict(Exception):
    """The row changed since the operator loaded it."""

    def __init__(self, current: Record | None) -> None:
        super().__init__("the row changed since it was loaded")
        self.current = current


class RecordStore:
    """Queries for one relation.

    :param engine: the target database.
    :param info: the reflected relation.
    """

    def __init__(self, engine: Engine, info: TableInfo) -> None:
        self.engine = engine
        self.info = info
        self.table = info.table
        self.codecs: dict[str, Codec] = {
            c.key: Codec(kind="enum", choices=c.choices, searchable=True)
            if c.choices and c.is_text
            else codec_for(c.type, engine.dialect.name)
            for c in info.columns
        }
        self.key_codecs: list[Codec] = (
            [codec_for(sa.Integer(), engine.dialect.name)]
            if info.row_key_source == ROWID
            else [key_codec_for(info.column(name).type, engine.dialect.name) for name in info.row_key]
        )
        #: Asked before each row written and told after commit (:mod:`dashboard.db.write_hooks`).
        self.hooks: WriteHooks = NO_HOOKS

    # -- expressions ------------------------------------------------------------
    def column(self, key: str) -> sa.ColumnElement[t.Any]:
        """The SQL column for a column key."""
        return self.table.c[self.info.column_by_key(key).name]

    def key_columns(self) -> list[sa.ColumnElement[t.Any]]:
        """The SQL expressions that address one row."""
        if self.info.row_key_source == ROWID:
            return [sa.literal_column(ROWID, sa.Integer())]
        return [self.table.c[name] for name in self.info.row_key]

    def key_condition(self, key: t.Sequence[t.Any]) -> sa.ColumnElement[bool]:
        """``WHERE`` clause selecting exactly the row with ``key``."""
        return sa.and_(*(column == value for column, value in zip(self.key_columns(), key, strict=True)))

    def default_order(self) -> list[sa.ColumnElement[t.Any]]:
        """A stable order: the row key, or every sortable column when there is none."""
        if self.info.row_key:
            return list(self.key_columns())
        return [self.column(c.key) for c in self.info.columns if self.codecs[c.key].sortable]

    def base_select(self) -> sa.Select[t.Any]:
        """``SELECT`` of every column (labelled by key) and the row key."""
        columns = [self._read(c.name).label(c.key) for c in self.info.columns]
        # A key column already selected is read back under its own label: selecting it a
        # second time made PostgreSQL scans measurably slower (bench/, cache misses).
        extra = [
            expr.label(label)
            for expr, label in zip(self.key_columns(), self._key_labels, strict=True)
            if label.startswith("__key")
        ]
        return sa.select(*columns, *extra).select_from(self.table)

    def _read(self, name: str) -> sa.ColumnElement[t.Any]:
        """Column ``name`` as it is selected (see :attr:`_tolerant_reads`)."""
        return self._tolerant_reads.get(name, self.table.c[name])

    @functools.cached_property
    def _tolerant_reads(self) -> dict[str, sa.ColumnElement[t.Any]]:
        """On SQLite, which keeps any value in any column (the text "not a date" in a DATE
        column), the columns whose type converts what is read: a value the conversion refuses
        is read as it is stored instead of failing the whole query."""
        dialect = self.engine.dialect
        if dialect.name != "sqlite":
            return {}
        return {
            column.name: sa.type_coerce(column, AsStoredIfUnreadable(column.type))
            for column in self.table.c
            if column.type.dialect_impl(dialect).result_processor(dialect, None) is not None
        }

    @functools.cached_property
    def _key_labels(self) -> list[str]:
        """Under which label each part of the row key comes back from :meth:`base_select`."""
        by_name = {c.name: c.key for c in self.info.columns}
        if self.info.row_key_source == ROWID:
            return ["__key0"]
        return [by_name.get(name, f"__key{i}") for i, name in enumerate(self.info.row_key)]

    def ordered_select(
        self, where: t.Sequence[sa.ColumnElement[bool]], order: t.Sequence[tuple[str, bool]]
    ) -> sa.Select[t.Any]:
        """Matching rows in the asked order, the row key breaking ties so pages are stable."""
        clauses = [self.column(key).desc() if desc else self.column(key).asc() for key, desc in order]
        return self.base_select().where(*where).order_by(*clauses, *self.default_order())

    def _to_record(self, row: sa.Row[t.Any]) -> Record:
        mapping = row._mapping
        values = {c.key: mapping[c.key] for c in self.info.columns}
        key = tuple(mapping[label] for label in self._key_labels)
        return Record(values, key)

    # -- reading ------------------------------------------------------------------
    def select(
        self,
        *,
        where: t.Sequence[sa.ColumnElement[bool]] = (),
        order: t.Sequence[tuple[str, bool]] = (),
        offset: int = 0,
        limit: int | None = 20,
    ) -> list[Record]:
        """One page of rows.

        :param where: conditions, ANDed.
        :param order: ``(column key, descending)`` pairs; the row key breaks ties.
        """
        statement = self.ordered_select(where, order).offset(offset or None).limit(limit)
        with self.engine.connect() as connection:
            return [self._to_record(row) for row in connection.execute(statement)]

    def stream(
        self,
        keys: t.Sequence[str],
        *,
        where: t.Sequence[sa.ColumnElement[bool]] = (),
        order: t.Sequence[tuple[str, bool]] = (),
        limit: int | None = None,
        batch: int = 2000,
    ) -> t.Iterator[tuple[t.Any, ...]]:
        """Values of columns ``keys`` of every matching row, as plain tuples, from a server-side
        cursor read in batches: memory stays constant however big the table is."""
        columns = [self._read(self.info.column_by_key(key).name) for key in keys]
        clauses = [self.column(key).desc() if desc else self.column(key).asc() for key, desc in order]
        statement = sa.select(*columns).where(*where).order_by(*clauses, *self.default_order()).limit(limit)
        with self.engine.connect() as connection:
            options = {"stream_results": True, "yield_per": batch, NO_STATEMENT_TIMEOUT: True}
            result = connection.execution_options(**options).execute(statement)
            for partition in result.partitions():
                yield from partition

    def count(self, where: t.Sequence[sa.ColumnElement[bool]] = ()) -> int:
        """How many rows match ``where``."""
        statement = sa.select(sa.func.count()).select_from(self.table).where(*where)
        with self.engine.connect() as connection:
            return int(connection.execute(statement).scalar_one())

    def count_capped(self, where: t.Sequence[sa.ColumnElement[bool]], cap: int) -> int:
        """How many rows match, counting no further than ``cap + 1`` (a bounded scan)."""
        inner = sa.select(sa.literal(1)).select_from(self.table).where(*where).limit(cap + 1).subquery()
        statement = sa.select(sa.func.count()).select_from(inner)
        with self.engine.connect() as connection:
            return int(connection.execute(statement).scalar_one())

    def get(self, key: t.Sequence[t.Any]) -> Record | None:
        """The row with ``key``, or ``None``."""
        statement = self.base_select().where(self.key_condition(key))
        with self.engine.connect() as connection:
            row = connection.execute(statement).first()
        return self._to_record(row) if row is not None else None

    def fingerprint(self, record: Record) -> str:
        """A digest of every value of ``record``, to notice edits made by someone else."""
        digest = hashlib.sha256()
        for column in self.info.columns:
            digest.update(repr(record._values[column.key]).encode("utf-8", "backslashreplace"))
            digest.update(b"\x00")
        return digest.hexdigest()

    @staticmethod
    def is_fingerprint(text: t.Any) -> bool:
        """Whether ``text`` has the shape of a :meth:`fingerprint` (what an edit form must send back)."""
        return isinstance(text, str) and len(text) == 64 and all(c in "0123456789abcdef" for c in text)

    # -- writing ----------------------------------------------------------------
    def insert(self, values: dict[str, t.Any]) -> tuple[t.Any, ...]:
        """Insert a row from ``values`` (by column key) and return its row key."""
        with self._writing("create") as connection:
            return self.insert_in(connection, values)

    def update(self, key: t.Sequence[t.Any], changes: dict[str, t.Any], expected_fingerprint: str) -> None:
        """Write ``changes`` (by column key) to the row with ``key``.

        :param expected_fingerprint: :meth:`fingerprint` of the row as the operator loaded it;
            there is no way around the check (an empty one never matches).
        :raises Conflict: when the row's fingerprint is no longer ``expected_fingerprint``.
        """
        with self._writing("edit") as connection:
            self.update_in(connection, key, changes, expected_fingerprint)

    def update_rows(
        self,
        keys: t.Sequence[t.Sequence[t.Any]],
        changes: dict[str, t.Any],
        written: list[tuple[Record, dict[str, t.Any]]] | None = None,
    ) -> int:
        """Write the same ``changes`` (by column key) to every row in ``keys``, in one transaction.

        :param written: given, gets ``(row before, changes written)`` of each row changed, when
            write hooks (which may change each row's values) are listening.
        """
        if not changes:
            return 0
        data = _by_param({self.info.column_by_key(k).name: v for k, v in changes.items()}, self.table)
        updated = 0
        with self._writing("edit") as connection:
            for key in keys:
                if self.hooks.active:
                    current = self.locked_in(connection, key)
                    if current is not None:
                        row_changes = dict(changes)
                        self.update_row_in(connection, current, row_changes)
                        updated += 1
                        if written is not None:
                            written.append((current, row_changes))
                    continue
                updated += connection.execute(
                    sa.update(self.table).where(self.key_condition(key)).values(data)
                ).rowcount
        return updated

    def delete(self, keys: t.Sequence[t.Sequence[t.Any]]) -> int:
        """Delete every row in ``keys`` in one transaction: all of them or none.

        :raises RowsGone: when a key matches no row (the transaction is rolled back, so a
            selection in which one row is gone deletes nothing).
        """
        deleted = 0
        gone: list[tuple[t.Any, ...]] = []
        with self._writing("delete") as connection:
            # The same row selected twice is one row to delete, not a row gone the second time.
            for key in dict.fromkeys(tuple(k) for k in keys):
                if self.delete_in(connection, key):
                    deleted += 1
                else:
                    gone.append(key)
            if gone:
                raise RowsGone(gone)
        return deleted

    # -- several writes in one transaction ---------------------------------------------
    # A batch mixing creates, edits and deletes (the API's _bulk call) runs each statement in
    # one transaction of :meth:`transaction`, through the *_in methods below.
    def transaction(self, action: Action) -> t.ContextManager[sa.Connection]:
        """A transaction for several writes made all or none: committed on leaving, rolled back
        on any exception, a database error raised as :class:`WriteError` (``action`` words it)."""
        return self._writing(action)

    def insert_in(self, connection: sa.Connection, values: dict[str, t.Any]) -> tuple[t.Any, ...]:
        """:meth:`insert` on ``connection``, in its transaction; returns the new row's key."""
        self.check_write("create", None, values)
        data = {self.info.column_by_key(k).name: v for k, v in values.items()}
        result = connection.execute(sa.insert(self.table).values(_by_param(data, self.table)))
        inserted = result.inserted_primary_key
        if self.info.row_key_source == "primary_key" and inserted is not None and None not in tuple(inserted):
            key = tuple(inserted)
        else:
            key = tuple(data.get(name) for name in self.info.row_key)
        self.note_written(connection, "create", None, values, key)
        return key

    def update_in(
        self, connection: sa.Connection, key: t.Sequence[t.Any], changes: dict[str, t.Any], expected_fingerprint: str
    ) -> Record:
        """:meth:`update` on ``connection``, in its transaction; returns the row as it was before.

        :raises Conflict: when the row is gone or its fingerprint is no longer ``expected_fingerprint``.
        """
        current = self.locked_in(connection, key)
        if current is None or self.fingerprint(current) != expected_fingerprint:
            raise Conflict(current)
        if changes:
            self.update_row_in(connection, current, changes)
        return current

    def locked_in(self, connection: sa.Connection, key: t.Sequence[t.Any]) -> Record | None:
        """The row with ``key``, locked until the end of ``connection``'s transaction (but on SQLite,
        whose writer holds the whole database)."""
        locking = self.base_select().where(self.key_condition(key))
        if self.engine.dialect.name != "sqlite":
            locking = locking.with_for_update()
        row = connection.execute(locking).first()
        return self._to_record(row) if row is not None else None

    def update_row_in(self, connection: sa.Connection, current: Record, changes: dict[str, t.Any]) -> None:
        """Write ``changes`` (by column key) to the row ``current`` (read in this transaction), the
        write hooks asked first: ``changes`` then holds what was written."""
        self.check_write("edit", current, changes)
        if changes:
            data = {self.info.column_by_key(k).name: v for k, v in changes.items()}
            where = self.key_condition(current._key)
            connection.execute(sa.update(self.table).where(where).values(_by_param(data, self.table)))
        self.note_written(connection, "edit", current, changes, current._key)

    def get_in(self, connection: sa.Connection, key: t.Sequence[t.Any]) -> Record | None:
        """:meth:`get` on ``connection``: the row with ``key`` as this transaction sees it."""
        row = connection.execute(self.base_select().where(self.key_condition(key))).first()
        return self._to_record(row) if row is not None else None

    def delete_in(self, connection: sa.Connection, key: t.Sequence[t.Any]) -> bool:
        """Delete the row with ``key`` on ``connection``, in its transaction; whether there was one."""
        current = None
        if self.hooks.active:
            current = self.locked_in(connection, key)
            if current is None:
                return False
            self.check_write("delete", current, None)
        if not connection.execute(sa.delete(self.table).where(self.key_condition(key))).rowcount:
            return False
        self.note_written(connection, "delete", current, None, tuple(key))
        return True

    # -- write hooks (dashboard.db.write_hooks) -----------------------------------------
    def check_write(self, action: Action, old: Record | None, values: dict[str, t.Any] | None) -> None:
        """Ask the write hooks about one row about to be written; ``values`` (by column key) becomes
        what they want written instead, if anything.

        :raises WriteError: when a hook refuses the write.
        """
        if not self.hooks.active:
            return
        wanted = self.hooks.before(action, old, values)
        if values is not None and wanted is not None and wanted is not values:
            values.clear()
            values.update(wanted)

    def note_written(
        self,
        connection: sa.Connection,
        action: Action,
        old: Record | None,
        values: dict[str, t.Any] | None,
        key: tuple[t.Any, ...],
    ) -> None:
        """Remember one row written in ``connection``'s transaction, told to the hooks after it commits."""
        if not self.hooks.active:
            return
        pending = connection.info.get(PENDING_KEY)
        if pending is not None:
            pending.append((action, old, dict(values) if values is not None else None, key))

    def _writing(self, action: Action) -> t.ContextManager[sa.Connection]:
        return _guarded_transaction(self.engine, self.info, action, self.hooks)


def _by_param(data: dict[str, t.Any], table: sa.Table) -> dict[str, t.Any]:
    # values(**kwargs) needs identifiers; a dict keyed by Column objects accepts any name.
    return {table.c[name]: value for name, value in data.items()}  # type: ignore[misc]


class _guarded_transaction:
    """A transaction whose database errors become :class:`WriteError` with a safe message."""

    def __init__(self, engine: Engine, info: TableInfo, action: Action, hooks: WriteHooks = NO_HOOKS) -> None:
        self.engine = engine
        self.info = info
        self.action = action
        self.hooks = hooks
        self.context: t.Any = None
        self.connection: sa.Connection | None = None
        self.written: list[tuple[t.Any, ...]] = []

    def __enter__(self) -> sa.Connection:
        try:
            self.context = self.engine.begin()
            self.connection = t.cast(sa.Connection, self.context.__enter__())
            self.connection.info[PENDING_KEY] = self.written
            return self.connection
        except OperationalError as exc:
            log.warning("database unavailable: %s", exc)
            raise WriteError(
                Message(N_("The database is not reachable. Nothing was saved; try again.")),
                unavailable=True,
                kind=Kind.GONE,
            ) from exc

    def __exit__(self, exc_type: t.Any, exc: t.Any, tb: t.Any) -> t.Literal[False]:
        try:
            t.cast(sa.Connection, self.connection).info.pop(PENDING_KEY, None)
        except SQLAlchemyError:
            pass  # a connection already invalidated: the write fails below anyway
        try:
            self.context.__exit__(exc_type, exc, tb)
        except SQLAlchemyError as commit_error:
            exc = commit_error
        if exc is None:
            # Committed: only now are the rows written, for the hooks to hear about.
            for action, old, new, key in self.written:
                self.hooks.after(action, old, new, key)
            return False
        # sqlite3 raises a bare OverflowError for an int past 64 bits (a plugin's value).
        if not isinstance(exc, (SQLAlchemyError, OverflowError)):
            return False
        log.warning("%s on %s refused: %s", self.action, self.info.id, exc)
        raise describe_write_error(exc, self.action, self.info.name) from exc


def describe_write_error(exc: BaseException, action: Action, table: str) -> WriteError:
    """A message an operator can act on, without raw SQL or parameters (:mod:`dashboard.db.errors`)."""
    error = classify(exc)
    return WriteError(
        write_message(error, action, table), unavailable=error.kind is Kind.GONE, kind=error.kind, error=error
    )
