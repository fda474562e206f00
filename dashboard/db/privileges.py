"""What the connected database user may do with each relation: SELECT, INSERT, UPDATE, DELETE.

This module imports no Flask. It asks the database once per schema at start, in bulk, so a
least-privilege user (the ``reader@db`` of a deployment) gets a dashboard that lists what
it may not read as such and never queries it, and offers no write the database would
refuse:

- PostgreSQL: ``has_table_privilege`` for every relation of the schema, and
  ``has_schema_privilege(..., 'USAGE')`` (without it nothing in the schema can be read).
  Membership in roles is followed by the server itself.
- MySQL/MariaDB: the user's own grants from ``information_schema`` (``USER_PRIVILEGES``,
  ``SCHEMA_PRIVILEGES``, ``TABLE_PRIVILEGES``), plus the grants of an enabled role and of
  ``PUBLIC``, read from ``SHOW GRANTS`` (``information_schema`` lists only the user's own).
  A table the user holds no privilege on at all is not even listed by the server, so
  reflection never sees it.
- SQLite: a file opened read-only (``mode=ro``, ``immutable=1``), a connection with
  ``PRAGMA query_only``, or a file (or folder) the process may not write: SELECT only.

Column-level grants (PostgreSQL ``GRANT SELECT (a, b)``, MySQL column privileges) do not
count as the table privilege: a relation readable only in part is served as not readable.
When the probe itself fails, every relation keeps every privilege (the behaviour before
the probe) and the failure is logged: the database still refuses what it refuses.
"""

from __future__ import annotations

import logging
import os
import re
import typing as t

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from dashboard.db.errors import Kind, classify
from dashboard.messages import N_, Message

log = logging.getLogger(__name__)

#: The table privileges the dashboard asks about, in the order it names them.
ACTIONS: tuple[str, ...] = ("SELECT", "INSERT", "UPDATE", "DELETE")
ALL = frozenset(ACTIONS)
WRITES = frozenset({"INSERT", "UPDATE", "DELETE"})

NOT_READABLE = N_("Not readable by this database user.")
READ_ONLY_USER = N_("Read-only: this database user may not insert, update or delete.")
MISSING_WRITES = N_("Partly read-only: this database user lacks %(privileges)s on it.")
REFUSED = N_("Read-only: this database user lacks the %(privilege)s privilege on %(table)s. Nothing was changed.")
NOT_POPULATED = N_("Not populated yet: it has no rows until its owner runs REFRESH MATERIALIZED VIEW.")
MATERIALIZED_VIEW = N_(
    "This is a materialized view: it is served read-only, with the rows of its last REFRESH "
    "MATERIALIZED VIEW. Refreshing it is for its owner to do; the dashboard never does."
)


def probe(engine: Engine, schema: str | None, names: t.Iterable[str]) -> dict[str, frozenset[str]]:
    """The privileges of the connected user on each relation ``names`` of ``schema``.

    One query for the schema (two on MySQL/MariaDB), never one per relation.

    :param schema: the schema as reflected (``None``: the connection's default schema).
    :param names: the relations to answer for; each gets an entry.
    """
    wanted = list(names)
    if not wanted:
        return {}
    try:
        if engine.dialect.name == "postgresql":
            found = _postgresql(engine, schema)
        elif engine.dialect.name in ("mysql", "mariadb"):
            found = _mysql(engine, schema, wanted)
        elif engine.dialect.name == "sqlite":
            found = dict.fromkeys(wanted, _sqlite(engine))
        else:
            return dict.fromkeys(wanted, ALL)
    except SQLAlchemyError as exc:
        log.warning(
            "could not read this database user's privileges on schema %s; assuming all: %s", schema or "(default)", exc
        )
        return dict.fromkeys(wanted, ALL)
    return {name: found.get(name, frozenset()) for name in wanted}


def notice(privileges: frozenset[str]) -> Message | None:
    """What an operator should know about ``privileges``, or ``None`` when they are all there."""
    if "SELECT" not in privileges:
        return Message(NOT_READABLE)
    missing = [action for action in ACTIONS if action in WRITES and action not in privileges]
    if len(missing) == len(WRITES):
        return Message(READ_ONLY_USER)
    if missing:
        return Message(MISSING_WRITES, privileges=", ".join(missing))
    return None


