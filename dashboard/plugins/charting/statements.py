"""The aggregate statement of a table chart: one ``GROUP BY`` in the database, with the parent
table joined for the labels of a foreign key, and filtered to one parent row on a details page."""

from __future__ import annotations

import datetime as dt
import typing as t

import sqlalchemy as sa

from dashboard.charts import ChartEntry
from dashboard.plugins.charting.buckets import bucket_expression, first_bucket, inline_date


def where_condition(column: sa.ColumnElement[t.Any], condition: t.Any) -> sa.ColumnElement[bool]:
    """One filter of ``where``: ``value`` or ``(operator, value)``, the value a bound parameter."""
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


def statement(
    entry: ChartEntry,
    today: dt.date,
    *,
    label_column: str | None = None,
    details_key: t.Sequence[t.Any] | None = None,
) -> sa.Select[t.Any]:
    """The aggregate query of a checked table chart: one ``GROUP BY`` (none for a number).

    :param label_column: with ``group_by`` a foreign key (``entry.parent``), the parent's column
        selected beside each key as ``parent_label``, by a left join (rows without a parent stay).
    :param details_key: the values of ``entry.details_fk``'s target columns in the row a details
        page shows: only rows referring to it are aggregated.
    """
    chart, view = entry.chart, entry.view
    if view is None or entry.problem is not None:
        raise ValueError(f"chart {chart.name!r} did not pass its checks: {entry.problem}")
    table = view.store.table
    dialect = view.store.engine.dialect.name
    where = [where_condition(table.c[name], wanted) for name, wanted in chart.where.items()]
    if details_key is not None:
        fk = entry.details_fk
        if fk is None:
            raise ValueError(f"chart {chart.name!r} is not shown on a details page")
        where.extend(table.c[own] == value for own, value in zip(fk.columns, details_key, strict=True))
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
    if chart.bucket is None and label_column is not None and entry.parent is not None and entry.parent_fk:
        # An alias: a table referring to itself (manager_id) joins a second copy of itself.
        parent = entry.parent.store.table.alias("chart_parent")
        joined = sa.and_(
            *(
                table.c[own] == parent.c[target]
                for own, target in zip(entry.parent_fk.columns, entry.parent_fk.target_columns, strict=True)
            )
        )
        name = parent.c[label_column]
        return (
            sa.select(group.label("label"), name.label("parent_label"), value.label("value"))
            .select_from(table.outerjoin(parent, joined))
            .where(*where)
            .group_by(group, name)
            .order_by(value.desc(), group)
            .limit(chart.limit)
        )
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
