"""What a database error means: one classification for every page, the export, the bulk
actions, the plugin write API and the audit log.

A driver says "permission denied for table actor" (PostgreSQL, SQLSTATE 42501), "UPDATE
command denied to user ... for table `db`.`actor`" (MySQL 1142) or "attempt to write a
readonly database" (SQLite), each in its own words, codes and exception classes.
:func:`classify` reads those and answers with a :class:`DatabaseError`: one of the
:class:`Kind` values, and what the driver named (a constraint, a column, a table). The
operator is told what it means in words the dashboard writes itself
(:func:`write_message`, :func:`read_message`), never the driver's text, which holds SQL
and values and goes to the log (:func:`first_line`).

No Flask here: the messages are :class:`~dashboard.messages.Message` objects, translated
by whoever shows them.
"""

from __future__ import annotations

import enum
import re
import typing as t
from dataclasses import dataclass

from dashboard.messages import N_, Message


class Kind(enum.StrEnum):
    """Why a statement failed, as far as the operator can act on it."""

    #: The database user lacks a privilege (or the connection or file is read-only, or a
    #: row-level security policy refused the row).
    PERMISSION = "permission"
    #: A UNIQUE, FOREIGN KEY, CHECK or NOT NULL constraint refused the values.
    CONSTRAINT = "constraint"
    #: A materialized view that was created WITH NO DATA and never refreshed.
    NOT_POPULATED = "not_populated"
    #: The statement ran past the statement timeout and was cancelled.
    TIMEOUT = "timeout"
    #: A value does not fit its column (a number out of range, a text too long).
    OUT_OF_RANGE = "out_of_range"
    #: The connection was lost or the server cannot be reached.
    GONE = "gone"
    #: Not the database: a write hook (a plugin's ``before_write``) refused the row.
    REFUSED = "refused"
    #: Anything else.
    OTHER = "other"


#: How each kind is named to an operator (the audit log shows it next to a failed write).
KIND_LABELS: dict[str, str] = {
    Kind.PERMISSION: N_("permission"),
    Kind.CONSTRAINT: N_("constraint"),
    Kind.NOT_POPULATED: N_("not populated"),
    Kind.TIMEOUT: N_("timeout"),
    Kind.OUT_OF_RANGE: N_("value out of range"),
    Kind.GONE: N_("connection lost"),
    Kind.REFUSED: N_("refused by a plugin"),
    Kind.OTHER: N_("database error"),
}


@dataclass(frozen=True)
class DatabaseError:
    """A classified database error.

    :param kind: what it means.
    :param detail: a finer cause within the kind: for ``CONSTRAINT`` one of ``unique``,
        ``foreign_key``, ``check``, ``not_null``; for ``PERMISSION`` ``read_only``,
        ``row_security``, ``sequence``, ``column`` or ``table``; for ``OUT_OF_RANGE``
        ``too_long`` when a text did not fit.
    :param constraint: the constraint's name, when the driver gives it.
    :param column: the column the driver named (NOT NULL, column privileges).
    :param relation: the table (or sequence) the driver named, which may not be the one
        written to (a trigger's table, a serial column's sequence).
    :param reason: the first line of the driver's own message, for the log only.
    """

    kind: Kind
    detail: str | None = None
    constraint: str | None = None
    column: str | None = None
    relation: str | None = None
    reason: str = ""


