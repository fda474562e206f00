"""The chart engine: checking a declaration (:class:`dashboard.charts.Chart`) against the tables,
the aggregate statement per dialect, computing it (cached like listings) and the panels pages
show. A plugin never imports this module: it declares charts, the dashboard runs them."""

from __future__ import annotations

import datetime as dt
import logging
import re
import typing as t
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app, g
from flask_babel import format_decimal
from sqlalchemy.exc import SQLAlchemyError

from dashboard.db.errors import first_line, is_gone, is_timeout
from dashboard.i18n.formatting import format_bucket
from dashboard.i18n.translation import gettext
from dashboard.site_state import current_site
from dashboard.web.caching import MISSING, listing_cache

if t.TYPE_CHECKING:
    from dashboard.web.table_view import TableView

from dashboard.charts import (
    BUCKETS,
    KINDS,
    MAX_GROUPS,
    MEASURES,
    OPERATORS,
    Chart,
    ChartData,
    ChartEntry,
    ChartError,
)
from dashboard.plugins.runtime import report, sees_details
from dashboard.security.permissions import can, operator_role

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
# One statement, reading: a second statement or a write is refused before it reaches the
# database, and the read-only transaction stops what a function could still write.
_SQL_START = re.compile(r"^\s*(select|with)\b", re.IGNORECASE)


# -- checking a declaration ---------------------------------------------------------------------


def check(chart: t.Any, views: t.Mapping[str, TableView]) -> ChartEntry:
    """Check ``chart`` against the tables the site serves.

    :returns: an entry with ``problem`` set to a sentence naming what is wrong, if anything.
    """
    if not isinstance(chart, Chart):
        raise TypeError(f"register_charts returned {type(chart).__name__}, not a dashboard.charts.Chart")
    entry = ChartEntry(chart=chart, plugin="")
    entry.problem = _problem(chart, views, entry)
    return entry


def _problem(chart: Chart, views: t.Mapping[str, TableView], entry: ChartEntry) -> str | None:
    if not isinstance(chart.name, str) or not _NAME.match(chart.name):
        return f"chart name {chart.name!r} must be 1-100 letters, digits and _ . : -"
    if chart.kind not in KINDS:
        return f"chart {chart.name}: unknown kind {chart.kind!r}; kinds are {', '.join(KINDS)}"
    if not isinstance(chart.limit, int) or not 1 <= chart.limit <= MAX_GROUPS:
        return f"chart {chart.name}: limit must be a whole number from 1 to {MAX_GROUPS}"
    if chart.sql is not None:
        if chart.table is not None:
            return f"chart {chart.name}: give either table or sql, not both"
        return _sql_problem(chart)
    if not chart.table:
        return f"chart {chart.name}: give the table to aggregate (table=...) or sql=..."
    view = views.get(chart.table)
    if view is None:
        return f"chart {chart.name}: unknown table {chart.table!r} (not served by this dashboard)"
    entry.view = view
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


def _sql_problem(chart: Chart) -> str | None:
    sql = chart.sql
    if not isinstance(sql, str) or not _SQL_START.match(sql):
        return f"chart {chart.name}: sql must be one SELECT (or WITH ... SELECT) statement"
    if ";" in sql.strip().rstrip(";"):
        return f"chart {chart.name}: sql must be a single statement (no ';' inside)"
    return None


def _is_numeric(type_: t.Any) -> bool:
    return isinstance(type_, (sa.Integer, sa.Numeric)) and not isinstance(type_, sa.Boolean)


def _is_date(type_: t.Any) -> bool:
    return isinstance(type_, (sa.Date, sa.DateTime))


# -- the statement ------------------------------------------------------------------------------


