"""Statements the state database (:mod:`dashboard.statedb`) needs written per dialect, and the
upgrade of a state database made by an older version.

Imports nothing of the package: :mod:`dashboard.statedb` and the modules beside it use it.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)


def insert_unless_present(engine: Engine, table: sa.Table, values: dict[str, object]) -> sa.Executable:
    """``INSERT`` of ``values`` that does nothing when the row's key is taken, without an
    error that would end a PostgreSQL transaction or fill its log."""
    name = engine.dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects import postgresql

        return postgresql.insert(table).values(values).on_conflict_do_nothing()
    if name == "sqlite":
        from sqlalchemy.dialects import sqlite

        return sqlite.insert(table).values(values).on_conflict_do_nothing()
    if name in ("mysql", "mariadb"):
        return table.insert().values(values).prefix_with("IGNORE")
    return table.insert().values(values)  # elsewhere a taken key raises IntegrityError


def add_missing_columns(engine: Engine, *tables: sa.Table) -> list[str]:
    """Add the columns of each of ``tables`` that its database table lacks, each with ``ALTER TABLE``.

    A state database made by an older version keeps its tables (``create_all`` adds only
    missing tables); a column added since must be nullable or have a ``server_default``.
    Several workers may start at once: a column another one added meanwhile is not an error.

    :returns: the names of the columns added (``table.column``).
    """
    return [f"{table.name}.{name}" for table in tables for name in _add_missing_columns(engine, table)]


def _add_missing_columns(engine: Engine, table: sa.Table) -> list[str]:
    present = {column["name"] for column in sa.inspect(engine).get_columns(table.name)}
    missing = [column for column in table.columns if column.name not in present]
    preparer = engine.dialect.identifier_preparer
    added = []
    for column in missing:
        ddl = sa.schema.CreateColumn(column).compile(dialect=engine.dialect)
        try:
            with engine.begin() as connection:
                connection.exec_driver_sql(f"ALTER TABLE {preparer.format_table(table)} ADD COLUMN {ddl}")
        except DBAPIError as exc:
            if column.name not in {c["name"] for c in sa.inspect(engine).get_columns(table.name)}:
                raise
            log.debug("column %s.%s added by another process: %s", table.name, column.name, exc)
            continue
        log.info("state database upgraded: column %s.%s added", table.name, column.name)
        added.append(column.name)
    return added
