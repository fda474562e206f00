"""Checking a chart's declaration against the tables served, once at start-up: each mistake is
one sentence naming it, reported in ``dashboard plugins`` and shown in place of the chart."""

from __future__ import annotations

import re
import typing as t

import sqlalchemy as sa

from dashboard.charts import BUCKETS, KINDS, MAX_GROUPS, MEASURES, OPERATORS, Chart, ChartEntry
from dashboard.plugins.charting.sql_tables import tables_read

if t.TYPE_CHECKING:
    from dashboard.db.reflection import ForeignKeyInfo
    from dashboard.web.table_view import TableView

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
# One statement, reading: a second statement or a write is refused before it reaches the
# database, and the read-only transaction stops what a function could still write.
_SQL_START = re.compile(r"^\s*(select|with)\b", re.IGNORECASE)


def check(chart: t.Any, views: t.Mapping[str, TableView]) -> ChartEntry:
    """Check ``chart`` against the tables the site serves (``views``, by table id).

    :returns: an entry with ``problem`` set to a sentence naming what is wrong, if anything.
    :raises TypeError: when ``chart`` is not a :class:`~dashboard.charts.Chart`.
    """
    if not isinstance(chart, Chart):
        raise TypeError(f"register_charts returned {type(chart).__name__}, not a dashboard.charts.Chart")
    entry = ChartEntry(chart=chart, plugin="")
    entry.problem = _problem(chart, views, entry)
    return entry


def _problem(chart: Chart, views: t.Mapping[str, TableView], entry: ChartEntry) -> str | None:
    if not isinstance(chart.name, str) or not NAME.match(chart.name):
        return f"chart name {chart.name!r} must be 1-100 letters, digits and _ . : -"
    if chart.kind not in KINDS:
        return f"chart {chart.name}: unknown kind {chart.kind!r}; kinds are {', '.join(KINDS)}"
    if not isinstance(chart.limit, int) or not 1 <= chart.limit <= MAX_GROUPS:
        return f"chart {chart.name}: limit must be a whole number from 1 to {MAX_GROUPS}"
    if chart.sql is not None:
        if chart.table is not None:
            return f"chart {chart.name}: give either table or sql, not both"
        return _sql_problem(chart, views, entry)
    if chart.tables is not None:
        return f"chart {chart.name}: tables=... is for sql charts; a table chart reads its table"
    if not chart.table:
        return f"chart {chart.name}: give the table to aggregate (table=...) or sql=..."
    view = views.get(chart.table)
    if view is None:
        return f"chart {chart.name}: unknown table {chart.table!r} (not served by this dashboard)"
    entry.view = view
    return (
        _table_problem(chart, view)
        or _label_problem(chart, view, views, entry)
        or _details_problem(chart, view, views, entry)
    )


def _table_problem(chart: Chart, view: TableView) -> str | None:
    visible = {c.name: c for c in view.visible}

    def column(name: str | None, role: str) -> str | None:
        if name not in visible:
            return f"chart {chart.name}: unknown column {name!r} in table {chart.table!r} ({role})"
        return None

    if chart.measure not in MEASURES:
        return f"chart {chart.name}: unknown measure {chart.measure!r}; measures are {', '.join(MEASURES)}"
    if chart.measure != "count" or chart.column is not None:
        if chart.column is None:
            return f"chart {chart.name}: measure {chart.measure!r} needs column=..."
        if problem := column(chart.column, "column"):
            return problem
        if chart.measure != "count" and not _is_numeric(visible[chart.column].type):
            return f"chart {chart.name}: cannot {chart.measure} column {chart.column!r}: it is not a number"
    if chart.kind == "number":
        if chart.group_by is not None:
            return f"chart {chart.name}: a number chart shows one figure; remove group_by"
    elif chart.group_by is None:
        return f"chart {chart.name}: a {chart.kind} chart needs group_by=..."
    if chart.group_by is not None and (problem := column(chart.group_by, "group_by")):
        return problem
    if chart.bucket is not None:
        if chart.bucket not in BUCKETS:
            return f"chart {chart.name}: unknown bucket {chart.bucket!r}; buckets are {', '.join(BUCKETS)}"
        if chart.group_by is None or not _is_date(visible[chart.group_by].type):
            return f"chart {chart.name}: bucket {chart.bucket!r} needs group_by to be a date or timestamp column"
    if chart.last is not None and (chart.bucket is None or not isinstance(chart.last, int) or chart.last < 1):
        return f"chart {chart.name}: last=N needs a bucket and a whole number N of at least 1"
    if not isinstance(chart.where, t.Mapping):
        return f"chart {chart.name}: where must be a mapping of column to value or (operator, value)"
    for name, condition in chart.where.items():
        if problem := column(name, "where"):
            return problem
        operator = condition[0] if isinstance(condition, tuple) else "eq"
        if operator not in OPERATORS:
            return (
                f"chart {chart.name}: unknown operator {operator!r} for {name!r}; operators are {', '.join(OPERATORS)}"
            )
    return None


