"""Facet counts: how many rows of a listing hold each value of a column (Datasette's facets,
Django's facet counts), and which columns have few enough values to be worth one.

A facet is one ``GROUP BY`` under the listing's own ``WHERE``, bounded like the listing's
count (:mod:`dashboard.db.listing`): it groups at most ``cap`` matching rows (a bounded
scan, and the engine's statement timeout still applies), and says so when more rows match.
Each answer also carries how many rows it grouped and how many distinct values there
were, from window functions over the grouped rows, so the "more values" hint and the
"counted in the first N rows" note cost no second query.

Values come back as the database returns them (the web layer writes and links them); a
date or datetime column can be grouped by month instead, as ``YYYY-MM`` text.
"""

from __future__ import annotations

import logging
import typing as t
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from dashboard.db.listing import ListingQuery, ResultCache
from dashboard.db.records import RecordStore

log = logging.getLogger(__name__)

#: A column is "few-valued" (a default facet) with at most this many distinct values.
FEW_VALUES = 20
#: Rows the probe for few-valued columns reads, at most, when the database keeps no statistics.
PROBE_ROWS = 1000
#: How long the few-valued decision is kept (a write through the dashboard drops it sooner).
FEW_VALUES_TTL = 600
#: Codec kinds whose values can be grouped and counted on every dialect.
GROUPABLE_KINDS = frozenset(
    {"string", "text", "integer", "decimal", "float", "boolean", "enum", "date", "datetime", "time", "uuid", "inet"}
)
#: Codec kinds whose columns may be few-valued (enums and booleans always are).
PROBED_KINDS = frozenset({"string", "text", "integer", "decimal"})
MONTH_KINDS = frozenset({"date", "datetime"})
#: Codec kinds whose empty text counts as empty, as the "empty" filter has it.
EMPTY_TEXT_KINDS = frozenset({"string", "text"})


@dataclass(frozen=True)
class FacetCounts:
    """The most frequent values of one column under a listing's conditions.

    :param values: ``(value, rows)`` pairs, most frequent first (months: newest first); a
        ``None`` value counts the rows where the column is empty.
    :param distinct: how many distinct values the grouped rows hold (``len(values)`` or more).
    :param grouped: how many rows were grouped.
    :param capped: more rows match than were grouped: every count is a lower bound.
    """

    values: list[tuple[t.Any, int]]
    distinct: int
    grouped: int
    capped: bool


def month_of(column: sa.ColumnElement[t.Any], dialect: str) -> sa.ColumnElement[str]:
    """``column`` (a date or datetime) as ``YYYY-MM`` text, in the dialect's own words."""
    if dialect == "postgresql":
        return sa.func.to_char(column, "YYYY-MM", type_=sa.String())
    if dialect in ("mysql", "mariadb"):
        return sa.func.date_format(column, "%Y-%m", type_=sa.String())
    return sa.func.strftime("%Y-%m", column, type_=sa.String())


def count_values(
    store: RecordStore,
    where: t.Sequence[sa.ColumnElement[bool]],
    key: str,
    *,
    by_month: bool = False,
    limit: int = 10,
    cap: int | None = None,
) -> FacetCounts:
    """The ``limit`` most frequent values of column ``key`` among the rows matching ``where``.

    :param cap: group at most this many matching rows (``None``: all of them).
    """
    column = store.info.column_by_key(key)
    # Read as a list reads it: on SQLite a value its type cannot convert stays as stored.
    expression = (
        month_of(store.table.c[column.name], store.engine.dialect.name) if by_month else store._read(column.name)
    )
    if store.codecs[key].kind in EMPTY_TEXT_KINDS:
        # An empty text is as empty to an operator as NULL is (both a blank cell, and the
        # "empty" filter matches both): one value, counted together.
        expression = sa.func.nullif(expression, "")
    # The value is grouped in an outer query over a subquery: PostgreSQL and MySQL would not
    # see that ``to_char(col, $1)`` in the SELECT list and ``to_char(col, $2)`` in GROUP BY
    # are one expression, and the subquery is where the cap goes.
    inner = sa.select(expression.label("facet_value")).select_from(store.table).where(*where)
    if cap is not None:
        inner = inner.limit(cap + 1)
    rows = inner.subquery("facet_rows")
    rows_per_value = sa.func.count().label("facet_count")
    first = rows.c.facet_value.desc() if by_month else rows_per_value.desc()
    statement = (
        sa.select(
            rows.c.facet_value,
            rows_per_value,
            sa.func.count().over().label("facet_distinct"),
            sa.func.sum(sa.func.count()).over().label("facet_total"),
        )
        .group_by(rows.c.facet_value)
        .order_by(first, rows.c.facet_value)
        .limit(limit)
    )
    with store.engine.connect() as connection:
        found = list(connection.execute(statement))
    grouped = int(found[0].facet_total) if found else 0
    return FacetCounts(
        values=[(row.facet_value, int(row.facet_count)) for row in found],
        distinct=int(found[0].facet_distinct) if found else 0,
        grouped=min(grouped, cap) if cap is not None else grouped,
        capped=cap is not None and grouped > cap,
    )