def reflect(engine: Engine, schema: str | None) -> sa.MetaData:
    """Reflect every table and view of ``schema`` that the database user can describe.

    In bulk, as ``MetaData.reflect`` does. MySQL/MariaDB describe a view to a user only with
    the ``SHOW VIEW`` privilege, which ``GRANT SELECT`` does not give, and then the bulk
    reflection fails as a whole: the tables are reflected in bulk, each view on its own,
    and a view the user may not describe gets its columns from ``information_schema``.
    """
    metadata = sa.MetaData()
    try:
        metadata.reflect(bind=engine, schema=schema, views=True, resolve_fks=False)
        return metadata
    except DBAPIError as exc:
        if engine.dialect.name not in ("mysql", "mariadb") or classify(exc).kind is not Kind.PERMISSION:
            raise
        log.info("reflecting the views of %s one by one: %s", schema or "(default)", exc.orig)
    metadata = sa.MetaData()
    inspector = sa.inspect(engine)
    metadata.reflect(bind=engine, schema=schema, only=inspector.get_table_names(schema=schema), resolve_fks=False)
    for name in inspector.get_view_names(schema=schema):
        try:
            sa.Table(name, metadata, schema=schema, autoload_with=engine, resolve_fks=False)
        except DBAPIError as exc:
            if classify(exc).kind is not Kind.PERMISSION:
                raise
            _mysql_view_from_columns(engine, metadata, schema, name)
    return metadata


# -- PostgreSQL -----------------------------------------------------------------------------

_PG_PRIVILEGES = sa.text(
    "SELECT c.relname, has_schema_privilege(n.oid, 'USAGE') AS usage, "
    "has_table_privilege(c.oid, 'SELECT') AS s, has_table_privilege(c.oid, 'INSERT') AS i, "
    "has_table_privilege(c.oid, 'UPDATE') AS u, has_table_privilege(c.oid, 'DELETE') AS d "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = COALESCE(:schema, current_schema()) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"
)


def _postgresql(engine: Engine, schema: str | None) -> dict[str, frozenset[str]]:
    found: dict[str, frozenset[str]] = {}
    with engine.connect() as connection:
        for name, usage, *granted in connection.execute(_PG_PRIVILEGES, {"schema": schema}):
            held = {action for action, has in zip(ACTIONS, granted, strict=True) if has}
            found[str(name)] = frozenset(held) if usage else frozenset()
    return found


def materialized_views(engine: Engine, schema: str | None) -> dict[str, bool]:
    """PostgreSQL's materialized views of ``schema``: name -> whether it holds data now."""
    if engine.dialect.name != "postgresql":
        return {}
    statement = sa.text(
        "SELECT matviewname, ispopulated FROM pg_matviews WHERE schemaname = COALESCE(:schema, current_schema())"
    )
    with engine.connect() as connection:
        return {str(name): bool(populated) for name, populated in connection.execute(statement, {"schema": schema})}


# -- MySQL / MariaDB ------------------------------------------------------------------------

# The user's own grants; information_schema names the grantee 'user'@'host', CURRENT_USER()
# says user@host.
_MYSQL_PRIVILEGES = sa.text(
    "SELECT p.pattern, p.name, p.privilege FROM ("
    " SELECT GRANTEE AS grantee, NULL AS pattern, NULL AS name, PRIVILEGE_TYPE AS privilege"
    " FROM information_schema.USER_PRIVILEGES"
    " UNION ALL SELECT GRANTEE, TABLE_SCHEMA, NULL, PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES"
    " UNION ALL SELECT GRANTEE, NULL, TABLE_NAME, PRIVILEGE_TYPE FROM information_schema.TABLE_PRIVILEGES"
    " WHERE TABLE_SCHEMA = :schema"
    ") AS p WHERE p.grantee = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''',"
    " SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')"
)
_BACKTICKED = r"`(?:[^`]|``)*`"
# GRANT <privileges> ON [TABLE] <db|*>.<table|*> TO <grantee>: one line of SHOW GRANTS.
_GRANT_LINE = re.compile(
    rf"^GRANT (?P<privileges>.+?) ON (?:TABLE )?(?P<db>{_BACKTICKED}|\*)\.(?P<table>{_BACKTICKED}|\*) TO (?P<to>.+)$",
    re.DOTALL,
)


def _mysql_view_from_columns(engine: Engine, metadata: sa.MetaData, schema: str | None, name: str) -> None:
    statement = sa.text(
        "SELECT COLUMN_NAME, DATA_TYPE, IS_NULLABLE FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = COALESCE(:schema, DATABASE()) AND TABLE_NAME = :name ORDER BY ORDINAL_POSITION"
    )
    with engine.connect() as connection:
        rows = connection.execute(statement, {"schema": schema, "name": name}).all()
    columns = []
    for column_name, data_type, nullable in rows:
        type_class = engine.dialect.ischema_names.get(str(data_type).lower())  # type: ignore[attr-defined]
        # An ENUM or SET without its values cannot be built; its values show as text.
        column_type = sa.String() if type_class is None or str(data_type).lower() in ("enum", "set") else type_class()
        columns.append(sa.Column(str(column_name), column_type, nullable=nullable == "YES"))
    sa.Table(name, metadata, *columns, schema=schema)


