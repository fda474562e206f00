"""How many rows a relation has, cheaply: the database's own estimate where it keeps one."""

from __future__ import annotations

import logging
import typing as t
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from dashboard.db.reflection import TableInfo

log = logging.getLogger(__name__)

# SQLite keeps no estimate; counting is capped so a huge table costs a bounded scan.
SQLITE_COUNT_CAP = 100_000


@dataclass(frozen=True)
class RowEstimate:
    """A row count and whether it is exact, an estimate, or a lower bound."""

    rows: int
    #: "exact", "estimate", "at_least", or "unknown": the database has no statistics on the
    #: table yet (PostgreSQL before its first ANALYZE or VACUUM), so ``rows`` means nothing.
    kind: str


def estimate_rows(engine: Engine, tables: t.Sequence[TableInfo]) -> dict[str, RowEstimate]:
    """Row estimates keyed by table id; relations the database cannot estimate are left out."""
    try:
        if engine.dialect.name == "postgresql":
            return _postgresql(engine, tables)
        if engine.dialect.name in ("mysql", "mariadb"):
            return _mysql(engine, tables)
        return _capped_counts(engine, tables)
    except SQLAlchemyError as exc:
        log.warning("row estimates unavailable: %s", exc)
        return {}


def _postgresql(engine: Engine, tables: t.Sequence[TableInfo]) -> dict[str, RowEstimate]:
    # reltuples is -1 until the first ANALYZE or VACUUM (PostgreSQL 14 and later); before 14
    # it was 0, told apart from an empty table only by the statistics never having been taken.
    statement = sa.text(
        "SELECT n.nspname, c.relname, c.reltuples, c.relpages = 0 AND s.last_analyze IS NULL "
        "AND s.last_autoanalyze IS NULL AND s.last_vacuum IS NULL AND s.last_autovacuum IS NULL "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid WHERE c.relkind IN ('r', 'p')"
    )
    default = sa.inspect(engine).default_schema_name
    wanted = {(t.schema or default, t.name): t.id for t in tables if t.kind == "table"}
    found: dict[str, RowEstimate] = {}
    with engine.connect() as connection:
        before_14 = (connection.dialect.server_version_info or (0,)) < (14,)
        for schema, name, tuples, never_analysed in connection.execute(statement):
            if (schema, name) not in wanted or tuples is None:
                continue
            if tuples < 0 or (before_14 and tuples == 0 and never_analysed):
                found[wanted[(schema, name)]] = RowEstimate(0, "unknown")
            else:
                found[wanted[(schema, name)]] = RowEstimate(int(tuples), "estimate")
    return found


def _mysql(engine: Engine, tables: t.Sequence[TableInfo]) -> dict[str, RowEstimate]:
    statement = sa.text(
        "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_ROWS FROM information_schema.TABLES "
        "WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA = COALESCE(:schema, DATABASE())"
    )
    found: dict[str, RowEstimate] = {}
    with engine.connect() as connection:
        for schema in {t.schema for t in tables}:
            wanted = {t.name: t.id for t in tables if t.schema == schema and t.kind == "table"}
            for _schema, name, rows in connection.execute(statement, {"schema": schema}):
                if name in wanted and rows is not None:
                    found[wanted[name]] = RowEstimate(int(rows), "estimate")
    return found


def _capped_counts(engine: Engine, tables: t.Sequence[TableInfo]) -> dict[str, RowEstimate]:
    found: dict[str, RowEstimate] = {}
    with engine.connect() as connection:
        for info in tables:
            inner = sa.select(sa.literal(1)).select_from(info.table).limit(SQLITE_COUNT_CAP + 1).subquery()
            try:
                rows = int(connection.execute(sa.select(sa.func.count()).select_from(inner)).scalar_one())
            except SQLAlchemyError as exc:
                log.warning("cannot count %s: %s", info.id, exc)
                continue
            if rows > SQLITE_COUNT_CAP:
                found[info.id] = RowEstimate(SQLITE_COUNT_CAP, "at_least")
            else:
                found[info.id] = RowEstimate(rows, "exact")
    return found
