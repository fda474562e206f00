"""Connecting to the operator's database safely.

Every engine the dashboard opens checks connections before use (``pool_pre_ping``), makes
SQLite enforce foreign keys and MySQL/MariaDB reject bad values (strict ``sql_mode``), and
turns the usual ways of getting a URL wrong into one clear sentence.
"""

from __future__ import annotations

import os
import time
import typing as t

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    NoSuchModuleError,
    OperationalError,
    SQLAlchemyError,
)

from dashboard.db import mysql_tls
from dashboard.db.codecs import decode_text
from dashboard.db.errors import first_line
from dashboard.db.json_text import read_json
from dashboard.messages import N_, Message

# The extra that installs each dialect's driver, and the URL scheme that uses it.
_DRIVER_HINTS = {
    "postgresql": ("'dashboard[postgresql]' (psycopg)", "postgresql+psycopg://"),
    "mysql": ("'dashboard[mysql]' (PyMySQL)", "mysql+pymysql://"),
    "mariadb": ("'dashboard[mysql]' (PyMySQL)", "mariadb+pymysql://"),
}


class DatabaseUnavailable(Exception):
    """The database URL cannot be used; the message says why and what to try."""


def with_default_driver(url: t.Any) -> t.Any:
    """``url`` (an SQLAlchemy ``URL``) with the driver we install when it names none."""
    # A bare postgresql:// or mysql:// URL means psycopg2/mysqlclient to SQLAlchemy; we
    # install psycopg 3 and PyMySQL, so pick those unless the operator named a driver.
    if url.drivername == "postgresql":
        return url.set(drivername="postgresql+psycopg")
    if url.drivername in ("mysql", "mariadb"):
        return url.set(drivername=f"{url.drivername}+pymysql")
    return url


def make_engine(database_url: str, *, read_only: bool = False, statement_timeout_ms: int = 0) -> Engine:
    """Create an engine for ``database_url`` and check that it answers.

    :param database_url: an SQLAlchemy URL.
    :param read_only: open connections read-only where the dialect allows it.
    :param statement_timeout_ms: cancel statements running longer than this (0: never).
    :raises DatabaseUnavailable: with a message naming the problem and what to try.
    """
    try:
        url = with_default_driver(make_url(database_url))
    except ArgumentError:
        raise DatabaseUnavailable(
            Message(
                N_(
                    "'%(url)s' is not a database URL; expected e.g. sqlite:///shop.db or "
                    "postgresql+psycopg://user@host/dbname"
                ),
                url=database_url,
            )
        ) from None
    connect_args: dict[str, t.Any] = {}
    backend = url.get_backend_name()
    if backend == "sqlite" and url.database and url.database != ":memory:" and not url.query.get("uri"):
        # sqlite3 creates a missing file on connect; a typo must not leave an empty database behind.
        if not os.path.isfile(url.database):
            raise DatabaseUnavailable(
                Message(N_("no SQLite database file at %(path)s; check the path."), path=url.database)
            )
    if backend == "sqlite" and url.database and url.database != ":memory:" and read_only:
        url = url.set(database=f"file:{url.database}?mode=ro", query={**url.query, "uri": "true"})
    if backend == "postgresql":
        options = []
        if statement_timeout_ms:
            options.append(f"-c statement_timeout={int(statement_timeout_ms)}")
        if read_only:
            options.append("-c default_transaction_read_only=on")
        if options:
            connect_args["options"] = " ".join(options)
        connect_args.setdefault("connect_timeout", 10)
    if backend in ("mysql", "mariadb"):
        connect_args.setdefault("connect_timeout", 10)
        connect_args.setdefault("charset", "utf8mb4")
    try:
        # A stored JSON document nested thousands deep (or not JSON at all) is read as its text.
        engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args, json_deserializer=read_json)
    except NoSuchModuleError:
        raise DatabaseUnavailable(
            Message(
                N_("unknown database driver '%(driver)s'; use sqlite://, postgresql+psycopg:// or mysql+pymysql://"),
                driver=url.drivername,
            )
        ) from None
    except ModuleNotFoundError as exc:
        if backend not in _DRIVER_HINTS:
            raise DatabaseUnavailable(
                Message(
                    N_(
                        "the driver for %(backend)s is not installed (%(module)s); install the driver package "
                        "for this database"
                    ),
                    backend=backend,
                    module=exc.name,
                )
            ) from None
        package, scheme = _DRIVER_HINTS[backend]
        raise DatabaseUnavailable(
            Message(
                N_(
                    "the driver for %(backend)s is not installed (%(module)s); pip install %(package)s, "
                    "and use %(scheme)s"
                ),
                backend=backend,
                module=exc.name,
                package=package,
                scheme=scheme,
            )
        ) from None
    except (ArgumentError, ValueError, TypeError) as exc:
        raise DatabaseUnavailable(Message(N_("the database URL is malformed: %(reason)s"), reason=str(exc))) from None
    _install_session_rules(engine, read_only=read_only, statement_timeout_ms=statement_timeout_ms)
    check_connection(engine)
    return engine


