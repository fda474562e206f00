"""What a write of the plugin API raises when it is not made: :class:`WriteFailed`, the reason as a value.

The dashboard's own pages turn a refused write into a message on their form; a plugin gets
the same: one exception type whose ``reason`` says what happened (a permission, a
constraint, a conflict with another write, a lost database...) and whose ``message`` is a
sentence in the operator's language, safe to show. The database's own text, which holds SQL
and values, goes to the log only (:mod:`dashboard.db.errors`).

Internal exceptions (:class:`~dashboard.db.records.WriteError`,
:class:`~dashboard.web.unavailable.DatabaseUnreachable`) are translated here and never reach
a plugin: :func:`from_write_error` is the one place that does it.
"""

from __future__ import annotations

import typing as t

from flask import has_app_context

from dashboard.db.errors import DatabaseError, Kind, is_deadlock
from dashboard.db.records import RowsGone, WriteError
from dashboard.i18n.translation import gettext
from dashboard.messages import N_, Message
from dashboard.web.unavailable import MESSAGE as UNREACHABLE
from dashboard.web.unavailable import DatabaseUnreachable

#: Every ``reason`` a :class:`WriteFailed` may carry.
REASONS: tuple[str, ...] = (
    "permission",
    "constraint",
    "conflict",
    "gone",
    "timeout",
    "refused",
    "out_of_range",
    "other",
)


def in_words(message: t.Any) -> str:
    """``message`` in the operator's language (a :class:`~dashboard.messages.Message`, its
    parameters that are messages too, or plain text); as it is outside an app."""
    if not isinstance(message, Message) or not has_app_context():
        return str(message)
    params = {name: in_words(value) if isinstance(value, Message) else value for name, value in message.params.items()}
    return gettext(message.msgid, **params) if params else gettext(message.msgid)


class WriteFailed(Exception):
    """A write through :mod:`dashboard.writes` that was not made; nothing of it is saved.

    Every write call of the public API (``TableWriter.insert``, ``update``, ``delete`` and
    whatever runs inside :func:`dashboard.writes.transaction`) raises this type, or one of
    its subclasses, and nothing else for a refused write. A :class:`~dashboard.pages.Page`
    whose ``post()`` lets it escape shows ``message`` on the page it re-renders; a bulk
    action's is shown above the list.

    :param message: why, in words safe to show an operator (translated when raised).
    :param reason: what kind of failure, one of :data:`REASONS`: ``permission`` (the
        operator's role, read-only mode, or the database user's privileges), ``constraint``
        (a UNIQUE, FOREIGN KEY, CHECK or NOT NULL constraint), ``conflict`` (a row to change
        is gone, or a deadlock with another write: trying again may work), ``gone`` (the
        database cannot be reached), ``timeout``, ``refused`` (a ``before_write`` hook, or a
        write the API cannot make), ``out_of_range`` (a value too long or too big for its
        column) or ``other``.
    :param constraint: the constraint's name, when the database gave it.
    :param column: the column concerned, when known.
    :param table: the id of the table written to (``name`` or ``schema.name``).
    :param row: the key of the row concerned (as in the dashboard's URLs), when known.
    :raises ValueError: for an unknown ``reason``.
    """

    def __init__(
        self,
        message: str,
        reason: str = "other",
        *,
        constraint: str | None = None,
        column: str | None = None,
        table: str | None = None,
        row: str | None = None,
    ) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown write failure reason {reason!r}; reasons are {', '.join(REASONS)}")
        text = in_words(message)
        super().__init__(text)
        #: What to tell the operator: a translated sentence, safe to show.
        self.message = text
        self.reason = reason
        self.constraint = constraint
        self.column = column
        self.table = table
        self.row = row

    def __str__(self) -> str:
        return self.message


class WriteRefused(WriteFailed):
    """A write the dashboard or a plugin refused before the database saw it.

    Raised by the API when the operator's role lacks the right or the dashboard runs
    read-only (``reason="permission"``); raise it yourself from a ``before_write`` hook to
    refuse a row (``raise WriteRefused("Stock cannot go below zero.")``; ``reason`` is then
    ``refused``). Catching :class:`WriteFailed` catches it too.
    """

    def __init__(self, message: str, reason: str = "refused", **details: t.Any) -> None:
        super().__init__(message, reason, **details)


class WriteGone(WriteFailed, DatabaseUnreachable):
    """The database could not be reached (``reason="gone"``); nothing was saved.

    Left uncaught in a page or an action, the operator gets the dashboard's "database not
    reachable" page (503, asking to try again), as for the dashboard's own forms.
    """

    def __init__(self, message: str | None = None, **details: t.Any) -> None:
        # Cooperative: WriteFailed's super().__init__ is the HTTP exception's here, which
        # takes the message as the 503 page's description.
        super().__init__(Message(UNREACHABLE) if message is None else message, "gone", **details)


# -- what each classified error becomes ------------------------------------------------------

