"""Whether a table has rows in a chart's recent window: "last 12 months" of data from 2009 is
an empty chart, not worth a place on the home page.

One query per chart (``SELECT 1 ... WHERE column in the window LIMIT 1``: an index seek when
the column is indexed, and a scan that stops at the first match otherwise), cached like the
chart itself: keyed by the table's write generation and kept for ``CHART_TTL_SECONDS``.
"""

from __future__ import annotations

import datetime as dt
import logging
import typing as t

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from dashboard.db.errors import is_gone
from dashboard.plugins.charting.buckets import first_bucket, inline_date
from dashboard.web.caching import MISSING, listing_cache

if t.TYPE_CHECKING:
    from dashboard.charts import ChartEntry

log = logging.getLogger(__name__)


def has_recent_rows(entry: ChartEntry) -> bool:
    """Whether the table of ``entry`` (a chart over the ``last`` buckets of a date column) has a
    row whose date falls in that window, today included and the future excluded.

    A chart without such a window always counts as recent; a query the database refuses or
    cancels counts as not recent (the chart is left out, not shown as an error).
    """
    chart, view = entry.chart, entry.view
    if (
        view is None
        or entry.problem is not None
        or chart.group_by is None
        or chart.bucket is None
        or chart.last is None
    ):
        return True
    today = dt.datetime.now(dt.UTC).date()
    cache = listing_cache()
    generation = cache.generation(chart.table or "") if cache is not None else None
    key = None
    if cache is not None and generation is not None:
        key = cache.key(
            chart.table or "", generation, "recent", None, [chart.name, chart.fingerprint(), today.isoformat()]
        )
        hit = cache.get(key)
        if hit is not MISSING:
            return bool(hit)
    start = first_bucket(chart.bucket, chart.last, today)
    found = _any_between(view, chart.group_by, start, today + dt.timedelta(days=1))
    if key is not None and cache is not None:
        cache.set(key, found, ttl=int(current_app.config["CHART_TTL_SECONDS"]))
    return found


def _any_between(view: t.Any, column_name: str, start: dt.date, end: dt.date) -> bool:
    """Whether some row has ``start <= column < end``."""
    table = view.store.table
    column = table.c[column_name]
    dialect = view.store.engine.dialect.name
    statement = (
        sa.select(sa.literal(1))
        .select_from(table)
        .where(column >= inline_date(start, column, dialect), column < inline_date(end, column, dialect))
        .limit(1)
    )
    try:
        with view.store.engine.connect() as connection:
            return connection.execute(statement).first() is not None
    except SQLAlchemyError as exc:
        if is_gone(exc):
            raise
        log.info("cannot tell whether %s has recent rows: %s", view.info.id, exc)
        return False
