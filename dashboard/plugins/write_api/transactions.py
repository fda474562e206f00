"""One database transaction for several writes of the plugin API: all of them, or none.

:func:`transaction` opens it (lazily: on the first write) and every
:class:`~dashboard.writes.TableWriter` write inside the ``with`` block runs its statements on
its connection, whatever the table, through the tables' record stores, so ``before_write``
hooks are asked row by row as for any write. Nothing the outside world sees happens before
the commit: the audit entries, the ``after_write`` hooks and the listings' cache
generations wait for it. When anything fails (a write the database refuses, a hook's
refusal, an exception of the plugin's own), the transaction is rolled back and every write
of it is recorded as failed, saying why; none is recorded as saved.

A single write outside any ``with transaction()`` runs in a transaction of its own, through
the same code.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import typing as t
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import has_app_context
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from dashboard.db.errors import Kind
from dashboard.db.records import RecordStore, WriteError, describe_write_error
from dashboard.db.write_hooks import PENDING_KEY, WriteHooks
from dashboard.messages import N_, Message
from dashboard.plugins.write_api.failures import WriteFailed, WriteGone, WriteRefused, from_write_error
from dashboard.security import audit
from dashboard.web.caching import listing_cache

log = logging.getLogger(__name__)

_current: contextvars.ContextVar[Transaction | None] = contextvars.ContextVar(
    "dashboard_write_transaction", default=None
)


@dataclass
class Entry:
    """An audit entry waiting for the transaction's end."""

    plugin: str
    verb: str
    table_id: str
    row_key: str | None
    changes: t.Any
    outcome: str = "ok"
    message: str = ""
    kind: str | None = None