def cached_counts(
    query: ListingQuery, key: str, *, by_month: bool, limit: int, cap: int | None, fresh: bool = False
) -> FacetCounts:
    """:func:`count_values` for a listing, kept in the listing cache under the listing's own key
    parts (table generation, arguments, permission scope): a write through the dashboard
    shows new counts at once, and one role never reads counts kept for another. ``fresh``
    counts anew, as the list's Refresh reads its rows anew."""
    return t.cast(
        FacetCounts,
        query.remembered(
            "facet",
            [key, by_month, limit, cap],
            lambda: count_values(query.store, query.where, key, by_month=by_month, limit=limit, cap=cap),
            fresh=fresh,
        ),
    )


def few_valued(store: RecordStore, cache: ResultCache | None, keys: t.Sequence[str]) -> set[str]:
    """Which of the columns ``keys`` hold at most :data:`FEW_VALUES` distinct values, decided cheaply.

    Counting distinct values of a million-row table on every page view is what this must
    not do. PostgreSQL's planner statistics (``pg_stats.n_distinct``, kept by ANALYZE and
    autovacuum) answer for the whole table at no cost. Elsewhere, and for columns without
    statistics, one query counts the distinct values of every candidate column in the
    first :data:`PROBE_ROWS` rows: a bounded read whatever the table's size. A probe can
    take a column with 15 values in its first rows and 200 overall for few-valued; that
    costs a facet with a "more values" hint, nothing worse. MySQL's index cardinalities
    were not used: they exist for indexed columns only and are sampled estimates as well.
    The answer is kept for :data:`FEW_VALUES_TTL` under the table's generation.
    """
    keys = sorted(keys)
    if not keys:
        return set()
    generation = cache.generation(store.info.id) if cache is not None else None
    cache_key = None
    if cache is not None and generation is not None:
        cache_key = cache.key(store.info.id, generation, "facet-few-values", None, keys)
        hit = cache.get(cache_key)
        if isinstance(hit, (set, frozenset)):
            return set(hit)
    try:
        distinct = _planner_statistics(store, keys) if store.engine.dialect.name == "postgresql" else {}
        unknown = [key for key in keys if key not in distinct]
        if unknown:
            distinct.update(_probe(store, unknown))
    except SQLAlchemyError as exc:
        log.info("cannot tell which columns of %s have few values: %s", store.info.id, exc)
        return set()
    found = {key for key, values in distinct.items() if 0 < values <= FEW_VALUES}
    if cache is not None and cache_key is not None:
        cache.set(cache_key, found, FEW_VALUES_TTL)
    return found


def _planner_statistics(store: RecordStore, keys: t.Sequence[str]) -> dict[str, float]:
    # n_distinct > 0 is a count of values; < 0 is minus a fraction of the rows (reltuples).
    statement = sa.text(
        "SELECT s.attname, s.n_distinct, c.reltuples FROM pg_stats s "
        "JOIN pg_namespace n ON n.nspname = s.schemaname "
        "JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = s.tablename "
        "WHERE s.schemaname = COALESCE(:schema, current_schema()) AND s.tablename = :table"
    )
    by_name = {store.info.column_by_key(key).name: key for key in keys}
    found: dict[str, float] = {}
    with store.engine.connect() as connection:
        result = connection.execute(statement, {"schema": store.info.schema, "table": store.info.name})
        for name, n_distinct, reltuples in result:
            if name not in by_name or n_distinct is None:
                continue
            if n_distinct < 0 and (reltuples is None or reltuples < 0):
                continue  # a fraction of an unknown number of rows: probe instead
            found[by_name[name]] = n_distinct if n_distinct >= 0 else -n_distinct * reltuples
    return found


def _probe(store: RecordStore, keys: t.Sequence[str]) -> dict[str, float]:
    names = [store.info.column_by_key(key).name for key in keys]
    first_rows = sa.select(*(store.table.c[name] for name in names)).limit(PROBE_ROWS).subquery("first_rows")
    statement = sa.select(*(sa.func.count(sa.distinct(first_rows.c[name])) for name in names))
    with store.engine.connect() as connection:
        counts = connection.execute(statement).one()
    return {key: float(count) for key, count in zip(keys, counts, strict=True)}