def _install_session_rules(engine: Engine, *, read_only: bool, statement_timeout_ms: int) -> None:
    backend = engine.dialect.name

    if backend == "sqlite" and statement_timeout_ms:
        _sqlite_statement_timeout(engine, statement_timeout_ms)
    if backend in ("mysql", "mariadb") and statement_timeout_ms:
        _mariadb_streams_without_timeout(engine)
    if backend in ("mysql", "mariadb"):
        event.listen(engine, "do_connect", mysql_tls.connect)

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: t.Any, _record: t.Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            if backend == "sqlite":
                # SQLite keeps any bytes in TEXT; sqlite3 fails the whole query on one value
                # that is not UTF-8 ("Could not decode to UTF-8"). Such text is read with
                # replacement characters instead, marked (dashboard.db.codecs.InvalidText).
                dbapi_connection.text_factory = decode_text
                # SQLite ignores foreign keys unless asked, per connection.
                cursor.execute("PRAGMA foreign_keys=ON")
                if read_only:
                    cursor.execute("PRAGMA query_only=ON")
            elif backend in ("mysql", "mariadb"):
                # Non-strict modes truncate over-long strings and accept bad dates silently.
                cursor.execute(
                    "SET SESSION sql_mode = CONCAT_WS(',', @@SESSION.sql_mode, "
                    "'STRICT_ALL_TABLES', 'NO_ZERO_DATE', 'NO_ZERO_IN_DATE', 'ERROR_FOR_DIVISION_BY_ZERO')"
                )
                if statement_timeout_ms:
                    cursor.execute(f"SET SESSION max_statement_time = {statement_timeout_ms / 1000:.3f}")
                if read_only:
                    cursor.execute("SET SESSION TRANSACTION READ ONLY")
        finally:
            cursor.close()


def _sqlite_statement_timeout(engine: Engine, timeout_ms: int) -> None:
    """Cancel SQLite statements that run longer than ``timeout_ms`` (SQLite has no setting for it).

    A progress handler, called every few thousand virtual-machine steps, interrupts the
    statement once its deadline has passed; sqlite3 then raises "interrupted".
    """
    deadline: dict[int, float] = {}

    @event.listens_for(engine, "connect")
    def install(dbapi_connection: t.Any, _record: t.Any) -> None:
        key = id(dbapi_connection)
        dbapi_connection.set_progress_handler(lambda: int(time.monotonic() > deadline.get(key, float("inf"))), 10_000)

    @event.listens_for(engine, "before_cursor_execute")
    def start(
        connection: t.Any, _cursor: t.Any, _statement: t.Any, _parameters: t.Any, context: t.Any, _executemany: t.Any
    ) -> None:
        # The deadline covers execution and fetching; a streamed export, which reads for as
        # long as the table is big, asks to be exempt.
        exempt = context is not None and context.execution_options.get(NO_STATEMENT_TIMEOUT)
        limit = float("inf") if exempt else time.monotonic() + timeout_ms / 1000
        deadline[id(connection.connection.dbapi_connection)] = limit


def _mariadb_streams_without_timeout(engine: Engine) -> None:
    """Run statements marked :data:`NO_STATEMENT_TIMEOUT` with MariaDB's ``max_statement_time``
    lifted for them alone: an unbuffered (streamed) result counts as running until its last row
    is read, so a million-row export read at the pace of its download was cut after the
    session's few seconds ("max_statement_time exceeded"), halfway through the file."""

    @event.listens_for(engine, "before_cursor_execute", retval=True)
    def exempt(
        connection: t.Any, _cursor: t.Any, statement: str, parameters: t.Any, context: t.Any, _executemany: t.Any
    ) -> tuple[str, t.Any]:
        # MySQL has neither the setting nor this syntax (its max_execution_time is another one).
        exempted = context is not None and context.execution_options.get(NO_STATEMENT_TIMEOUT)
        if exempted and getattr(connection.dialect, "is_mariadb", False):
            statement = "SET STATEMENT max_statement_time = 0 FOR " + statement
        return statement, parameters


#: Execution option that lifts the statement timeout (streamed exports).
NO_STATEMENT_TIMEOUT = "dashboard_no_statement_timeout"


def check_connection(engine: Engine) -> None:
    """Run a trivial query, turning failures into :class:`DatabaseUnavailable`."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except OperationalError as exc:
        reason = first_line(exc, limit=1000)
        where = engine.url.render_as_string(hide_password=True)
        raise DatabaseUnavailable(
            Message(
                N_(
                    "cannot connect to %(where)s: %(reason)s. Check that the server runs, the host, "
                    "port, user and password are right, and the database exists."
                ),
                where=where,
                reason=reason,
            )
        ) from None
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(
            Message(N_("the database refused a first query: %(reason)s"), reason=str(exc))
        ) from None


def is_empty(engine: Engine, schemas: t.Sequence[str | None] = (None,)) -> bool:
    """Whether the database has no table and no view in ``schemas``."""
    inspector = inspect(engine)
    for schema in schemas:
        if inspector.get_table_names(schema=schema) or inspector.get_view_names(schema=schema):
            return False
    return True
