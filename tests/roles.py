"""Least-privilege database users for tests: a URL that connects with only the rights given.

:func:`restricted_url` makes a new, uniquely named role (PostgreSQL) or user (MariaDB)
holding only the table privileges a test asks for, yields a URL to the same database
connecting as it, and drops it afterwards, also when the test fails. Roles and users are
server-global, so names are random and nothing outlives the test. SQLite has no users: the
URL opens the file read-only, which is the one restriction SQLite can express.

The :func:`restricted` fixture wraps it for tests: ``restricted(url, {"actor": {"SELECT"}})``.
"""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from tests.databases import finish_drops

__all__ = ["ALL_TABLES", "PRIVILEGES", "restricted", "restricted_url"]

#: The table privileges a grant may name.
PRIVILEGES = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"})
#: A grant key meaning every table and view of the schema (``GRANT ... ON ALL TABLES IN
#: SCHEMA`` on PostgreSQL, ``ON db.*`` on MariaDB), present and future on MariaDB only.
ALL_TABLES = "*"


def _checked(grants: Mapping[str, Iterable[str]]) -> dict[str, frozenset[str]]:
    checked: dict[str, frozenset[str]] = {}
    for table, actions in grants.items():
        wanted = frozenset(a.upper() for a in actions)
        unknown = wanted - PRIVILEGES
        if unknown:
            raise ValueError(f"unknown privileges for {table!r}: {sorted(unknown)}")
        if wanted:
            checked[table] = wanted
    return checked


def _admin_engine(database_url: str) -> Engine:
    return create_engine(database_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)


@contextlib.contextmanager
def restricted_url(
    database_url: str, grants: Mapping[str, Iterable[str]], *, schema: str | None = None
) -> Iterator[str]:
    """Yield a URL to the same database that connects as a new, uniquely named role/user
    holding only ``grants`` ({table_name: {"SELECT", "INSERT", "UPDATE", "DELETE"}}), the
    role dropped afterwards (also when the test fails).

    PostgreSQL: ``CREATE ROLE ... LOGIN``, ``GRANT CONNECT``/``USAGE``, per-table grants (and
    ``USAGE`` on the sequences a table owns where ``INSERT`` is granted). MariaDB: ``CREATE
    USER ...@'%'`` and ``@'localhost'``, per-table grants. SQLite has no roles: the URL opens
    the file read-only (``mode=ro``), so every table is readable and none writable; grants
    must then hold only ``SELECT`` or :class:`ValueError` is raised.

    :param database_url: a URL with the right to create roles/users (the test's admin URL).
    :param grants: table name -> privileges; the key :data:`ALL_TABLES` (``"*"``) means every
        table and view of the schema.
    :param schema: the schema the table names are in (PostgreSQL; default ``public``).
    """
    checked = _checked(grants)
    backend = make_url(database_url).get_backend_name()
    if backend == "sqlite":
        with _sqlite_read_only(database_url, checked) as url:
            yield url
    elif backend == "postgresql":
        with _postgresql_role(database_url, checked, schema or "public") as url:
            yield url
    elif backend in ("mysql", "mariadb"):
        with _mariadb_user(database_url, checked) as url:
            yield url
    else:
        raise ValueError(f"no restricted users on {backend}")


# -- SQLite ---------------------------------------------------------------------------------


@contextlib.contextmanager
def _sqlite_read_only(database_url: str, grants: dict[str, frozenset[str]]) -> Iterator[str]:
    writes = {table: sorted(actions - {"SELECT"}) for table, actions in grants.items() if actions - {"SELECT"}}
    if writes:
        raise ValueError(f"SQLite has no users: a restricted URL is read-only, it cannot grant {writes}")
    path = make_url(database_url).database
    if not path or path == ":memory:":
        raise ValueError("a read-only SQLite URL needs a database file")
    yield f"sqlite:///file:{path}?mode=ro&uri=true"


# -- PostgreSQL ---------------------------------------------------------------------------


def _pg_grant_statements(
    admin: Engine, role: str, database: str, schema: str, grants: dict[str, frozenset[str]]
) -> list[str]:
    quote = admin.dialect.identifier_preparer.quote
    statements = [
        f"GRANT CONNECT ON DATABASE {quote(database)} TO {role}",
        f"GRANT USAGE ON SCHEMA {quote(schema)} TO {role}",
    ]
    for table, actions in grants.items():
        listed = ", ".join(sorted(actions))
        if table == ALL_TABLES:
            statements.append(f"GRANT {listed} ON ALL TABLES IN SCHEMA {quote(schema)} TO {role}")
            if "INSERT" in actions:
                statements.append(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA {quote(schema)} TO {role}")
            continue
        statements.append(f"GRANT {listed} ON TABLE {quote(schema)}.{quote(table)} TO {role}")
    return statements


def _pg_owned_sequences(admin: Engine, schema: str, table: str) -> list[tuple[str, str]]:
    # serial columns own their sequence ('a'), identity columns depend on it internally ('i').
    with admin.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT sn.nspname, s.relname FROM pg_class s "
                "JOIN pg_namespace sn ON sn.oid = s.relnamespace "
                "JOIN pg_depend d ON d.objid = s.oid AND d.classid = 'pg_class'::regclass "
                "JOIN pg_class t ON t.oid = d.refobjid "
                "JOIN pg_namespace tn ON tn.oid = t.relnamespace "
                "WHERE s.relkind = 'S' AND d.deptype IN ('a', 'i') AND tn.nspname = :schema AND t.relname = :table"
            ),
            {"schema": schema, "table": table},
        ).all()
    return [(str(r[0]), str(r[1])) for r in rows]


