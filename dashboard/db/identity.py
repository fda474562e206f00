"""Whether two engines reach the same database, as the servers themselves tell it.

URL text cannot tell: ``localhost`` and ``127.0.0.1``, ``postgresql://`` and
``postgresql+psycopg://``, a port written out or left to its default, a relative and an
absolute path to one SQLite file (or a symlink to it) all reach the same database. So each
server is asked what it is (:func:`database_identity`) and the answers are compared
(:func:`same_database`):

- PostgreSQL: the database's name, the server's port and start time, and the cluster's
  ``system_identifier`` where the role may call ``pg_control_system()``.
- MariaDB/MySQL: the server's host name and port and the current database, and
  ``@@server_uuid`` where it exists (MySQL; MariaDB has none).
- SQLite: the file itself (device and inode, as :func:`os.path.samefile` compares them);
  an in-memory database is never the same as another.
- Different dialects are never the same database.
"""

from __future__ import annotations

import logging
import os
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

#: Dialects that speak to the same kind of server: a ``mariadb://`` and a ``mysql://`` URL
#: may reach one server.
_FAMILIES = {"mariadb": "mysql"}


@dataclass(frozen=True)
class DatabaseIdentity:
    """What a server said about the database an engine reaches."""

    #: ``sqlite``, ``postgresql``, ``mysql`` (MariaDB too) or another dialect's name.
    family: str
    #: Fact name -> value; two identities are compared on the facts both hold.
    facts: dict[str, t.Any] = field(default_factory=dict)


def same_database(first: Engine, second: Engine) -> bool:
    """Whether ``first`` and ``second`` reach the same database.

    Only engines of one dialect family are connected to; an in-memory SQLite database is
    the same as nothing.

    :raises sqlalchemy.exc.SQLAlchemyError: when a server cannot be asked (the caller
        decides what to do without an answer).
    """
    if _family(first) != _family(second):
        return False
    one, other = database_identity(first), database_identity(second)
    shared = one.facts.keys() & other.facts.keys()
    return bool(shared) and all(one.facts[name] == other.facts[name] for name in shared)


def database_identity(engine: Engine) -> DatabaseIdentity:
    """What the server behind ``engine`` says it and its database are.

    :raises sqlalchemy.exc.SQLAlchemyError: when the server cannot be asked.
    """
    family = _family(engine)
    if family == "sqlite":
        return DatabaseIdentity(family, _sqlite_facts(engine))
    with engine.connect() as connection:
        if family == "postgresql":
            return DatabaseIdentity(family, _postgresql_facts(connection))
        if family == "mysql":
            return DatabaseIdentity(family, _mysql_facts(connection))
    # No question to ask this dialect: the URL is all there is to compare.
    url = engine.url
    return DatabaseIdentity(family, {"url": (url.host, url.port, url.database)})


def _family(engine: Engine) -> str:
    name = engine.url.get_backend_name()
    return _FAMILIES.get(name, name)


def _sqlite_facts(engine: Engine) -> dict[str, t.Any]:
    path = _sqlite_path(engine)
    if path is None:
        # Every in-memory database is a database of its own.
        return {"memory": object()}
    try:
        found = os.stat(path)
    except OSError:
        # No file yet: it is created on first connection, and can only be this path.
        return {"path": str(Path(path).resolve())}
    return {"file": (found.st_dev, found.st_ino)}


def _sqlite_path(engine: Engine) -> str | None:
    """The file an SQLite engine opens, or ``None`` for an in-memory database."""
    url = engine.url
    path = url.database or ""
    if url.query.get("uri") in ("true", "1") and path.startswith("file:"):
        # sqlite:///file:PATH?mode=ro&uri=true, as a read-only URL is written.
        path, _, options = path.removeprefix("file:").partition("?")
        if "mode=memory" in options.split("&"):
            return None
    return None if path in ("", ":memory:") else path


def _postgresql_facts(connection: Connection) -> dict[str, t.Any]:
    # One server (port and start time) and one database on it, whatever the URL's host says.
    database, port, started = connection.exec_driver_sql(
        "SELECT current_database(), current_setting('port'), pg_postmaster_start_time()"
    ).one()
    facts = {"database": database, "port": port, "started": started}
    system = _optional(connection, "SELECT system_identifier FROM pg_control_system()")
    if system is not None:
        facts["system"] = system
    return facts


def _mysql_facts(connection: Connection) -> dict[str, t.Any]:
    host, port, database = connection.exec_driver_sql("SELECT @@hostname, @@port, database()").one()
    facts = {"host": host, "port": int(port), "database": database}
    server = _optional(connection, "SELECT @@server_uuid")  # MySQL only: MariaDB has none
    if server is not None:
        facts["server"] = server
    return facts


def _optional(connection: Connection, query: str) -> t.Any:
    """The one value ``query`` reads, or ``None`` where this server or role may not read it."""
    try:
        # In a savepoint: a refused statement would end a PostgreSQL transaction.
        with connection.begin_nested():
            return connection.exec_driver_sql(query).scalar()
    except DBAPIError as exc:
        log.debug("%s not answered, compared without it: %s", query, exc.orig)
        return None
