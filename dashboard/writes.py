"""A plugin's handle on a served table: reading, linking and writing, the way the dashboard's own pages do.

A plugin never opens its own connection nor reaches into the app: it asks which tables
the dashboard serves (:func:`served_tables`, also from a start-up hook), then for a
:class:`TableWriter` (``table_writer("orders", plugin="refunds")``, or the ``writer`` a
bulk action receives), which reads rows (:meth:`TableWriter.rows`, :meth:`TableWriter.count`),
links to the table's pages (:meth:`TableWriter.list_url`, :meth:`TableWriter.details_url`),
and writes. Every write through it

- is refused with :class:`WriteRefused` (``reason="permission"``) when the dashboard runs
  read-only, the table cannot be edited, or the operator's role lacks the right;
- runs in one database transaction, all or none: its own, or the one of the
  ``with transaction():`` block around it, which may span several tables;
- raises :class:`WriteFailed` when it is not made, whatever the cause: ``reason`` says
  which, ``message`` says it to the operator (naming the constraint and the row);
- is asked of the ``before_write`` hooks row by row, and told to ``after_write`` after commit;
- bumps the table's cache generation after commit, so listings and charts show it at once;
- is recorded in the audit log (action ``plugin``, with the plugin's name and the
  ``reason`` given), after commit, and so is a refused or rolled-back one, as failed.

Values are given by column name, in Python types (``int``, ``Decimal``, ``datetime``...).
"""

from __future__ import annotations

import typing as t

from flask import Flask, current_app, url_for
from flask_login import current_user

from dashboard.db.records import Record, WriteError
from dashboard.i18n.translation import gettext
from dashboard.messages import N_, Message
from dashboard.plugins.write_api import failures, reading
from dashboard.plugins.write_api import transactions as _transactions
from dashboard.plugins.write_api.failures import (
    WriteFailed,
    WriteGone,
    WriteRefused,
    from_write_error,
    permission_denied,
    row_gone,
)
from dashboard.site_state import current_site
from dashboard.web import audit_changes
from dashboard.web.keys import encode_key

if t.TYPE_CHECKING:
    import contextlib

    from dashboard.db.reflection import ColumnInfo
    from dashboard.web.table_view import TableView

__all__ = [
    "MAX_ROWS",
    "OPERATORS",
    "REASONS",
    "TableWriter",
    "WriteFailed",
    "WriteGone",
    "WriteRefused",
    "served_tables",
    "table_writer",
    "transaction",
]

#: Every ``reason`` a :class:`WriteFailed` carries: ``permission``, ``constraint``, ``conflict``,
#: ``gone``, ``timeout``, ``refused``, ``out_of_range``, ``other``.
REASONS: tuple[str, ...] = failures.REASONS
#: The filter operators of :meth:`TableWriter.rows` and :meth:`TableWriter.count`.
OPERATORS: tuple[str, ...] = reading.OPERATORS
#: Most rows one call of :meth:`TableWriter.rows` returns (1,000); page with ``offset`` for more.
MAX_ROWS: int = reading.MAX_ROWS
#: Table actions that change rows, and need a writable table as well as the right.
WRITE_ACTIONS = ("create", "edit", "delete")
Rows: t.TypeAlias = "t.Mapping[str, t.Any] | t.Sequence[t.Mapping[str, t.Any]]"


def transaction(reason: str | None = None) -> contextlib.AbstractContextManager[object]:
    """A database transaction joined by every :class:`TableWriter` write made inside the block::

        with transaction(reason="refund #" + str(order_id)):
            orders.update(order, {"status": "refunded"})
            refunds.insert({"order_id": order_id, "amount": order["total"]})

    The writes may go to any number of tables of the served database: all are saved, or none.
    Leaving the block commits; then each write is recorded in the audit log (with
    ``reason`` on every entry), the ``after_write`` hooks are called and the tables' cached
    listings and charts refreshed. An exception leaving the block rolls everything back, and
    each write is recorded as failed, saying why; none as saved. A write that fails inside
    the block dooms the transaction even if the block catches its :class:`WriteFailed`: the
    end of the block then rolls back and raises it again. A ``with transaction()`` inside
    another joins the outer one. Keep the block short: the rows written stay locked until
    it ends.

    :param reason: why the writes are made, in the operator's or the plugin's words
        (``"refund requested by the customer"``); shown with each audit entry.
    :raises WriteFailed: from the writes inside, or on leaving when the commit fails (or
        when a write failed and the block caught it).
    :raises WriteRefused: for a write to a table of another database than the first write's.
    """
    return _transactions.transaction(reason)