@contextlib.contextmanager
def _postgresql_role(database_url: str, grants: dict[str, frozenset[str]], schema: str) -> Iterator[str]:
    url = make_url(database_url)
    database = url.database
    assert database, "a PostgreSQL URL names its database"
    name = f"dash_role_{uuid.uuid4().hex[:16]}"
    password = secrets.token_hex(16)
    admin = _admin_engine(database_url)
    quote = admin.dialect.identifier_preparer.quote
    role = quote(name)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
        try:
            statements = _pg_grant_statements(admin, role, database, schema, grants)
            for table, actions in grants.items():
                if table != ALL_TABLES and "INSERT" in actions:
                    statements += [
                        f"GRANT USAGE ON SEQUENCE {quote(s)}.{quote(n)} TO {role}"
                        for s, n in _pg_owned_sequences(admin, schema, table)
                    ]
            with admin.connect() as connection:
                for statement in statements:
                    connection.exec_driver_sql(statement)
            yield url.set(username=name, password=password).render_as_string(hide_password=False)
        finally:
            _drop_postgresql_role(admin, name)
    finally:
        admin.dispose()


def _drop_postgresql_role(admin: Engine, name: str) -> None:
    role = admin.dialect.identifier_preparer.quote(name)
    # A database torn down before the role may still be queued for dropping, and its grants
    # to the role would keep DROP ROLE from succeeding.
    finish_drops()
    # The test's database may already be gone (fixtures torn down in another order): the
    # role is then dropped from the maintenance database, its grants having gone with it.
    with contextlib.suppress(Exception), admin.connect() as connection:
        connection.execute(
            text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :name"), {"name": name}
        )
        # Revokes every grant the role holds in this database.
        connection.exec_driver_sql(f"DROP OWNED BY {role}")
    maintenance = _admin_engine(admin.url.set(database="postgres").render_as_string(hide_password=False))
    try:
        with maintenance.connect() as connection:
            connection.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :name"), {"name": name}
            )
            connection.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
    finally:
        maintenance.dispose()


# -- MariaDB / MySQL ------------------------------------------------------------------------

# A client on the same machine may be matched as 'localhost' rather than by address.
_MARIADB_HOSTS = ("%", "localhost")


@contextlib.contextmanager
def _mariadb_user(database_url: str, grants: dict[str, frozenset[str]]) -> Iterator[str]:
    url = make_url(database_url)
    database = url.database
    assert database, "a MariaDB URL names its database"
    name = f"dash_{uuid.uuid4().hex[:16]}"
    password = secrets.token_hex(16)
    # Connected to no database, so the user can be dropped after the test's database.
    serverwide = URL.create(url.drivername, url.username, url.password, url.host, url.port, query=url.query)
    admin = _admin_engine(serverwide.render_as_string(hide_password=False))
    quote = admin.dialect.identifier_preparer.quote
    # User, host and password go as bound literals: PyMySQL would read the host '%' as a
    # format character in a plain string.
    accounts = [{"user": name, "host": host} for host in _MARIADB_HOSTS]
    try:
        try:
            with admin.connect() as connection:
                for account in accounts:
                    connection.execute(
                        text("CREATE USER :user@:host IDENTIFIED BY :password"), {**account, "password": password}
                    )
                for table, actions in grants.items():
                    target = f"{quote(database)}.*" if table == ALL_TABLES else f"{quote(database)}.{quote(table)}"
                    listed = ", ".join(sorted(actions))
                    for account in accounts:
                        connection.execute(text(f"GRANT {listed} ON {target} TO :user@:host"), account)
            yield url.set(username=name, password=password).render_as_string(hide_password=False)
        finally:
            _drop_mariadb_user(admin, name, accounts)
    finally:
        admin.dispose()


def _drop_mariadb_user(admin: Engine, name: str, accounts: list[dict[str, str]]) -> None:
    with admin.connect() as connection:
        processes = (
            connection.execute(text("SELECT id FROM information_schema.processlist WHERE user = :name"), {"name": name})
            .scalars()
            .all()
        )
        for process_id in processes:
            with contextlib.suppress(Exception):  # it may have ended by itself meanwhile
                connection.exec_driver_sql(f"KILL CONNECTION {int(process_id)}")
        for account in accounts:
            connection.execute(text("DROP USER IF EXISTS :user@:host"), account)


# -- fixture --------------------------------------------------------------------------------


@pytest.fixture
def restricted() -> Iterator[Callable[..., str]]:
    """Factory: ``restricted(database_url, grants, schema=None)`` -> a URL connecting as a
    new user holding only ``grants`` (see :func:`restricted_url`); every user made is
    dropped when the test ends."""
    with contextlib.ExitStack() as stack:

        def make(database_url: str, grants: Mapping[str, Iterable[str]], *, schema: str | None = None) -> str:
            return stack.enter_context(restricted_url(database_url, grants, schema=schema))

        yield make
