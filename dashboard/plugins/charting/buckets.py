"""Date buckets of a chart: the bucket of a date in each dialect's SQL, the window of the last
N buckets, and every bucket from the first to the last with zeros where no row fell."""

from __future__ import annotations

import datetime as dt
import typing as t

import sqlalchemy as sa

from dashboard.charts import MAX_GROUPS, Chart


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


def label_date(bucket: str, label: str) -> dt.date | None:
    try:
        if bucket in ("day", "week"):
            return dt.date.fromisoformat(label[:10])
        if bucket == "month":
            return dt.date(int(label[:4]), int(label[5:7]), 1)
        return dt.date(int(label[:4]), 1, 1)
    except ValueError:
        return None


def next_bucket(bucket: str, day: dt.date) -> dt.date:
    if bucket == "day":
        return day + dt.timedelta(days=1)
    if bucket == "week":
        return day + dt.timedelta(weeks=1)
    if bucket == "month":
        return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return dt.date(day.year + 1, 1, 1)


def fill_buckets(chart: Chart, found: dict[str, float | None], today: dt.date) -> tuple[list[str], list[float | None]]:
    """Every bucket from the first to the last, with 0 rows (or no value) where none fell."""
    bucket = t.cast(str, chart.bucket)
    days = [d for d in (label_date(bucket, label) for label in found) if d is not None]
    if chart.last is not None:
        days += [first_bucket(bucket, chart.last, today), today]
    if not days:
        return [], []
    empty: float | None = 0 if chart.measure in ("count", "sum") else None
    labels: list[str] = []
    day = label_date(bucket, bucket_label(bucket, min(days))) or min(days)
    end = max(days)
    while day <= end and len(labels) < MAX_GROUPS * 4:
        labels.append(bucket_label(bucket, day))
        day = next_bucket(bucket, day)
    labels = labels[-chart.limit :]
    return labels, [found.get(label, empty) for label in labels]
