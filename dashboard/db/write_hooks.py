"""The seam where code outside the database layer sees each row written, before and after.

Every write of the dashboard, whatever page, API call, bulk action, import or plugin made
it, runs through a :class:`~dashboard.db.records.RecordStore` transaction. For each row it
writes, the store asks its :class:`WriteHooks` first (:meth:`WriteHooks.before`, inside the
transaction, with the row as it is and the values about to be written: they may be
changed, or the write refused by raising :class:`~dashboard.db.records.WriteError`), and
tells them once the transaction has committed (:meth:`WriteHooks.after`). A rolled-back
transaction tells nothing. The plugins' ``before_write`` and ``after_write`` hooks are one
implementation (:mod:`dashboard.plugins.write_hooks`); a store without any has
:data:`NO_HOOKS`, which costs nothing.

Rows are given as the store knows them: the row before (a ``Record``, or ``None`` for a
create) and the values written by column key (``None`` for a delete). No Flask here.
"""

from __future__ import annotations

import typing as t

#: Where a transaction's connection keeps the writes it made, told to the hooks after commit.
PENDING_KEY = "dashboard_written_rows"


class WriteHooks(t.Protocol):
    """What a store asks before each row it writes and tells after its transaction commits."""

    #: Whether to ask at all: when false, the store does not even read a row before deleting it.
    active: bool

    def before(self, action: str, old: t.Any, new: dict[str, t.Any] | None) -> dict[str, t.Any] | None:
        """The values to write instead of ``new`` (by column key), or ``new``; raise ``WriteError`` to refuse."""
        ...

    def after(self, action: str, old: t.Any, new: dict[str, t.Any] | None, key: tuple[t.Any, ...]) -> None:
        """Told once the row's transaction committed; never raises."""
        ...


class _NoHooks:
    active = False

    def before(self, action: str, old: t.Any, new: dict[str, t.Any] | None) -> dict[str, t.Any] | None:
        return new

    def after(self, action: str, old: t.Any, new: dict[str, t.Any] | None, key: tuple[t.Any, ...]) -> None:
        return None


#: The hooks of a store nobody listens to.
NO_HOOKS: WriteHooks = _NoHooks()