class TableWriter:
    """Audited, permission-checked reads and writes of one served table.

    The table's view and record store stay private: every read and write goes through the
    methods below, so none skips the permission check or the audit log.

    :param view: the table's view (it knows the store, the columns and the rights).
    :param plugin: the name of the plugin writing, recorded with each audit entry.
    """

    def __init__(self, view: TableView, plugin: str) -> None:
        self._view = view
        self._store = view.store
        #: The table's reflected description (name, columns, key), as hooks receive it.
        self.info = view.info
        self.plugin = plugin

    # -- rights ---------------------------------------------------------------------------
    def allowed(self, action: str) -> bool:
        """Whether the current operator may ``action`` (``view``, ``export``, ``create``, ``edit``,
        ``delete``) here now; a write also needs the table writable and the dashboard not read-only."""
        return self._refusal(action) is None

    def _refusal(self, action: str) -> str | None:
        if action in WRITE_ACTIONS:
            if current_app.config.get("READ_ONLY"):
                return gettext("The dashboard runs in read-only mode: nothing can be changed.")
            if not self._view.writable:
                return gettext("This table cannot be changed from the dashboard.")
        if not getattr(current_user, "is_authenticated", False) or not self._view.allowed(action):
            return gettext("Permission denied.")
        return None

    # -- writing -------------------------------------------------------------------------
    def insert(self, values: t.Mapping[str, t.Any], *, reason: str | None = None) -> dict[str, t.Any]:
        """Insert one row from ``values`` (by column name) and return its key by column name.

        :param reason: recorded with the audit entry (see :func:`transaction`).
        :raises WriteFailed: nothing was inserted (``reason``, ``message`` say why);
            :class:`WriteRefused` when the operator may not create rows here.
        :raises KeyError: for a column the table does not have.
        """
        typed = self._by_key(values)
        given = tuple(values.get(name) for name in self.info.row_key)
        # The row's key when the plugin gives it: a refusal then names the row.
        named = encode_key(given, self._store.key_codecs) if given and None not in given else None
        with _transactions.transaction(reason) as tx:
            self._check(tx, "create", [given] if named else None, audit_changes.created(self._view, typed))
            try:
                key = tx.run(self._store, "create", lambda connection: self._store.insert_in(connection, typed))
            except WriteError as exc:
                raise self._failed(tx, exc, "create", named, audit_changes.created(self._view, typed)) from None
            complete = all(part is not None for part in key)
            row_key = encode_key(key, self._store.key_codecs) if complete else None
            # As written: a before_write hook may have changed the values.
            self._record(tx, "create", row_key, audit_changes.created(self._view, typed))
        return dict(zip(self.info.row_key, key, strict=False))

    def update(self, rows: Rows, changes: t.Mapping[str, t.Any], *, reason: str | None = None) -> int:
        """Write ``changes`` (by column name) to each of ``rows``, all or none. Returns how many rows
        were changed.

        :param rows: one row or a list of rows, each a dict holding at least the key columns
            (as :meth:`rows` returns them, or as a row action's ``run`` receives its row).

        :param reason: recorded with each audit entry (see :func:`transaction`).
        :raises WriteFailed: nothing was changed; ``row`` (and the message) names the row the
            database refused, ``reason="conflict"`` when a row no longer exists;
            :class:`WriteRefused` when the operator may not edit rows here.
        :raises KeyError: for a column the table does not have, or a row without its key columns.
        """
        keys = list(dict.fromkeys(self._keys(rows)))
        typed = self._by_key(changes)
        with _transactions.transaction(reason) as tx:
            self._check(tx, "edit", keys, None)
            if not typed:
                return 0
            for key in keys:
                row_key = encode_key(key, self._store.key_codecs)

                read: list[Record] = []  # the row as it was, for the audit entry of a failure too

                def edit(
                    connection: t.Any, key: tuple[t.Any, ...] = key, read: list[Record] = read
                ) -> tuple[Record, dict[str, t.Any]] | None:
                    current = self._store.locked_in(connection, key)
                    if current is None:
                        return None
                    read.append(current)
                    row_changes = dict(typed)
                    self._store.update_row_in(connection, current, row_changes)
                    return current, row_changes

                try:
                    written = tx.run(self._store, "edit", edit)
                except WriteError as exc:
                    tried = audit_changes.edited(self._view, read[0], typed) if read else None
                    raise self._failed(tx, exc, "edit", row_key, tried) from None
                if written is None:
                    raise self._gone(tx, "edit", row_key)
                # As written: a before_write hook may have changed the values.
                self._record(tx, "edit", row_key, audit_changes.edited(self._view, *written))
        return len(keys)

    def delete(self, rows: Rows, *, reason: str | None = None) -> int:
        """Delete ``rows`` (one row or a list of rows, each a dict holding at least the key
        columns), all or none; returns how many went.

        :param reason: recorded with each audit entry (see :func:`transaction`).
        :raises WriteFailed: nothing was deleted; ``row`` names the row refused (a foreign key
            still pointing at it...), ``reason="conflict"`` when a row no longer exists;
            :class:`WriteRefused` when the operator may not delete rows here.
        :raises KeyError: for a row without its key columns.
        """
        keys = list(dict.fromkeys(self._keys(rows)))
        with _transactions.transaction(reason) as tx:
            self._check(tx, "delete", keys, None)
            for key in keys:
                row_key = encode_key(key, self._store.key_codecs)

                read: list[Record] = []  # the row as it was, for the audit entry of a failure too

                def remove(connection: t.Any, key: tuple[t.Any, ...] = key, read: list[Record] = read) -> Record | None:
                    current = self._store.locked_in(connection, key)
                    if current is None:
                        return None
                    read.append(current)
                    return current if self._store.delete_in(connection, key) else None

                try:
                    removed = tx.run(self._store, "delete", remove)
                except WriteError as exc:
                    tried = audit_changes.deleted(self._view, read[0]) if read else None
                    raise self._failed(tx, exc, "delete", row_key, tried) from None
                if removed is None:
                    raise self._gone(tx, "delete", row_key)
                self._record(tx, "delete", row_key, audit_changes.deleted(self._view, removed))
        return len(keys)

    # -- reading ----------------------------------------------------------------------------
    def rows(
        self,
        where: t.Mapping[str, t.Any] | None = None,
        *,
        order_by: str | t.Sequence[str] | None = None,
        descending: bool = False,
        limit: int = 20,
        offset: int = 0,
    ) -> list[dict[str, t.Any]]:
        """Rows matching ``where``, as dicts by column name: every column the operator can read
        through the dashboard (those its details page shows: all but the columns hidden by the
        ``TABLES`` settings and the secret-looking ones, unless the settings show them) and the
        key columns.

        :param where: ``{column: value}`` (equal) or ``{column: (operator, value)}``, ANDed, with
            the operators of :data:`OPERATORS`: ``eq``, ``ne`` (a row without a value differs
            too), ``lt``, ``le``, ``gt``, ``ge``, ``in`` and ``not_in`` (a list of at most 1,000
            values), ``is_null`` and ``not_null`` (``("is_null",)``), ``contains`` and
            ``startswith`` (text columns, case-insensitive, ``%`` and ``_`` taken literally).
        :param order_by: a column name, or a list of them, ``"-name"`` for descending; the row
            key breaks ties, so pages are stable.
        :param descending: turns a single ``order_by`` column around.
        :param limit: most rows returned, 1 to :data:`MAX_ROWS` (1,000): page with ``offset``.
        :param offset: how many matching rows to skip first.
        :raises ValueError: for a column the operator may not read (or that does not exist), an
            ``order_by`` column that cannot be sorted (binary, JSON), an unknown operator, a value
            that does not fit it, or a limit out of range.
        :raises WriteRefused: when the operator may not view the table (``reason="permission"``).
        """
        readable = self._readable()
        conditions = self._where(readable, where)
        order = reading.order(self.info.id, readable, order_by, descending)
        for key, _descending in order:
            if not self._store.codecs[key].sortable:
                raise ValueError(f"cannot sort {self.info.id!r} by {self.info.column_by_key(key).name!r}")
        limit, offset = reading.paging(limit, offset)
        names = set(readable)
        return [
            {c.name: getattr(record, c.key) for c in self.info.columns if c.name in names}
            for record in self._store.select(where=conditions, order=order, limit=limit, offset=offset)
        ]

    def count(self, where: t.Mapping[str, t.Any] | None = None) -> int:
        """How many rows match ``where`` (as :meth:`rows` takes it). A full count: on a big
        table without an index for the filter it reads the whole table.

        :raises ValueError: as :meth:`rows`.
        :raises WriteRefused: when the operator may not view the table.
        """
        readable = self._readable()
        return self._store.count(self._where(readable, where))

    def _readable(self) -> dict[str, ColumnInfo]:
        if not self._view.allowed("view"):
            raise permission_denied(self._refusal("view") or Message(N_("Permission denied.")), self.info.id, None)
        shown = {c.name for c in self._view.visible} | set(self.info.row_key)
        return {c.name: c for c in self.info.columns if c.name in shown}

    def _where(self, readable: dict[str, ColumnInfo], where: t.Any) -> list[t.Any]:
        return reading.conditions(self.info.id, readable, lambda c: self._store.column(c.key), where)

    # -- linking ----------------------------------------------------------------------------
    def list_url(self) -> str | None:
        """The URL of the table's list page, or ``None`` when the operator may not open it."""
        if not self._view.allowed("view"):
            return None
        return url_for(f"{self._view.endpoint}.index_view")

    def details_url(self, row: t.Mapping[str, t.Any]) -> str | None:
        """The URL of ``row``'s details page (``row`` holds at least the key columns, as :meth:`rows`
        returns them), or ``None`` when the operator may not open it or the table has no row key."""
        info = self.info
        if (
            not self._view.can_view_details
            or not info.row_key
            or info.row_key_source == "rowid"
            or any(name not in row for name in info.row_key)
        ):
            return None
        key = tuple(row[name] for name in info.row_key)
        return url_for(f"{self._view.endpoint}.details_view", id=encode_key(key, self._store.key_codecs))

    # -- helpers -----------------------------------------------------------------------------
    def _by_key(self, values: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        typed = {}
        for name, value in values.items():
            try:
                typed[self.info.column(name).key] = value
            except KeyError:
                raise KeyError(f"table {self.info.id!r} has no column {name!r}") from None
        return typed

    def _keys(self, rows: Rows) -> list[tuple[t.Any, ...]]:
        """The row keys of ``rows`` (each a mapping holding the key columns)."""
        if isinstance(rows, t.Mapping):
            rows = [rows]
        if not self.info.row_key or self.info.row_key_source == "rowid":
            raise WriteRefused(Message(N_("This table has no key to address single rows.")), table=self.info.id)
        keys = []
        for row in rows:
            missing = [name for name in self.info.row_key if name not in row]
            if missing:
                raise KeyError(f"a row of {self.info.id!r} to write lacks its key column(s) {', '.join(missing)}")
            keys.append(tuple(row[name] for name in self.info.row_key))
        return keys

    def _check(self, tx: _transactions.Transaction, action: str, keys: t.Any, changes: t.Any) -> None:
        refusal = self._refusal(action)
        if refusal is None:
            return
        row_keys = [encode_key(key, self._store.key_codecs) for key in keys or ()]
        row_key = ", ".join(row_keys) if row_keys else None
        tx.record(_transactions.Entry(self.plugin, action, self.info.id, row_key, changes, "failed", refusal))
        raise tx.fail(permission_denied(refusal, self.info.id, row_keys[0] if len(row_keys) == 1 else None))

    def _failed(
        self, tx: _transactions.Transaction, exc: WriteError, action: str, row_key: str | None, changes: t.Any
    ) -> WriteFailed:
        failed = from_write_error(exc, action, self.info.id, row_key)
        tx.record(
            _transactions.Entry(self.plugin, action, self.info.id, row_key, changes, "failed", exc.message, exc.kind)
        )
        return tx.fail(failed)

    def _gone(self, tx: _transactions.Transaction, action: str, row_key: str) -> WriteFailed:
        failed = row_gone(action, self.info.id, row_key)
        tx.record(_transactions.Entry(self.plugin, action, self.info.id, row_key, None, "failed", failed.message))
        return tx.fail(failed)

    def _record(self, tx: _transactions.Transaction, action: str, row_key: str | None, changes: t.Any) -> None:
        tx.record(_transactions.Entry(self.plugin, action, self.info.id, row_key, changes))


def served_tables(app: Flask | None = None) -> list[str]:
    """The ids (``name`` or ``schema.name``) of the tables and views the dashboard serves, sorted.

    For ``app`` (in a start-up hook such as ``register_pages(app)``), else the current app.
    Hidden tables are not served; whether the operator may open one is asked of its writer
    (``table_writer(table_id, plugin).allowed("view")``).
    """
    return sorted(current_site(app).views)


def table_writer(table_id: str, plugin: str) -> TableWriter:
    """A writer for served table ``table_id`` (``name`` or ``schema.name``) in the current app.

    :param plugin: your plugin's name, recorded with each audit entry of its writes.
    :raises LookupError: when the dashboard does not serve that table (unknown or hidden).
    """
    view = current_site().views.get(table_id)
    if view is None:
        raise LookupError(f"the dashboard serves no table {table_id!r}")
    return TableWriter(view, plugin)