def first_line(exc: BaseException, limit: int = 300) -> str:
    """The first line of the driver's own message: SQLAlchemy appends the statement and its
    parameters, which belong in no message and no log line meant for operators."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    lines = text.splitlines()
    return lines[0][:limit] if lines else type(exc).__name__


def classify(exc: BaseException) -> DatabaseError:
    """The :class:`DatabaseError` that ``exc`` (an SQLAlchemy or driver exception) stands for."""
    reason = first_line(exc)
    if is_gone(exc):
        return DatabaseError(Kind.GONE, reason=reason)
    if isinstance(exc, OverflowError):
        # sqlite3 refuses to bind an int outside 64 bits before SQLite sees it, and
        # SQLAlchemy does not wrap that: "Python int too large to convert to SQLite INTEGER".
        return DatabaseError(Kind.OUT_OF_RANGE, reason=reason)
    orig = getattr(exc, "orig", None) or exc
    module = type(orig).__module__
    found: DatabaseError | None = None
    if module.startswith("psycopg"):
        found = _postgresql(orig, reason)
    elif module.startswith(("pymysql", "MySQLdb")):
        found = _mysql(orig, reason)
    elif module == "sqlite3":
        found = _sqlite(orig, reason)
    return found or _by_class(exc, reason)


def is_gone(exc: BaseException) -> bool:
    """Whether ``exc`` says the database went away or cannot be reached, as opposed to a
    statement the database refused.

    SQLAlchemy marks a connection lost in the middle of its use (``connection_invalidated``);
    a connection that could not even be opened is recognised by the driver's own codes.
    """
    from sqlalchemy.exc import DBAPIError, OperationalError

    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    module = type(orig).__module__
    if module.startswith("psycopg"):
        state = getattr(orig, "sqlstate", None)
        # Errors raised by libpq itself (connection refused, server closed the connection)
        # carry no SQLSTATE; every statement the server refuses carries one.
        if state is None:
            return isinstance(exc, OperationalError)
        return state.startswith("08") or state in _PG_GONE_STATES
    if module.startswith(("pymysql", "MySQLdb")):
        return _mysql_code(orig) in _MYSQL_GONE_CODES
    if module == "sqlite3":
        return isinstance(exc, OperationalError) and "unable to open database file" in str(orig)
    return False


def is_timeout(exc: BaseException) -> bool:
    """Whether the database cancelled a statement for running too long."""
    return classify(exc).kind is Kind.TIMEOUT


def is_deadlock(exc: BaseException) -> bool:
    """Whether the database rolled the transaction back to break a deadlock (or a serialization
    conflict): the same statements, run again, may well succeed."""
    orig = getattr(exc, "orig", None)
    if getattr(orig, "sqlstate", None) in ("40P01", "40001"):  # PostgreSQL
        return True
    return _mysql_code(orig) == 1213  # MySQL/MariaDB: ER_LOCK_DEADLOCK


# -- PostgreSQL ----------------------------------------------------------------------------

# SQLSTATEs of a lost server: class 08 (connection exception), and the server shutting
# down or terminating the session (pg_terminate_backend sends 57P01).
_PG_GONE_STATES = ("57P01", "57P02", "57P03")
_PG_CONSTRAINTS = {
    "23505": "unique",
    "23503": "foreign_key",
    "23514": "check",
    "23502": "not_null",
    "23P01": "exclusion",
}
# "permission denied for table address", "... for sequence actor_actor_id_seq",
# "... for column x of relation t" (older servers), "... for materialized view mv".
_PG_DENIED = re.compile(
    r"permission denied for (table|relation|view|materialized view|sequence|schema|column)"
    r" \"?([^\"]+?)\"?(?: of relation \"?([^\"]+?)\"?)?$"
)


def _postgresql(orig: t.Any, reason: str) -> DatabaseError | None:
    state = getattr(orig, "sqlstate", None) or ""
    diag = getattr(orig, "diag", None)
    constraint = getattr(diag, "constraint_name", None)
    column = getattr(diag, "column_name", None)
    relation = getattr(diag, "table_name", None)
    if state in _PG_CONSTRAINTS:
        return DatabaseError(Kind.CONSTRAINT, _PG_CONSTRAINTS[state], constraint, column, relation, reason)
    if state == "42501":
        if "row-level security" in reason:
            return DatabaseError(Kind.PERMISSION, "row_security", relation=relation, reason=reason)
        denied = _PG_DENIED.search(reason)
        if denied:
            what, name, of = denied.groups()
            if what == "column":
                return DatabaseError(Kind.PERMISSION, "column", column=name, relation=of, reason=reason)
            detail = "sequence" if what == "sequence" else "table"
            return DatabaseError(Kind.PERMISSION, detail, relation=name, reason=reason)
        return DatabaseError(Kind.PERMISSION, reason=reason)
    if state == "25006":
        return DatabaseError(Kind.PERMISSION, "read_only", reason=reason)
    if state == "55000" and "has not been populated" in reason:
        return DatabaseError(Kind.NOT_POPULATED, reason=reason)
    if state == "57014":
        return DatabaseError(Kind.TIMEOUT, reason=reason)
    if state in ("22003", "22008", "22015"):
        return DatabaseError(Kind.OUT_OF_RANGE, reason=reason)
    if state == "22001":
        return DatabaseError(Kind.OUT_OF_RANGE, "too_long", reason=reason)
    return None


# -- MySQL and MariaDB --------------------------------------------------------------------

# Client and server error codes of a lost or unreachable server: 2002/2003 cannot connect,
# 2005 unknown host, 2006 gone away, 2013 lost during a query, 2055 lost at a system call,
# 1053 server shutting down, 1927 connection killed (KILL), 4031 disconnected by the
# server for inactivity.
_MYSQL_GONE_CODES = frozenset({1053, 1927, 2002, 2003, 2005, 2006, 2013, 2055, 4031})
# 1142 table, 1143 column, 1044 database, 1045 login, 1227 a global privilege, 1370 routine.
_MYSQL_DENIED = frozenset({1044, 1045, 1142, 1143, 1227, 1370})
# 1290 server started --read-only, 1792 a READ ONLY transaction, 1836 read-only mode.
_MYSQL_READ_ONLY = frozenset({1290, 1792, 1836})
_MYSQL_CONSTRAINTS = {
    1062: "unique",
    1586: "unique",
    1451: "foreign_key",
    1452: "foreign_key",
    1216: "foreign_key",
    1217: "foreign_key",
    1048: "not_null",
    1364: "not_null",
    # MariaDB reports a violated CHECK constraint as 4025, MySQL as 3819.
    3819: "check",
    4025: "check",
}
# 1969 MariaDB max_statement_time, 3024 MySQL max_execution_time, 1317 interrupted, 1205
# lock wait timeout.
_MYSQL_TIMEOUTS = frozenset({1205, 1317, 1969, 3024})
_MYSQL_OUT_OF_RANGE = frozenset({1264, 1690})
_MYSQL_NAMES = (
    re.compile(r"CONSTRAINT `((?:[^`]|``)+)`"),
    re.compile(r"for key '((?:[^']|'')+)'"),
)
_MYSQL_COLUMN = re.compile(r"(?:[Cc]olumn|Field) '((?:[^']|'')+)'")
_MYSQL_TABLE = re.compile(r"(?:for table|in table) [`']?(?:(?:[^`'.]+)[`']?\.[`']?)?([^`']+)[`']?$")


def _mysql(orig: t.Any, reason: str) -> DatabaseError | None:
    code = _mysql_code(orig)
    args: tuple[t.Any, ...] = tuple(getattr(orig, "args", ()))
    # PyMySQL's str() is the repr of (code, message): names are read from the message itself.
    text = str(args[1]) if len(args) > 1 else reason
    if code in _MYSQL_DENIED:
        column = _match(_MYSQL_COLUMN, text) if code == 1143 else None
        return DatabaseError(
            Kind.PERMISSION,
            "column" if column else "table",
            column=column,
            relation=_match(_MYSQL_TABLE, text),
            reason=reason,
        )
    if code in _MYSQL_READ_ONLY:
        return DatabaseError(Kind.PERMISSION, "read_only", reason=reason)
    if code in _MYSQL_CONSTRAINTS:
        detail = _MYSQL_CONSTRAINTS[code]
        # MariaDB names a column's own CHECK (JSON validity, an inline CHECK) "table.column".
        name = next((found for pattern in _MYSQL_NAMES if (found := _match(pattern, text))), None)
        return DatabaseError(Kind.CONSTRAINT, detail, name, _match(_MYSQL_COLUMN, text), reason=reason)
    if code in _MYSQL_TIMEOUTS:
        return DatabaseError(Kind.TIMEOUT, reason=reason)
    if code in _MYSQL_OUT_OF_RANGE:
        return DatabaseError(Kind.OUT_OF_RANGE, column=_match(_MYSQL_COLUMN, text), reason=reason)
    if code == 1406:
        return DatabaseError(Kind.OUT_OF_RANGE, "too_long", column=_match(_MYSQL_COLUMN, text), reason=reason)
    return None


def _mysql_code(orig: t.Any) -> int | None:
    args = getattr(orig, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


# -- SQLite ----------------------------------------------------------------------------------

_SQLITE_CONSTRAINTS = {
    "SQLITE_CONSTRAINT_UNIQUE": "unique",
    "SQLITE_CONSTRAINT_PRIMARYKEY": "unique",
    "SQLITE_CONSTRAINT_FOREIGNKEY": "foreign_key",
    "SQLITE_CONSTRAINT_CHECK": "check",
    "SQLITE_CONSTRAINT_NOTNULL": "not_null",
}


def _sqlite(orig: t.Any, reason: str) -> DatabaseError | None:
    name = getattr(orig, "sqlite_errorname", "") or ""
    lowered = reason.lower()
    if name.startswith("SQLITE_READONLY") or "readonly database" in lowered:
        return DatabaseError(Kind.PERMISSION, "read_only_file", reason=reason)
    if name in _SQLITE_CONSTRAINTS:
        detail = _SQLITE_CONSTRAINTS[name]
        named = reason.partition(": ")[2] or None
        # "CHECK constraint failed: qty_not_negative" names the constraint (or spells its
        # expression); UNIQUE and NOT NULL name "table.column" instead.
        if detail == "check":
            return DatabaseError(Kind.CONSTRAINT, detail, constraint=named, reason=reason)
        column = named.split(", ")[0].rpartition(".")[2] if named else None
        return DatabaseError(Kind.CONSTRAINT, detail, column=column, reason=reason)
    if name.startswith("SQLITE_CONSTRAINT"):
        return DatabaseError(Kind.CONSTRAINT, reason=reason)
    if name == "SQLITE_INTERRUPT" or lowered == "interrupted":
        return DatabaseError(Kind.TIMEOUT, reason=reason)
    if name == "SQLITE_TOOBIG" or "too large" in lowered:
        return DatabaseError(Kind.OUT_OF_RANGE, reason=reason)
    return None


# -- any driver ----------------------------------------------------------------------------------


def _by_class(exc: BaseException, reason: str) -> DatabaseError:
    """For drivers this module does not know: the DB-API exception class, and common words."""
    from sqlalchemy.exc import DataError, IntegrityError

    lowered = reason.lower()
    if isinstance(exc, IntegrityError):
        for words, detail in (
            ("unique", "unique"),
            ("duplicate", "unique"),
            ("foreign key", "foreign_key"),
            ("null", "not_null"),
            ("check", "check"),
        ):
            if words in lowered:
                return DatabaseError(Kind.CONSTRAINT, detail, reason=reason)
        return DatabaseError(Kind.CONSTRAINT, reason=reason)
    if "permission denied" in lowered or "access denied" in lowered:
        return DatabaseError(Kind.PERMISSION, reason=reason)
    if any(words in lowered for words in ("statement timeout", "canceling statement", "max_statement_time")):
        return DatabaseError(Kind.TIMEOUT, reason=reason)
    if isinstance(exc, DataError) and ("out of range" in lowered or "too long" in lowered):
        return DatabaseError(Kind.OUT_OF_RANGE, "too_long" if "too long" in lowered else None, reason=reason)
    return DatabaseError(Kind.OTHER, reason=reason)


def _match(pattern: re.Pattern[str], text: str) -> str | None:
    found = pattern.search(text)
    return found.group(1) if found else None


# -- what the operator is told ------------------------------------------------------------------

#: What a write was: a create, an edit or a delete (of one row or many).
Action = t.Literal["create", "edit", "delete"]

_DENIED: dict[str, str] = {
    "create": N_("The database user may not insert into %(table)s. Nothing was saved."),
    "edit": N_("The database user may not update %(table)s. Nothing was saved."),
    "delete": N_("The database user may not delete from %(table)s. Nothing was deleted."),
}
_DENIED_COLUMN: dict[str, str] = {
    "create": N_("The database user may not insert into column %(column)s of %(table)s. Nothing was saved."),
    "edit": N_("The database user may not update column %(column)s of %(table)s. Nothing was saved."),
    "delete": N_("The database user may not delete from %(table)s. Nothing was deleted."),
}
_NOT_DONE: dict[str, str] = {
    "create": N_("Nothing was saved."),
    "edit": N_("Nothing was saved."),
    "delete": N_("Nothing was deleted."),
}


def write_message(error: DatabaseError, action: Action, table: str) -> Message:
    """What the operator is told when the database refused a write to ``table``."""
    if error.kind is Kind.PERMISSION:
        return _permission_message(error, action, table)
    if error.kind is Kind.CONSTRAINT:
        return _constraint_message(error, action)
    if error.kind is Kind.GONE:
        return Message(N_("The database connection was lost. Nothing was saved; try again."))
    if error.kind is Kind.TIMEOUT:
        return Message(
            N_("The database cancelled the statement because it ran too long. Nothing was saved; try again later.")
        )
    if error.kind is Kind.OUT_OF_RANGE:
        if error.column:
            return Message(
                N_("Not saved: the value of %(column)s is too long or out of range for its column."),
                column=error.column,
            )
        return Message(N_("Not saved: a value is too long or out of range for its column."))
    if action == "delete":
        return Message(N_("Nothing was deleted: the database refused the delete (the server log has its reason)."))
    return Message(N_("Not saved: the database refused the values. Check the types and lengths of the fields."))


def _permission_message(error: DatabaseError, action: Action, table: str) -> Message:
    if error.detail in ("read_only", "read_only_file"):
        if action == "delete":
            return Message(N_("Nothing was deleted: the database connection is read-only."))
        return Message(N_("Not saved: the database connection is read-only."))
    if error.detail == "row_security":
        return Message(
            N_("A row-level security policy of the database refused this change to %(table)s. %(outcome)s"),
            table=table,
            outcome=_NOT_DONE[action],
        )
    if error.detail == "sequence" and error.relation:
        return Message(
            N_(
                "The database user may not use the sequence %(sequence)s, which numbers new rows of "
                "%(table)s. Nothing was saved."
            ),
            sequence=error.relation,
            table=table,
        )
    if error.detail == "column" and error.column:
        return Message(_DENIED_COLUMN[action], column=error.column, table=table)
    if error.relation and error.relation != table and error.relation != table.rpartition(".")[2]:
        # A trigger's table, or the referenced table a foreign key check reads.
        return Message(
            N_("The database user lacks a privilege on %(other)s that this change to %(table)s needs. %(outcome)s"),
            other=error.relation,
            table=table,
            outcome=_NOT_DONE[action],
        )
    return Message(_DENIED[action], table=table)


def _constraint_message(error: DatabaseError, action: Action) -> Message:
    # Constraint names stay out of these messages (the log has them): a name such as
    # items_name_key says nothing to an operator, and says much about the schema. The form
    # marks the field concerned (dashboard.web.violations), a refused delete names the row and
    # the foreign key that blocked it (dashboard.web.references).
    if error.detail == "unique":
        return Message(N_("Not saved: another row already has this value where values must be unique."))
    if error.detail == "foreign_key":
        if action == "delete":
            return Message(N_("Nothing was deleted: another row still refers to this one (foreign key)."))
        return Message(
            N_("Not saved: the row is referenced by, or refers to, a row that does not allow it (foreign key).")
        )
    if error.detail == "not_null":
        if error.column:
            return Message(N_("Not saved: a value is required for %(column)s (NOT NULL)."), column=error.column)
        return Message(N_("Not saved: a required value is missing (NOT NULL)."))
    if error.detail == "check":
        return Message(N_("Not saved: a value is not allowed by a CHECK constraint."))
    return Message(N_("Not saved: the database refused the values (constraint violated)."))


def read_message(error: DatabaseError, table: str) -> Message:
    """What the operator is told when reading ``table`` failed (a list page, an export)."""
    if error.kind is Kind.PERMISSION:
        if error.relation and error.relation != table and error.relation != table.rpartition(".")[2]:
            return Message(
                N_("The database user may not read %(other)s, which reading %(table)s needs."),
                other=error.relation,
                table=table,
            )
        return Message(N_("The database user may not read %(table)s."), table=table)
    if error.kind is Kind.NOT_POPULATED:
        return Message(
            N_(
                "%(table)s is a materialized view that has not been populated yet: it has no rows "
                "until REFRESH MATERIALIZED VIEW is run."
            ),
            table=table,
        )
    if error.kind is Kind.TIMEOUT:
        return Message(
            N_(
                "The query took too long and was cancelled. Narrow it with a filter or a "
                "shorter search, or sort by an indexed column."
            )
        )
    if error.kind is Kind.OUT_OF_RANGE:
        return Message(N_("A filter or search value is out of range for its column; nothing matches it."))
    if error.kind is Kind.GONE:
        return Message(N_("The database is not reachable. Nothing was saved; try again."))
    return Message(N_("The database could not read %(table)s (the server log has its reason)."), table=table)
