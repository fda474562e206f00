"""Computing a chart: from the cache, else from one query, its groups labelled for the operator.

A chart's cache entry is keyed by the write generation of every table it reads (its table, the
parent table that labels its groups, the tables an ``sql=`` chart reads: all of them when those
are not known), so a write made through the dashboard to any of them refreshes it at once; it is
kept for ``CHART_TTL_SECONDS`` against writes made by other programs.
"""

from __future__ import annotations

import datetime as dt
import logging
import typing as t
from collections import Counter

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from dashboard.charts import Chart, ChartData, ChartEntry, ChartError
from dashboard.db.errors import first_line, is_gone, is_timeout
from dashboard.plugins.charting.buckets import fill_buckets
from dashboard.plugins.charting.statements import statement
from dashboard.site_state import current_site
from dashboard.web.caching import MISSING, listing_cache

log = logging.getLogger(__name__)


def label_column(entry: ChartEntry) -> str | None:
    """The parent table's column that labels the groups of ``entry`` for the current operator:
    ``label_column``, else the parent's display column; ``None`` (raw keys) when there is none,
    or when the operator may not see it, or the database user may not read the parent table."""
    parent, view = entry.parent, entry.view
    if parent is None or view is None or not parent.info.readable:
        return None
    column = entry.chart.label_column or view.display_column_of(parent.info)
    if column is None or not view.may_see(parent.info.id, column):
        return None
    return column


def _reads(entry: ChartEntry, labelled_by: str | None) -> list[str]:
    """The ids of the tables whose writes change what ``entry`` shows."""
    chart = entry.chart
    if chart.sql is not None:
        return list(entry.reads) if entry.reads is not None else sorted(current_site().views)
    tables = [str(chart.table)]
    if labelled_by is not None and entry.parent is not None:
        tables.append(entry.parent.info.id)
    return tables


def compute(entry: ChartEntry, *, fresh: bool = False, details_key: t.Sequence[t.Any] | None = None) -> ChartData:
    """The chart's labels and values: from the cache, else from one query.

    :param fresh: skip the cache (and refill it).
    :param details_key: for a chart on a details page, the shown row's values of the columns
        the chart's foreign key refers to: only that row's children are counted.
    :raises ChartError: when the query fails or times out.
    """
    chart = entry.chart
    today = dt.datetime.now(dt.UTC).date()
    labelled_by = label_column(entry) if chart.sql is None else None
    cache = listing_cache()
    reads = _reads(entry, labelled_by)
    generations = cache.generations(reads) if cache is not None else None
    key = None
    if cache is not None and generations is not None:
        source = str(chart.table) if chart.sql is None else f"sql:{chart.name}"
        parts = [chart.name, chart.fingerprint(), today.isoformat(), dict(zip(reads, generations, strict=True))]
        key = cache.key(source, 0, "chart", None, [*parts, labelled_by, details_key])
        hit: t.Any = MISSING if fresh else cache.get(key)
        if hit is not MISSING:
            labels, values, read_at = hit
            return ChartData(list(labels), list(values), read_at, cached=True)
    try:
        if chart.sql is not None:
            labels, values = _run_sql(chart)
        else:
            labels, values = _run_table(entry, today, labelled_by, details_key)
    except SQLAlchemyError as exc:
        if is_gone(exc):
            raise
        log.info("chart %s failed: %s", chart.name, exc)
        if is_timeout(exc):
            raise ChartError("The chart's query took too long and was cancelled.") from exc
        raise ChartError(f"The database refused the chart's query: {first_line(exc)}") from exc
    data = ChartData(labels, values, dt.datetime.now(dt.UTC))
    if key is not None and cache is not None:
        cache.set(key, (data.labels, data.values, data.read_at), ttl=int(current_app.config["CHART_TTL_SECONDS"]))
    return data


def number(value: t.Any) -> float | None:
    """A figure of the database as a number JSON can carry (``Decimal`` to ``float``)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int):
        return value
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _run_table(
    entry: ChartEntry, today: dt.date, labelled_by: str | None, details_key: t.Sequence[t.Any] | None
) -> tuple[list[str | None], list[float | None]]:
    chart, view = entry.chart, entry.view
    if view is None:
        raise ValueError(f"chart {chart.name!r} names no table that is served")
    query = statement(entry, today, label_column=labelled_by, details_key=details_key)
    with view.store.engine.connect() as connection:
        rows = connection.execute(query).all()
    if chart.group_by is None:
        return [str(chart.title or chart.name)], [number(rows[0][0]) if rows else None]
    if chart.bucket is not None:
        found = {str(label): number(value) for label, value in rows if label is not None}
        labels, values = fill_buckets(chart, found, today)
        return list(labels), values
    codec = view.store.codecs[view.info.column(chart.group_by).key]
    values = [number(row[-1]) for row in rows]
    if entry.parent_fk is None:
        return ["NULL" if row[0] is None else codec.to_text(row[0]) for row in rows], values
    keys = [None if row[0] is None else codec.to_text(row[0]) for row in rows]
    if labelled_by is None or entry.parent is None:
        return keys, values
    parent_codec = entry.parent.store.codecs[entry.parent.info.column(labelled_by).key]
    names = [None if row[1] is None else parent_codec.to_text(row[1]) for row in rows]
    return _distinct_labels(keys, names), values


def _distinct_labels(keys: list[str | None], names: list[str | None]) -> list[str | None]:
    """A label per group: the parent's name, with its key where two groups share that name (two
    customers called Ann Smith stay two bars), the key alone for a parent without a name or a
    row missing; ``None`` for the group of rows without a parent."""
    shared = Counter(name for name in names if name)
    labels: list[str | None] = []
    for key, name in zip(keys, names, strict=True):
        if key is None:
            labels.append(None)
        elif not name:
            labels.append(f"#{key}")
        else:
            labels.append(f"{name} (#{key})" if shared[name] > 1 else name)
    return labels


def _run_sql(chart: Chart) -> tuple[list[str | None], list[float | None]]:
    engine = current_site().engine
    dialect = engine.dialect.name
    with engine.connect() as connection:
        restore = None
        if dialect == "postgresql":
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
        elif dialect in ("mysql", "mariadb"):
            connection.exec_driver_sql("START TRANSACTION READ ONLY")
        else:
            restore = connection.exec_driver_sql("PRAGMA query_only").scalar()
            connection.exec_driver_sql("PRAGMA query_only = ON")
        try:
            result = connection.execute(sa.text(t.cast(str, chart.sql)))
            rows = result.fetchmany(chart.limit)
            width = len(result.keys())
        finally:
            connection.rollback()
            if restore is not None:
                connection.exec_driver_sql(f"PRAGMA query_only = {int(bool(restore))}")
    if chart.kind == "number":
        if not rows:
            return [str(chart.title or chart.name)], [None]
        return [str(chart.title or chart.name)], [number(rows[0][-1])]
    if width != 2:
        raise ChartError(f"chart {chart.name}: the SQL must return two columns (label, value), not {width}")
    return ["NULL" if label is None else str(label) for label, _v in rows], [number(v) for _l, v in rows]
