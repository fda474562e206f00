"""A plugin's handle on a served table: reading, linking and writing, the way the dashboard's own pages do.

A plugin never opens its own connection nor reaches into the app: it asks which tables
the dashboard serves (:func:`served_tables`, also from a start-up hook), then for a
:class:`TableWriter` (``table_writer("orders", plugin="restock")``, or the ``writer`` a
bulk action receives), which reads rows (:meth:`TableWriter.rows`), links to the table's
pages (:meth:`TableWriter.list_url`, :meth:`TableWriter.details_url`), and writes; every
write through it

- is refused with :class:`WriteRefused` (a 403 page on a plugin page) when the dashboard
  runs read-only, the table cannot be edited, or the operator's role lacks the right;
- runs through the table's :class:`~dashboard.db.records.RecordStore`, in one transaction,
  so a database error becomes a :class:`~dashboard.db.records.WriteError` with a message safe
  to show, and a write over several rows is all or nothing;
- bumps the table's cache generation, so its listings and charts show the change at once;
- is recorded in the audit log (action ``plugin``), and so is a refused one.

Values are given by column name, in Python types (``int``, ``Decimal``, ``datetime``...).
"""

from __future__ import annotations

import typing as t

from flask import Flask, current_app, url_for
from flask_login import current_user

from dashboard.db.records import Record, WriteError
from dashboard.i18n.translation import gettext
from dashboard.messages import N_, Message
from dashboard.security import audit
from dashboard.site_state import current_site
from dashboard.web import audit_changes
from dashboard.web.caching import listing_cache
from dashboard.web.keys import encode_key
from dashboard.web.unavailable import DatabaseUnreachable

if t.TYPE_CHECKING:
    from dashboard.web.table_view import TableView

#: Table actions that change rows, and need a writable table as well as the right.
WRITE_ACTIONS = ("create", "edit", "delete")