def _mysql(engine: Engine, schema: str | None, names: list[str]) -> dict[str, frozenset[str]]:
    held: dict[str | None, set[str]] = {}  # table name (None: every table) -> privileges
    with engine.connect() as connection:
        database = schema or connection.execute(sa.text("SELECT DATABASE()")).scalar()
        user = connection.execute(sa.text("SELECT CURRENT_USER()")).scalar()
        for pattern, name, privilege in connection.execute(_MYSQL_PRIVILEGES, {"schema": database}):
            if pattern is not None and not _schema_matches(str(pattern), str(database)):
                continue
            held.setdefault(None if name is None else str(name), set()).update(_mysql_actions(str(privilege)))
        # Grants of the enabled roles and of PUBLIC are not in information_schema; SHOW GRANTS
        # lists them with the user's own, which the lines addressed to the user repeat.
        for (line,) in connection.exec_driver_sql("SHOW GRANTS"):
            _add_grant_line(held, str(line), str(database), str(user or ""))
    every = held.get(None, set())
    return {name: frozenset(every | held.get(name, set())) & ALL for name in names}


def _schema_matches(pattern: str, database: str) -> bool:
    # A schema-level grant names a LIKE pattern: _ and % are wildcards, \ escapes them.
    translated = re.sub(
        r"\\(.)|(%)|(_)|([^\\%_]+)",
        lambda m: (
            re.escape(m.group(1))
            if m.group(1) is not None
            else ".*"
            if m.group(2)
            else "."
            if m.group(3)
            else re.escape(m.group(4))
        ),
        pattern,
    )
    return re.fullmatch(translated, database, re.DOTALL | re.IGNORECASE) is not None


def _mysql_actions(privilege: str) -> set[str]:
    privilege = privilege.strip().upper()
    if privilege in ("ALL", "ALL PRIVILEGES"):
        return set(ALL)
    return {privilege} & ALL


def _unquote(identifier: str) -> str | None:
    return None if identifier == "*" else identifier[1:-1].replace("``", "`")


def _add_grant_line(held: dict[str | None, set[str]], line: str, database: str, user: str) -> None:
    match = _GRANT_LINE.match(line)
    if match is None:
        return
    grantee = match.group("to").split(" IDENTIFIED ", 1)[0].split(" WITH ", 1)[0].strip()
    if grantee.replace("`", "").replace("'", "") == user:
        return  # the user's own grants: already read from information_schema
    db, table = _unquote(match.group("db")), _unquote(match.group("table"))
    if db is not None and not _schema_matches(db, database):
        return
    actions: set[str] = set()
    # "SELECT, SELECT (`a`), UPDATE (`b`, `c`)": column grants in parentheses do not count.
    for part in re.sub(r"\((?:[^()`]|`(?:[^`]|``)*`)*\)", "(columns)", match.group("privileges")).split(","):
        if "(columns)" not in part:
            actions |= _mysql_actions(part)
    held.setdefault(None if db is None or table is None else table, set()).update(actions)


# -- SQLite ---------------------------------------------------------------------------------


def _sqlite(engine: Engine) -> frozenset[str]:
    url = engine.url
    database = url.database or ""
    query = {key: value for key, value in url.query.items() if isinstance(value, str)}
    path = database
    if database.startswith("file:"):
        # file:path?mode=ro -- URI parameters may sit in the file name or the URL's query.
        path, _, inline = database[len("file:") :].partition("?")
        query.update(dict(part.partition("=")[::2] for part in inline.split("&") if part))
    if query.get("mode") == "ro" or query.get("immutable") == "1":
        return frozenset({"SELECT"})
    with engine.connect() as connection:
        if connection.exec_driver_sql("PRAGMA query_only").scalar():
            return frozenset({"SELECT"})
    if path and path != ":memory:" and query.get("mode") != "memory" and os.path.exists(path):
        folder = os.path.dirname(os.path.abspath(path))
        # Writing needs the file, and the folder for the rollback journal or the WAL files.
        if not os.access(path, os.W_OK) or not os.access(folder, os.W_OK):
            return frozenset({"SELECT"})
    return ALL