def bucket_expression(dialect: str, column: sa.ColumnElement[t.Any], bucket: str) -> sa.ColumnElement[str]:
    """The bucket of ``column`` as text (``2024-05-03``, ``2024-05``, ``2024``) in ``dialect``'s SQL.

    Formats are inlined literals from a fixed list, not bound parameters: PostgreSQL does
    not see ``f($1)`` in the select list and ``f($2)`` in ``GROUP BY`` as the same expression.
    """

    def lit(text: str) -> sa.ColumnElement[t.Any]:
        return sa.literal_column(f"'{text}'")

    if dialect == "postgresql":
        pattern = {"day": "YYYY-MM-DD", "week": "YYYY-MM-DD", "month": "YYYY-MM", "year": "YYYY"}[bucket]
        return sa.func.to_char(sa.func.date_trunc(lit(bucket), column), lit(pattern))
    if dialect in ("mysql", "mariadb"):
        pattern = {"day": "%Y-%m-%d", "week": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}[bucket]
        if bucket == "week":
            # WEEKDAY() counts from Monday = 0: the day less that many days is the week's Monday.
            column = sa.func.subdate(sa.func.date(column), sa.func.weekday(column))
        return sa.func.date_format(column, lit(pattern))
    if bucket == "week":
        # The Sunday on or after the day, less six days: the week's Monday.
        return sa.func.date(column, lit("weekday 0"), lit("-6 days"))
    pattern = {"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}[bucket]
    return sa.func.strftime(lit(pattern), column)


def inline_date(value: dt.date, column: sa.ColumnElement[t.Any], dialect: str) -> sa.ColumnElement[t.Any]:
    """``value`` as the bound parameter a comparison with ``column`` needs."""
    type_ = column.type
    if dialect == "sqlite":
        # SQLite keeps timestamps as text; the bare date sorts before every time of its day,
        # where the driver's "YYYY-MM-DD 00:00:00.000000" would sort after "... 00:00:00".
        return sa.literal(value.isoformat(), sa.String())
    if isinstance(type_, sa.DateTime):
        moment = dt.datetime.combine(value, dt.time())
        return sa.literal(moment.replace(tzinfo=dt.UTC) if type_.timezone else moment, type_)
    return sa.literal(value, type_)


def first_bucket(bucket: str, last: int, today: dt.date) -> dt.date:
    """The first day of the bucket ``last - 1`` buckets before the one holding ``today``."""
    if bucket == "day":
        return today - dt.timedelta(days=last - 1)
    if bucket == "week":
        return today - dt.timedelta(days=today.weekday()) - dt.timedelta(weeks=last - 1)
    if bucket == "month":
        months = today.year * 12 + today.month - 1 - (last - 1)
        return dt.date(months // 12, months % 12 + 1, 1)
    return dt.date(today.year - last + 1, 1, 1)


def bucket_label(bucket: str, day: dt.date) -> str:
    """The label of the bucket holding ``day``, as :func:`bucket_expression` writes it."""
    if bucket == "week":
        day = day - dt.timedelta(days=day.weekday())
    return {"day": day.isoformat(), "week": day.isoformat(), "month": day.strftime("%Y-%m"), "year": f"{day.year:04d}"}[
        bucket
    ]


def _label_date(bucket: str, label: str) -> dt.date | None:
    try:
        if bucket in ("day", "week"):
            return dt.date.fromisoformat(label[:10])
        if bucket == "month":
            return dt.date(int(label[:4]), int(label[5:7]), 1)
        return dt.date(int(label[:4]), 1, 1)
    except ValueError:
        return None


def _next_bucket(bucket: str, day: dt.date) -> dt.date:
    if bucket == "day":
        return day + dt.timedelta(days=1)
    if bucket == "week":
        return day + dt.timedelta(weeks=1)
    if bucket == "month":
        return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return dt.date(day.year + 1, 1, 1)


def _condition(column: sa.ColumnElement[t.Any], condition: t.Any) -> sa.ColumnElement[bool]:
    operator, value = condition if isinstance(condition, tuple) else ("eq", condition)
    if operator == "is_null":
        return column.is_(None)
    if operator == "not_null":
        return column.is_not(None)
    if operator in ("in", "not_in"):
        values = list(value)
        return column.in_(values) if operator == "in" else column.not_in(values)
    compare = {
        "eq": column.__eq__,
        "ne": column.__ne__,
        "lt": column.__lt__,
        "le": column.__le__,
        "gt": column.__gt__,
        "ge": column.__ge__,
    }[operator]
    return compare(value)


def statement(entry: ChartEntry, today: dt.date) -> sa.Select[t.Any]:
    """The aggregate query of a checked table chart: one ``GROUP BY`` (none for a number)."""
    chart, view = entry.chart, entry.view
    if view is None or entry.problem is not None:
        raise ValueError(f"chart {chart.name!r} did not pass its checks: {entry.problem}")
    table = view.store.table
    dialect = view.store.engine.dialect.name
    where = [_condition(table.c[name], condition) for name, condition in chart.where.items()]
    measured = table.c[chart.column] if chart.column is not None else None
    measures: dict[str, t.Callable[[], sa.ColumnElement[t.Any]]] = {
        "count": lambda: sa.func.count(measured) if measured is not None else sa.func.count(),
        "sum": lambda: sa.func.sum(measured),
        "avg": lambda: sa.func.avg(measured),
        "min": lambda: sa.func.min(measured),
        "max": lambda: sa.func.max(measured),
    }
    value = measures[chart.measure]()
    if chart.group_by is None:
        return sa.select(value.label("value")).select_from(table).where(*where)
    group = table.c[chart.group_by]
    if chart.bucket is None:
        return (
            sa.select(group.label("label"), value.label("value"))
            .select_from(table)
            .where(*where)
            .group_by(group)
            .order_by(value.desc(), group)
            .limit(chart.limit)
        )
    label = bucket_expression(dialect, group, chart.bucket)
    where.append(group.is_not(None))
    if chart.last is not None:
        where.append(group >= inline_date(first_bucket(chart.bucket, chart.last, today), group, dialect))
    # The latest buckets first, so the limit keeps the most recent ones; shown oldest first.
    return (
        sa.select(label.label("label"), value.label("value"))
        .select_from(table)
        .where(*where)
        .group_by(label)
        .order_by(label.desc())
        .limit(chart.limit)
    )


# -- computing ----------------------------------------------------------------------------------


def _number(value: t.Any) -> float | None:
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


def compute(entry: ChartEntry, *, fresh: bool = False) -> ChartData:
    """The chart's labels and values: from the cache, else from one query.

    :param fresh: skip the cache (and refill it).
    :raises ChartError: when the query fails or times out.
    """
    chart = entry.chart
    today = dt.datetime.now(dt.UTC).date()
    cache = listing_cache()
    source = f"sql:{chart.name}" if chart.sql is not None else str(chart.table)
    generation = cache.generation(source) if cache is not None and chart.sql is None else 0
    key = None
    if cache is not None and generation is not None:
        key = cache.key(source, generation, "chart", None, [chart.name, chart.fingerprint(), today.isoformat()])
        hit: t.Any = MISSING if fresh else cache.get(key)
        if hit is not MISSING:
            labels, values, read_at = hit
            return ChartData(list(labels), list(values), read_at, cached=True)
    try:
        labels, values = _run_sql(chart) if chart.sql is not None else _run_table(entry, today)
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


def _run_table(entry: ChartEntry, today: dt.date) -> tuple[list[str], list[float | None]]:
    chart, view = entry.chart, entry.view
    if view is None:
        raise ValueError(f"chart {chart.name!r} names no table that is served")
    with view.store.engine.connect() as connection:
        rows = connection.execute(statement(entry, today)).all()
    if chart.group_by is None:
        return [str(chart.title or chart.name)], [_number(rows[0][0]) if rows else None]
    if chart.bucket is None:
        codec = view.store.codecs[view.info.column(chart.group_by).key]
        return ["NULL" if label is None else codec.to_text(label) for label, _v in rows], [
            _number(value) for _l, value in rows
        ]
    found = {str(label): _number(value) for label, value in rows if label is not None}
    return _fill_buckets(chart, found, today)


def _fill_buckets(chart: Chart, found: dict[str, float | None], today: dt.date) -> tuple[list[str], list[float | None]]:
    """Every bucket from the first to the last, with 0 rows (or no value) where none fell."""
    bucket = t.cast(str, chart.bucket)
    days = [d for d in (_label_date(bucket, label) for label in found) if d is not None]
    if chart.last is not None:
        days += [first_bucket(bucket, chart.last, today), today]
    if not days:
        return [], []
    empty: float | None = 0 if chart.measure in ("count", "sum") else None
    labels: list[str] = []
    day = _label_date(bucket, bucket_label(bucket, min(days))) or min(days)
    end = max(days)
    while day <= end and len(labels) < MAX_GROUPS * 4:
        labels.append(bucket_label(bucket, day))
        day = _next_bucket(bucket, day)
    labels = labels[-chart.limit :]
    return labels, [found.get(label, empty) for label in labels]


def _run_sql(chart: Chart) -> tuple[list[str], list[float | None]]:
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
        return [str(chart.title or chart.name)], [_number(rows[0][-1])]
    if width != 2:
        raise ChartError(f"chart {chart.name}: the SQL must return two columns (label, value), not {width}")
    return ["NULL" if label is None else str(label) for label, _v in rows], [_number(v) for _l, v in rows]


# -- showing ------------------------------------------------------------------------------------


@dataclass
class ChartPanel:
    """One chart as a template shows it: numbers, or an error panel."""

    name: str
    title: str
    description: str
    kind: str
    data: ChartData | None = None
    #: ``(label, value as text)`` for the table beside the drawing.
    rows: list[tuple[str, str]] = field(default_factory=list)
    #: A sentence for everyone when the chart cannot be shown.
    error: str | None = None
    #: What went wrong, for administrators only.
    details: str | None = None
    #: The labels drawn on the axis, in the operator's locale (``None``: the data's own).
    axis_labels: list[str] | None = None

    def payload(self) -> dict[str, t.Any]:
        """What ``static/charts.js`` draws, as JSON in the canvas's ``data-chart`` attribute."""
        if self.data is None:
            raise ValueError("a chart that failed has no payload; render its problem instead")
        return {
            "kind": self.kind,
            "title": self.title,
            "labels": self.axis_labels or self.data.labels,
            "values": self.data.values,
        }


def format_value(value: float | None) -> str:
    """A figure as operators read it in their language (``1,234.5``); ``—`` for none."""
    if value is None:
        return "—"
    return str(format_decimal(value, format="#,##0.##"))


def visible(entry: ChartEntry) -> bool:
    """Whether the current operator may see ``entry``: who may view its table; for SQL, its roles."""
    if entry.view is not None:
        return can("view", entry.view.info)
    if entry.chart.sql is not None and entry.problem is None:
        return sees_details() or operator_role() in entry.chart.roles
    return sees_details()


def panel(entry: ChartEntry) -> ChartPanel:
    """Compute ``entry`` for the current operator (who may see it: check :func:`visible` first)."""
    chart = entry.chart
    shown = ChartPanel(
        name=chart.name, title=str(chart.title or chart.name), description=str(chart.description or ""), kind=chart.kind
    )
    if entry.problem is not None:
        shown.error = gettext("This chart could not be shown: its declaration has a mistake.")
        shown.details = f"{entry.plugin}: {entry.problem}" if sees_details() else None
        return shown
    if entry.view is not None and not entry.view.info.readable:
        # Never queried: the database user may not read the chart's table (dashboard.db.privileges).
        shown.error = gettext("This chart could not be shown: its table is not readable by this database user.")
        return shown
    try:
        shown.data = compute(entry)
    except ChartError as exc:
        report(entry.plugin, f"chart {chart.name}", exc, traceback=False)
        shown.error = gettext("This chart could not be shown: its query failed.")
        shown.details = f"{entry.plugin}: {exc.message}" if sees_details() else None
        return shown
    # The axis names date buckets as dates of the operator's locale; the table beside keeps
    # the ISO labels (unambiguous, and what the cache and filters use).
    shown.axis_labels = [format_bucket(chart.bucket, label) for label in shown.data.labels]
    shown.rows = [
        (label, format_value(value)) for label, value in zip(shown.data.labels, shown.data.values, strict=True)
    ]
    if chart.kind != "number":
        g.dashboard_charts_drawn = True
    return shown


def panels(entries: t.Iterable[ChartEntry]) -> list[ChartPanel]:
    """Panels of the ``entries`` the current operator may see, in order."""
    return [panel(entry) for entry in entries if visible(entry)]


def missing(name: str, plugin: str) -> ChartEntry:
    """The entry a page shows for a chart name nobody declared."""
    return ChartEntry(
        chart=Chart(name=name if _NAME.match(str(name)) else "unknown"),
        plugin=plugin,
        problem=f"no chart called {name!r} is declared",
    )