@dataclass
class Transaction:
    """The writes made in one ``with transaction()`` block, and its connection once one is open."""

    reason: str | None
    engine: sa.Engine | None = None
    connection: sa.Connection | None = None
    entries: list[Entry] = field(default_factory=list)
    #: ``(hooks, action, old, new, key)`` of each row written, told to ``after_write`` after commit.
    written: list[tuple[WriteHooks, t.Any, t.Any, t.Any, t.Any]] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    #: The failure that dooms the transaction: it will be rolled back whatever follows.
    failure: WriteFailed | None = None

    # -- used by TableWriter ---------------------------------------------------------------
    def run(self, store: RecordStore, action: t.Any, work: t.Callable[[sa.Connection], t.Any]) -> t.Any:
        """Run ``work(connection)`` (statements of ``store``'s table) in this transaction.

        :raises WriteError: the database or a write hook refused (the transaction is doomed).
        """
        if self.failure is not None:
            raise self.failure
        connection = self._join(store)
        pending: list[t.Any] = []
        # Restored after: a write made from inside another (a hook writing) must not lose its rows.
        outer = connection.info.get(PENDING_KEY)
        connection.info[PENDING_KEY] = pending
        try:
            result = work(connection)
        except WriteError:
            raise
        except (SQLAlchemyError, OverflowError) as exc:
            # sqlite3 raises a bare OverflowError for an int past 64 bits.
            log.warning("plugin %s on %s refused: %s", action, store.info.id, exc)
            raise describe_write_error(exc, action, store.info.name) from exc
        finally:
            if outer is None:
                connection.info.pop(PENDING_KEY, None)
            else:
                connection.info[PENDING_KEY] = outer
        self.written.extend((store.hooks, *item) for item in pending)
        if store.info.id not in self.tables:
            self.tables.append(store.info.id)
        return result

    def record(self, entry: Entry) -> None:
        """Keep ``entry`` for the audit log, written when the transaction ends."""
        self.entries.append(entry)

    def fail(self, failure: WriteFailed) -> WriteFailed:
        """Doom the transaction with ``failure`` (the first one wins); returns ``failure``."""
        if self.failure is None:
            self.failure = failure
        return failure

    def _join(self, store: RecordStore) -> sa.Connection:
        if self.engine is None:
            self.engine = store.engine
            try:
                self.connection = store.engine.connect()
                self.connection.begin()
            except OperationalError as exc:
                log.warning("database unavailable: %s", exc)
                self.connection = None
                raise WriteError(
                    Message(N_("The database is not reachable. Nothing was saved; try again.")),
                    unavailable=True,
                    kind=Kind.GONE,
                ) from exc
        elif store.engine is not self.engine:
            raise self.fail(
                WriteRefused(
                    Message(
                        N_(
                            "Not saved: %(table)s is not in the database of the transaction's first write; "
                            "a transaction writes to one database."
                        ),
                        table=store.info.id,
                    ),
                    table=store.info.id,
                )
            )
        if self.connection is None:
            raise self.failure or WriteGone()
        return self.connection

    # -- the end ---------------------------------------------------------------------------
    def commit(self) -> None:
        """Commit, then write the audit entries, bump the tables' cache generations and call
        the ``after_write`` hooks.

        :raises WriteFailed: when the commit itself failed (everything is rolled back).
        """
        connection = self.connection
        if connection is not None:
            try:
                connection.commit()
            except SQLAlchemyError as exc:
                log.warning("plugin transaction on %s not committed: %s", ", ".join(self.tables), exc)
                error = describe_write_error(exc, "edit", self.tables[0] if self.tables else "")
                self.rollback(self.fail(from_write_error(error, "edit", self.tables[0] if self.tables else "", None)))
                raise t.cast(WriteFailed, self.failure) from exc
            finally:
                connection.close()
        for entry in self.entries:
            self._audit(entry)
        cache = listing_cache()
        for table_id in self.tables:
            if cache is not None:
                cache.bump(table_id)
        for hooks, action, old, new, key in self.written:
            hooks.after(action, old, new, key)

    def rollback(self, cause: BaseException | None) -> None:
        """Roll back, and record every write of the transaction as failed: the one that failed
        with its own reason, the others as undone because of it."""
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                connection.rollback()
            except SQLAlchemyError as exc:  # a connection already lost has nothing to roll back
                log.debug("rollback of a plugin transaction: %s", exc)
            finally:
                connection.close()
        why = cause.message if isinstance(cause, WriteFailed) else type(cause).__name__ if cause else ""
        undone = str(Message(N_("Not saved: the transaction was rolled back (%(reason)s)."), reason=why))
        for entry in self.entries:
            if entry.outcome == "ok":
                entry.outcome, entry.message = "failed", undone
            self._audit(entry)

    def _audit(self, entry: Entry) -> None:
        prefix = f"{entry.plugin}: {entry.verb}"
        audit.record_write(
            "plugin",
            entry.table_id,
            row_key=entry.row_key,
            changes=entry.changes,
            outcome=entry.outcome,
            message=f"{prefix}. {entry.message}" if entry.message else prefix,
            kind=entry.kind,
            reason=self.reason,
        )


def current() -> Transaction | None:
    """The transaction the current code runs in, if any."""
    return _current.get()


@contextlib.contextmanager
def transaction(reason: str | None = None) -> t.Iterator[Transaction]:
    """Implementation of :func:`dashboard.writes.transaction` (documented there)."""
    outer = _current.get()
    if outer is not None:
        # Joined, not nested: the outermost block commits or rolls back everything.
        if reason and not outer.reason:
            outer.reason = reason
        yield outer
        return
    if reason is not None and not isinstance(reason, str):
        raise TypeError("a transaction's reason is a str")
    if not has_app_context():
        raise RuntimeError("dashboard.writes.transaction() needs the app: use it in a request or an app context")
    tx = Transaction(reason=reason)
    token = _current.set(tx)
    try:
        yield tx
    except BaseException as exc:
        _current.reset(token)
        tx.rollback(tx.failure or exc)
        raise
    _current.reset(token)
    if tx.failure is not None:
        # A write failed and the block caught it: still nothing is saved, and the block's
        # caller must not believe otherwise.
        tx.rollback(tx.failure)
        raise tx.failure
    tx.commit()
