"""The plugins' ``before_write`` and ``after_write`` hooks, as the write hooks of every table's store.

Every write of the dashboard runs through a table's
:class:`~dashboard.db.records.RecordStore` (:mod:`dashboard.db.write_hooks`), so the pages,
inline edits, bulk actions and bulk edits, imports, the JSON API and plugins' own writes
through :mod:`dashboard.writes` all meet these hooks, once per row written:

- ``before_write(table, action, old, new)`` runs inside the write's transaction, before the
  row's statement. ``old`` is the row as it is (``None`` for a create), ``new`` the row as
  it will be (for an edit, ``old`` with the changes over it; ``None`` for a delete), both
  read-only mappings by column name. Returning a mapping writes those values instead
  (for an edit, a column whose value then differs from ``old`` is written); returning
  ``None`` keeps them. Raising :class:`~dashboard.writes.WriteRefused` refuses the write:
  the transaction is rolled back (nothing of it is written, in a bulk write no row at all)
  and the operator reads the message where the write was asked for. A hook that raises
  anything else, or returns what is not a mapping of the table's columns, refuses too
  (a broken check lets nothing through) and is reported as that plugin's problem.
- ``after_write(table, action, old, new)`` runs once the transaction committed, for each
  row it wrote (``new`` holds the row's key columns on a create, also those the database
  numbered). A hook that raises is reported (log, ``dashboard plugins``, the Plugins page);
  the write has been made and stays.
"""

from __future__ import annotations

import types
import typing as t

from flask import Flask

from dashboard.db.errors import Kind
from dashboard.db.records import Record, WriteError
from dashboard.messages import N_, Message
from dashboard.plugins import loader
from dashboard.site_state import current_site
from dashboard.web.keys import encode_key
from dashboard.writes import WriteRefused

if t.TYPE_CHECKING:
    from dashboard.db.reflection import TableInfo
    from dashboard.web.table_view import TableView

#: What an operator reads when a plugin failed while checking a write (its traceback is logged).
HOOK_FAILED = N_("A plugin failed while checking this write.")

Row = t.Mapping[str, t.Any]


class PluginWriteHooks:
    """The write hooks (:class:`dashboard.db.write_hooks.WriteHooks`) of one table's store in ``app``."""

    def __init__(self, app: Flask, view: TableView) -> None:
        self._app = app
        self._info: TableInfo = view.info
        self._key_codecs = view.store.key_codecs
        found = loader.registry(app)
        self.active = found.has_implementations("before_write") or found.has_implementations("after_write")

    def before(self, action: str, old: Record | None, new: dict[str, t.Any] | None) -> dict[str, t.Any] | None:
        found = loader.registry(self._app)
        implementations = [
            impl
            for impl in reversed(found.manager.hook.before_write.get_hookimpls())
            if not (impl.hookwrapper or impl.wrapper)
        ]
        if not implementations:
            return new
        info = self._info
        before, row = _old_and_new_rows(info, action, old, new)
        arguments: dict[str, t.Any] = {"table": info, "action": action, "old": _frozen(before)}
        for impl in implementations:
            arguments["new"] = _frozen(row)
            try:
                result = impl.function(*[arguments[name] for name in impl.argnames])
            except WriteRefused as refused:
                raise self._refused(action, old, refused.message) from refused
            except Exception as exc:  # noqa: BLE001 -- reported; the write is refused, never let through unchecked
                found.report(impl.plugin_name, "before_write", exc)
                raise self._refused(action, old, HOOK_FAILED) from exc
            if result is None:
                continue
            problem = _problem(info, action, result)
            if problem is not None:
                found.add_problem(impl.plugin_name, "before_write", f"table {info.id!r}: {problem}")
                raise self._refused(action, old, HOOK_FAILED)
            row = dict(t.cast(Row, result))
        if row is None or new is None:
            return new
        wanted = {info.column(name).key: value for name, value in row.items()}
        if old is None:
            return wanted
        # An edit writes what it was asked to, and whatever a hook made differ from the row.
        return {key: value for key, value in wanted.items() if key in new or value != old._values.get(key)}

    def after(self, action: str, old: Record | None, new: dict[str, t.Any] | None, key: tuple[t.Any, ...]) -> None:
        found = loader.registry(self._app)
        if not found.has_implementations("after_write"):
            return
        info = self._info
        before, row = _old_and_new_rows(info, action, old, new)
        if row is not None and action == "create" and info.row_key_source != "rowid":
            for name, part in zip(info.row_key, key, strict=False):
                if row.get(name) is None:
                    row[name] = part
        found.call("after_write", table=info, action=action, old=_frozen(before), new=_frozen(row))

    def _refused(self, action: str, old: Record | None, reason: str) -> WriteError:
        """The refusal the operator reads, naming the row (a bulk write has many)."""
        reason = str(reason)
        if old is None or not self._info.row_key:
            message = Message(N_("Not saved: %(reason)s"), reason=reason)
        elif action == "delete":
            key = encode_key(old._key, self._key_codecs)
            message = Message(N_("Row %(key)s was not deleted: %(reason)s"), key=key, reason=reason)
        else:
            key = encode_key(old._key, self._key_codecs)
            message = Message(N_("Row %(key)s was not saved: %(reason)s"), key=key, reason=reason)
        return WriteError(message, kind=Kind.REFUSED)


def _old_and_new_rows(
    info: TableInfo, action: str, old: Record | None, new: dict[str, t.Any] | None
) -> tuple[dict[str, t.Any] | None, dict[str, t.Any] | None]:
    """The row before and after the write, by column name, as the hooks see them: an edit's new
    row is the old one with the changed columns; a delete has none."""
    before = _by_name(info, old._values) if old is not None else None
    if action == "edit":
        return before, {**(before or {}), **_by_name(info, new or {})}
    if action == "create":
        return before, _by_name(info, new or {})
    return before, None


def _by_name(info: TableInfo, values: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    return {info.column_by_key(key).name: value for key, value in values.items()}


def _frozen(row: dict[str, t.Any] | None) -> Row | None:
    # Read-only: a hook changes what is written by returning the values, never by editing these.
    return types.MappingProxyType(dict(row)) if row is not None else None


def _problem(info: TableInfo, action: str, result: t.Any) -> str | None:
    if action == "delete":
        return "a delete writes no values: return None, or raise WriteRefused to keep the row"
    if not isinstance(result, t.Mapping):
        return f"expected a mapping of values by column name, got {type(result).__name__}"
    names = {column.name for column in info.columns}
    unknown = sorted(str(name) for name in result if name not in names)
    if unknown:
        return f"unknown column(s) {', '.join(unknown)}"
    return None


def init_app(app: Flask) -> None:
    """Give the store of every table ``app`` serves the plugins' write hooks."""
    for view in current_site(app).views.values():
        view.store.hooks = PluginWriteHooks(app, view)