_REASON_OF_KIND = {
    Kind.PERMISSION: "permission",
    Kind.CONSTRAINT: "constraint",
    Kind.GONE: "gone",
    Kind.TIMEOUT: "timeout",
    Kind.OUT_OF_RANGE: "out_of_range",
    Kind.REFUSED: "refused",
}


def from_write_error(exc: WriteError, action: str, table: str, row: str | None) -> WriteFailed:
    """The :class:`WriteFailed` the plugin sees for a write the store refused.

    :param action: ``create``, ``edit`` or ``delete``.
    :param table: the table's id.
    :param row: the key text of the row whose statement failed, if known.
    """
    error = exc.error
    if exc.unavailable or exc.kind == Kind.GONE:
        return WriteGone(table=table, row=row)
    if exc.kind == Kind.REFUSED:
        # A before_write hook's refusal, already naming the row (dashboard.plugins.write_hooks).
        return WriteRefused(exc.message, "refused", table=table, row=row)
    if isinstance(exc, RowsGone):
        return row_gone(action, table, row)
    if exc.__cause__ is not None and is_deadlock(exc.__cause__):
        deadlock = N_("Nothing was saved: the database stopped this write to let another one finish; try again.")
        return WriteFailed(Message(deadlock), "conflict", table=table, row=row)
    if error is None:
        return WriteFailed(exc.message, _REASON_OF_KIND.get(Kind(exc.kind), "other"), table=table, row=row)
    clause = _clause(error, action)
    message: str
    if clause is None:
        message = exc.message  # dashboard.db.errors.write_message's whole sentence
    elif row is None:
        message = Message(_NOT_DONE[action], reason=clause)
    else:
        message = Message(_ROW_NOT_DONE[action], key=row, reason=clause)
    return WriteFailed(
        message,
        _REASON_OF_KIND.get(error.kind, "other"),
        constraint=error.constraint,
        column=error.column,
        table=table,
        row=row,
    )


def row_gone(action: str, table: str, row: str | None) -> WriteFailed:
    """A row to change or delete that is not there (any more): ``reason="conflict"``."""
    clause = Message(N_("no row has this key any more"))
    if row is None:
        return WriteFailed(Message(_NOT_DONE[action], reason=clause), "conflict", table=table)
    return WriteFailed(Message(_ROW_NOT_DONE[action], key=row, reason=clause), "conflict", table=table, row=row)


def permission_denied(message: str, table: str, row: str | None) -> WriteRefused:
    """The operator may not make this write (role, read-only mode, a table not writable)."""
    return WriteRefused(message, "permission", table=table, row=row)


# The same sentences the write hooks' refusals use, so a bulk action's failure reads alike
# whatever refused the row.
_NOT_DONE = {
    "create": N_("Not saved: %(reason)s"),
    "edit": N_("Not saved: %(reason)s"),
    "delete": N_("Nothing was deleted: %(reason)s"),
}
_ROW_NOT_DONE = {
    "create": N_("Row %(key)s was not saved: %(reason)s"),
    "edit": N_("Row %(key)s was not saved: %(reason)s"),
    "delete": N_("Row %(key)s was not deleted: %(reason)s"),
}


def _clause(error: DatabaseError, action: str) -> Message | None:
    """What refused the row, as the end of a sentence naming it; ``None`` when the whole sentence
    of :func:`~dashboard.db.errors.write_message` says it better (permissions, time-outs)."""
    name = error.constraint
    if error.kind is Kind.CONSTRAINT:
        if error.detail == "check":
            if name:
                return Message(N_('the CHECK constraint "%(constraint)s" refused the values'), constraint=name)
            return Message(N_("a CHECK constraint refused the values"))
        if error.detail == "unique":
            if name:
                return Message(
                    N_('the UNIQUE constraint "%(constraint)s" refused the values: another row already has them'),
                    constraint=name,
                )
            if error.column:
                return Message(N_("another row already has this value of %(column)s"), column=error.column)
            return Message(N_("another row already has these values, where they must be unique"))
        if error.detail == "foreign_key":
            if action == "delete":
                if name:
                    return Message(
                        N_('another row still refers to it (the FOREIGN KEY constraint "%(constraint)s")'),
                        constraint=name,
                    )
                return Message(N_("another row still refers to it (foreign key)"))
            if name:
                return Message(N_('the FOREIGN KEY constraint "%(constraint)s" refused the values'), constraint=name)
            return Message(N_("a row it refers to does not exist (foreign key)"))
        if error.detail == "not_null" and error.column:
            return Message(N_("a value is required for %(column)s (NOT NULL)"), column=error.column)
        if name:
            return Message(N_('the constraint "%(constraint)s" refused the values'), constraint=name)
        return Message(N_("a constraint of the database refused the values"))
    if error.kind is Kind.OUT_OF_RANGE:
        if error.column:
            return Message(
                N_("the value of %(column)s is too long or out of range for its column"), column=error.column
            )
        return Message(N_("a value is too long or out of range for its column"))
    return None


def status_of(failed: WriteFailed) -> int:
    """The HTTP status of a page re-rendered with ``failed``'s message."""
    return {"permission": 403, "conflict": 409, "timeout": 503}.get(failed.reason, 422)