class WriteRefused(Exception):
    """The operator may not make this write here; ``message`` says why, safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TableWriter:
    """Audited, permission-checked writes to one served table.

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

    def _check(self, action: str, row_key: str | None, changes: t.Any) -> None:
        refusal = self._refusal(action)
        if refusal is not None:
            self._audit(row_key, changes, outcome="failed", message=refusal, verb=action)
            raise WriteRefused(refusal)

    # -- writing -------------------------------------------------------------------------
    def insert(self, values: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        """Insert one row from ``values`` (by column name) and return its key by column name."""
        typed = self._by_key(values)
        changes = audit_changes.created(self._view, typed)
        self._check("create", None, changes)
        try:
            key = self._store.insert(typed)
        except WriteError as exc:
            self._failed(None, changes, exc, "create")
        self._after_write()
        changes = audit_changes.created(self._view, typed)  # as written: a before_write hook may change it
        complete = all(part is not None for part in key)
        self._audit(encode_key(key, self._store.key_codecs) if complete else None, changes, verb="create")
        return dict(zip(self.info.row_key, key, strict=False))

    def update(
        self, rows: t.Mapping[str, t.Any] | t.Sequence[t.Mapping[str, t.Any]], changes: t.Mapping[str, t.Any]
    ) -> int:
        """Write ``changes`` (by column name) to each of ``rows`` (dicts holding at least the key columns).

        All rows in one transaction: every one is changed, or none. Returns how many were.
        """
        records = self._records(rows)
        typed = self._by_key(changes)
        before = {
            encode_key(r._key, self._store.key_codecs): audit_changes.edited(self._view, r, typed) for r in records
        }
        self._check("edit", _joined(before), _single(before))
        written: list[tuple[Record, dict[str, t.Any]]] = []
        try:
            changed = self._store.update_rows([r._key for r in records], typed, written)
        except WriteError as exc:
            self._failed(_joined(before), _single(before), exc, "edit")
        self._after_write()
        if written:
            # The store's write hooks were asked row by row, and may have changed the values.
            before = {
                encode_key(r._key, self._store.key_codecs): audit_changes.edited(self._view, r, row_changes)
                for r, row_changes in written
            }
        for key, row_changes in before.items():
            self._audit(key, row_changes, verb="edit")
        return changed

    def delete(self, rows: t.Mapping[str, t.Any] | t.Sequence[t.Mapping[str, t.Any]]) -> int:
        """Delete ``rows`` (dicts holding at least the key columns), all or none; returns how many went."""
        records = self._records(rows)
        removed = {encode_key(r._key, self._store.key_codecs): audit_changes.deleted(self._view, r) for r in records}
        self._check("delete", _joined(removed), _single(removed))
        try:
            deleted = self._store.delete([r._key for r in records])
        except WriteError as exc:
            self._failed(_joined(removed), _single(removed), exc, "delete")
        self._after_write()
        for key, row_changes in removed.items():
            self._audit(key, row_changes, verb="delete")
        return deleted

    # -- reading ----------------------------------------------------------------------------
    def rows(
        self,
        where: t.Mapping[str, t.Any] | None = None,
        *,
        order_by: str | None = None,
        descending: bool = False,
        limit: int = 20,
    ) -> list[dict[str, t.Any]]:
        """Rows whose columns equal ``where``'s values, as dicts by column name (visible columns and the key).

        Reading needs the ``view`` right on the table, as its list page does.
        """
        if not self._view.allowed("view"):
            raise WriteRefused(self._refusal("view") or Message(N_("Permission denied.")))
        conditions = [
            self._store.table.c[self.info.column(name).name] == value for name, value in (where or {}).items()
        ]
        order = [(self.info.column(order_by).key, descending)] if order_by else []
        shown = {c.name for c in self._view.visible} | set(self.info.row_key)
        return [
            {c.name: getattr(record, c.key) for c in self.info.columns if c.name in shown}
            for record in self._store.select(where=conditions, order=order, limit=min(limit, 1000))
        ]

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

    def _records(self, rows: t.Mapping[str, t.Any] | t.Sequence[t.Mapping[str, t.Any]]) -> list[Record]:
        """The rows as they are in the database now, found by their key columns."""
        if isinstance(rows, t.Mapping):
            rows = [rows]
        if not self.info.row_key or self.info.row_key_source == "rowid":
            raise WriteRefused(Message(N_("This table has no key to address single rows.")))
        records = []
        for row in rows:
            key = tuple(row[name] for name in self.info.row_key)
            record = self._store.get(key)
            if record is None:
                raise WriteError(
                    Message(
                        N_("Not saved: no row of %(table)s has the key %(key)s any more."),
                        table=self.info.name,
                        key=repr(key),
                    )
                )
            records.append(record)
        return records

    def _after_write(self) -> None:
        cache = listing_cache()
        if cache is not None:
            cache.bump(self.info.id)

    def _failed(self, row_key: str | None, changes: t.Any, exc: WriteError, verb: str) -> t.NoReturn:
        self._audit(row_key, changes, outcome="failed", message=exc.message, verb=verb, kind=exc.kind)
        if exc.unavailable:
            raise DatabaseUnreachable() from exc
        raise exc

    def _audit(
        self,
        row_key: str | None,
        changes: t.Any,
        *,
        verb: str,
        outcome: str = "ok",
        message: str = "",
        kind: str | None = None,
    ) -> None:
        prefix = f"{self.plugin}: {verb}"
        audit.record_write(
            "plugin",
            self.info.id,
            row_key=row_key,
            changes=changes,
            outcome=outcome,
            message=f"{prefix}. {message}" if message else prefix,
            kind=kind,
        )


def _joined(by_key: t.Mapping[str, t.Any]) -> str | None:
    return ", ".join(by_key) if by_key else None


def _single(by_key: t.Mapping[str, t.Any]) -> t.Any:
    """The changes of the one row written, for an entry about it; none when the entry names several rows."""
    return next(iter(by_key.values())) if len(by_key) == 1 else None


def served_tables(app: Flask | None = None) -> list[str]:
    """The ids (``name`` or ``schema.name``) of the tables and views the dashboard serves, sorted.

    For ``app`` (in a start-up hook such as ``register_pages(app)``), else the current app.
    Hidden tables are not served; whether the operator may open one is asked of its writer
    (``table_writer(table_id, plugin).allowed("view")``).
    """
    return sorted(current_site(app).views)


def table_writer(table_id: str, plugin: str) -> TableWriter:
    """A writer for served table ``table_id`` (``name`` or ``schema.name``) in the current app.

    :raises LookupError: when the dashboard does not serve that table (unknown or hidden).
    """
    view = current_site().views.get(table_id)
    if view is None:
        raise LookupError(f"the dashboard serves no table {table_id!r}")
    return TableWriter(view, plugin)
