"""Writing the demo shop into an empty database: the schema of :mod:`.schema`, then the
rows of :mod:`.data` through each driver's fastest bulk path (``executemany`` in one
transaction for SQLite and MySQL/MariaDB, ``COPY`` for PostgreSQL), never the ORM."""

from __future__ import annotations

import typing as t
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import (
    ForeignKeyConstraint,
    MetaData,
    Table,
    inspect,
    make_url,
    text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.schema import AddConstraint, CreateTable

from dashboard.db.demo.data import Batch, Shop
from dashboard.db.demo.schema import build_metadata, view_sql
from dashboard.db.engine import DatabaseUnavailable, make_engine
from dashboard.db.errors import first_line
from dashboard.messages import N_, Message


class DemoError(Exception):
    """The demo database cannot be written; the message says why."""


class DemoTargetNotEmpty(DemoError):
    """The target database already holds tables or views; the demo only fills empty ones."""


# --------------------------------------------------------------------------- loading


def _insert_sql(engine: Engine, table: Table, placeholder: str) -> str:
    q = engine.dialect.identifier_preparer.quote
    columns = ", ".join(q(column.name) for column in table.columns)
    values = ", ".join([placeholder] * len(table.columns))
    return f"INSERT INTO {q(table.name)} ({columns}) VALUES ({values})"  # nosec B608 -- quoted demo names, values bound


def _defers_foreign_keys(connection: Connection) -> bool:
    # PostgreSQL checks foreign keys per row through triggers, which more than doubles the
    # COPY time; one ALTER TABLE after the load checks them all at once instead. SQLite
    # cannot add constraints later, and MySQL would rebuild the table, so both get theirs
    # up front and skip the checks during the load instead.
    return connection.dialect.name == "postgresql"


def _create_tables(connection: Connection, metadata: MetaData) -> None:
    """Like ``metadata.create_all`` minus what is faster to add after the load, plus the view.

    Building an index once from the finished table is about three times faster than
    updating it row by row; :func:`_complete_tables` adds the indexes (and, on PostgreSQL,
    the foreign keys) afterwards.
    """
    foreign_keys: list[ForeignKeyConstraint] | None = None  # None: all of them
    if _defers_foreign_keys(connection):
        foreign_keys = []
    for table in metadata.sorted_tables:
        connection.execute(CreateTable(table, include_foreign_key_constraints=foreign_keys))
    connection.execute(text(view_sql(connection.engine)))


def _complete_tables(connection: Connection, metadata: MetaData) -> None:
    """Add what :func:`_create_tables` left out, then refresh the planner statistics."""
    for table in metadata.sorted_tables:
        for index in sorted(table.indexes, key=lambda index: str(index.name)):
            index.create(connection)
    if _defers_foreign_keys(connection):
        for table in metadata.sorted_tables:
            constraints = sorted(table.foreign_key_constraints, key=lambda c: tuple(c.column_keys))
            for constraint in constraints:
                connection.execute(AddConstraint(constraint))
    if connection.dialect.name in ("sqlite", "postgresql"):
        # Fresh statistics let the planner use the indexes from the first page view on
        # (SQLite has none until ANALYZE runs; InnoDB gathers its own).
        connection.execute(text("ANALYZE"))


def _load_sqlite(engine: Engine, batches: t.Iterable[Batch]) -> None:
    raw = engine.raw_connection()
    try:
        connection = raw.driver_connection
        if connection is None:
            raise DemoError(Message(N_("the SQLite connection closed before the demo could be written")))
        cursor = connection.cursor()
        # Crash safety is pointless for a file we are creating from scratch; these settings
        # live on this connection only and the engine is disposed after the build.
        # foreign_keys/ignore_check_constraints: the rows are valid by construction, and
        # SQLite re-evaluates "status IN (...)" from scratch for every row (3x slower load).
        for pragma in (
            "journal_mode=OFF",
            "synchronous=OFF",
            "foreign_keys=OFF",
            "ignore_check_constraints=ON",
            "cache_size=-65536",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        statements: dict[str, str] = {}
        for table, rows in batches:
            sql = statements.setdefault(table.name, _insert_sql(engine, table, "?"))
            cursor.executemany(sql, rows)  # the first INSERT opens the one transaction
        connection.commit()
        cursor.close()
    finally:
        raw.close()


def _load_postgresql(engine: Engine, batches: t.Iterable[Batch]) -> None:
    q = engine.dialect.identifier_preparer.quote
    raw = engine.raw_connection()
    try:
        connection = t.cast(t.Any, raw.driver_connection)  # a psycopg.Connection
        with connection.cursor() as cursor:
            tables: dict[str, Table] = {}
            for table, rows in batches:
                tables[table.name] = table
                columns = ", ".join(q(column.name) for column in table.columns)
                with cursor.copy(f"COPY {q(table.name)} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            # COPY wrote explicit ids without touching the sequences; move them past the
            # data so that the next INSERT through the app does not collide with row 1.
            for table in tables.values():
                column = table.autoincrement_column
                if column is None:
                    continue
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence(%s, %s), "  # nosec B608 -- quoted demo names, values bound
                    f"(SELECT max({q(column.name)}) FROM {q(table.name)}))",
                    (q(table.name), column.name),
                )
        connection.commit()
    finally:
        raw.close()


def _load_mysql(engine: Engine, batches: t.Iterable[Batch]) -> None:
    raw = engine.raw_connection()
    try:
        connection = t.cast(t.Any, raw.driver_connection)  # a pymysql.Connection
        with connection.cursor() as cursor:
            # Session-only and on the demo's own connection: the data is consistent by
            # construction, so per-row foreign key lookups would only slow the load down.
            cursor.execute("SET SESSION foreign_key_checks = 0")
            statements: dict[str, str] = {}
            for table, rows in batches:
                sql = statements.setdefault(table.name, _insert_sql(engine, table, "%s"))
                # PyMySQL turns this into multi-row INSERT ... VALUES statements.
                cursor.executemany(sql, rows)
            connection.commit()
            cursor.execute("SET SESSION foreign_key_checks = 1")
    finally:
        raw.close()


_Loader = t.Callable[[Engine, t.Iterable[Batch]], None]
# Keyed by dialect name; "mariadb" is what SQLAlchemy calls a mariadb:// URL's dialect.
_LOADERS: dict[str, _Loader] = {
    "sqlite": _load_sqlite,
    "postgresql": _load_postgresql,
    "mysql": _load_mysql,
    "mariadb": _load_mysql,
}


# --------------------------------------------------------------------------- public API


def sqlite_file(database_url: str) -> Path | None:
    """The file a ``sqlite://`` URL points at, or None (other databases, memory, bad URL)."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        return None
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    if url.query.get("uri") or url.database.startswith("file:"):
        return None  # URI filenames carry their own options; do not guess the path
    return Path(url.database)


def _create_sqlite_file(database_url: str) -> Path | None:
    """Create the missing SQLite file the URL names; return it, or None if nothing was made.

    :func:`dashboard.db.engine.make_engine` refuses missing files (a typo must not conjure
    an empty database), but writing a new file is the whole point here.
    """
    path = sqlite_file(database_url)
    if path is None or path.exists():
        return None
    if not path.parent.is_dir():
        raise DemoError(Message(N_("the folder %(path)s does not exist"), path=str(path.parent)))
    try:
        path.open("xb").close()
    except FileExistsError:
        return None  # created meanwhile by someone else: theirs, not ours
    except OSError as exc:
        raise DemoError(
            Message(N_("cannot create %(path)s: %(reason)s"), path=str(path), reason=exc.strerror)
        ) from None
    return path


def _open(database_url: str) -> Engine:
    created = _create_sqlite_file(database_url)
    try:
        return make_engine(database_url)
    except DatabaseUnavailable as exc:
        if created is not None:
            created.unlink(missing_ok=True)  # the empty file this call made, nothing else
        raise DemoError(exc.args[0] if exc.args else str(exc)) from None


def _existing_names(engine: Engine) -> list[str]:
    try:
        inspector = inspect(engine)
        return sorted(inspector.get_table_names()) + sorted(inspector.get_view_names())
    except SQLAlchemyError as exc:
        where = engine.url.render_as_string(hide_password=True)
        raise DemoError(
            Message(
                N_("cannot read the list of tables of %(where)s: %(reason)s"),
                where=where,
                reason=first_line(exc, limit=1000),
            )
        ) from None


def write_demo_database(database_url: str, rows: int = 10_000, *, seed: int = 0) -> dict[str, int]:
    """Create the demo schema in an EMPTY database and fill it; return row counts per table.

    Sizes follow from ``rows`` (see :func:`demo_sizes`); the data depends only on ``seed``
    and today's date (UTC).

    :param database_url: any SQLAlchemy URL; SQLite, PostgreSQL (psycopg) and MySQL/MariaDB
        (PyMySQL) use their fastest bulk-load path. A missing SQLite file is created.
    :param rows: the number of orders, at least 1.
    :param seed: seed of the random generator.
    :returns: ``{table name: rows written}`` for the seven tables, in load order.
    :raises DemoTargetNotEmpty: if the database already has tables or views.
    :raises DemoError: if the database cannot be reached or the load fails.
    """
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1:
        raise DemoError(Message(N_("rows must be a positive whole number, not %(rows)s"), rows=repr(rows)))
    engine = _open(database_url)
    sqlite_path = sqlite_file(database_url)
    where = str(sqlite_path) if sqlite_path else engine.url.render_as_string(hide_password=True)
    try:
        backend = engine.dialect.name
        if backend not in _LOADERS:
            raise DemoError(
                Message(N_("the demo supports SQLite, PostgreSQL and MySQL/MariaDB, not %(backend)s"), backend=backend)
            )
        existing = _existing_names(engine)
        if existing:
            shown = ", ".join(existing[:5]) + (", ..." if len(existing) > 5 else "")
            raise DemoTargetNotEmpty(
                Message(
                    N_(
                        "%(where)s already contains %(count)s table(s) or view(s) (%(names)s); "
                        "the demo only writes into an empty database"
                    ),
                    where=where,
                    count=len(existing),
                    names=shown,
                )
            )
        metadata = build_metadata()
        shop = Shop(dict(metadata.tables), rows, seed, datetime.now(UTC).date())
        try:
            with engine.begin() as connection:
                _create_tables(connection, metadata)
            _LOADERS[backend](engine, shop.batches())
            with engine.begin() as connection:
                _complete_tables(connection, metadata)
        except (SQLAlchemyError, engine.dialect.loaded_dbapi.Error) as exc:
            # The loaders use the driver directly, so its own exceptions arrive unwrapped.
            raise DemoError(
                Message(
                    N_(
                        "writing the demo into %(where)s failed: %(reason)s. It may hold a partial "
                        "demo now; drop its tables (or delete the SQLite file) before trying again."
                    ),
                    where=where,
                    reason=first_line(exc, limit=1000),
                )
            ) from None
        return shop.counts
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- SQLite files

# The first 16 bytes of every SQLite 3 database file.
_SQLITE_HEADER = b"SQLite format 3\x00"
# Files SQLite keeps beside a database; a stale -wal next to a new file would corrupt it.

_SQLITE_SIDECARS = ("-journal", "-wal", "-shm")


def is_sqlite_file(path: Path) -> bool:
    # A zero-byte file is what SQLite itself leaves before the first write.
    if path.stat().st_size == 0:
        return True
    with path.open("rb") as handle:
        return handle.read(len(_SQLITE_HEADER)) == _SQLITE_HEADER


def replace_sqlite_file(path: Path) -> None:
    """Delete the SQLite database ``path`` (and its journal files) so it can be rewritten."""
    if not path.exists() and not path.is_symlink():
        return
    if path.is_symlink() or not path.is_file():
        raise DemoError(Message(N_("%(path)s is not a regular file; refusing to replace it"), path=str(path)))
    if not is_sqlite_file(path):
        raise DemoError(Message(N_("%(path)s is not a SQLite database; refusing to replace it"), path=str(path)))
    for suffix in _SQLITE_SIDECARS:
        sidecar = path.with_name(path.name + suffix)
        if sidecar.is_file() and not sidecar.is_symlink():
            sidecar.unlink()
    path.unlink()