def _label_problem(chart: Chart, view: TableView, views: t.Mapping[str, TableView], entry: ChartEntry) -> str | None:
    """Find the parent table of a ``group_by`` that is a one-column foreign key; check ``label_column``."""
    fk = None
    if chart.group_by is not None and chart.bucket is None:
        fk = next((k for k in view.info.foreign_keys if k.columns == (chart.group_by,)), None)
    parent = views.get(fk.target_id) if fk is not None else None
    if chart.label_column is None:
        if fk is not None and parent is not None:
            entry.parent, entry.parent_fk = parent, fk
        return None
    if fk is None or parent is None:
        return (
            f"chart {chart.name}: label_column needs group_by to be a foreign key of one column "
            f"to a table this dashboard serves"
        )
    if not any(c.name == chart.label_column for c in parent.visible):
        return f"chart {chart.name}: unknown column {chart.label_column!r} in table {parent.info.id!r} (label_column)"
    entry.parent, entry.parent_fk = parent, fk
    return None


def _details_problem(chart: Chart, view: TableView, views: t.Mapping[str, TableView], entry: ChartEntry) -> str | None:
    """Find the foreign key from the chart's table to the ``on_details`` table."""
    if chart.on_details is None:
        if chart.details_fk is not None:
            return f"chart {chart.name}: details_fk needs on_details=... (the table whose details page shows it)"
        return None
    parent = views.get(chart.on_details)
    if parent is None:
        return f"chart {chart.name}: unknown table {chart.on_details!r} (on_details; not served by this dashboard)"
    keys: list[ForeignKeyInfo] = [k for k in view.info.foreign_keys if k.target_id == parent.info.id]
    if chart.details_fk is not None:
        keys = [k for k in keys if chart.details_fk in k.columns]
        if not keys:
            return (
                f"chart {chart.name}: details_fk {chart.details_fk!r} is not a column of a foreign key "
                f"from {view.info.id!r} to {parent.info.id!r}"
            )
    if not keys:
        return f"chart {chart.name}: table {view.info.id!r} has no foreign key to {parent.info.id!r} (on_details)"
    if len(keys) > 1:
        columns = ", ".join(sorted(repr(k.columns[0]) for k in keys))
        return (
            f"chart {chart.name}: table {view.info.id!r} has {len(keys)} foreign keys to {parent.info.id!r} "
            f"({columns}); name the one to use with details_fk=..."
        )
    entry.details_view, entry.details_fk = parent, keys[0]
    return None


def _sql_problem(chart: Chart, views: t.Mapping[str, TableView], entry: ChartEntry) -> str | None:
    sql = chart.sql
    if not isinstance(sql, str) or not _SQL_START.match(sql):
        return f"chart {chart.name}: sql must be one SELECT (or WITH ... SELECT) statement"
    if ";" in sql.strip().rstrip(";"):
        return f"chart {chart.name}: sql must be a single statement (no ';' inside)"
    if chart.on_details is not None or chart.label_column is not None:
        return f"chart {chart.name}: on_details and label_column are for table charts, not sql charts"
    if chart.tables is None:
        entry.reads = tables_read(sql, views)
        return None
    if isinstance(chart.tables, str) or not all(isinstance(name, str) for name in chart.tables):
        return f"chart {chart.name}: tables must be a tuple of table names, like tables=('orders',)"
    unknown = [name for name in chart.tables if name not in views]
    if unknown:
        return f"chart {chart.name}: unknown table {unknown[0]!r} in tables (not served by this dashboard)"
    entry.reads = tuple(chart.tables)
    return None


def _is_numeric(type_: t.Any) -> bool:
    return isinstance(type_, (sa.Integer, sa.Numeric)) and not isinstance(type_, sa.Boolean)


def _is_date(type_: t.Any) -> bool:
    return isinstance(type_, (sa.Date, sa.DateTime))
