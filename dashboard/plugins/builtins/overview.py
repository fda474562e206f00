"""Built-in plugin: the home page's overview, automatic charts and recent activity.

- ``register_charts``: "rows per month" over the last 12 months for the tables with a column
  that says when a row's event happened (``created_at``, ``ordered_at``, ``payment_date``;
  not ``last_update`` or ``birth_date``), at most ``HOME_CHARTS`` of them. They are chosen
  from the reflected schema alone (plus PostgreSQL's and MariaDB's own row estimates, one
  query for all tables), so a database of 500 tables costs no more at start-up than one of
  five, and each chart is one ``GROUP BY`` bounded to its last 12 months, cached like any
  chart. A chart is drawn only while its table has rows in those 12 months
  (``Chart.recent_only``: one cached query): a sample database of 2009 draws none.
- ``template_variables``: the latest entries of the audit log, for the home page of
  operators who may read that log (administrators).
"""

from __future__ import annotations

import datetime as dt
import typing as t

import sqlalchemy as sa
from flask import Flask, current_app

from dashboard import statedb
from dashboard.charts import Chart
from dashboard.db.counts import estimate_rows
from dashboard.hookspecs import hookimpl
from dashboard.i18n.translation import lazy_gettext
from dashboard.security import audit
from dashboard.security.permissions import can
from dashboard.site_state import current_site

#: Column names that most likely say when a row was created, best first.
_DATE_NAMES = ("created_at", "created", "created_on", "inserted_at", "ordered_at", "date", "timestamp")
#: Parts of names of dates that are not a row's event: when it was last touched, a birthday,
#: a deadline. Counting rows by them says nothing about activity.
_NOT_EVENTS = (
    "update",
    "modif",
    "changed",
    "edited",
    "birth",
    "dob",
    "expir",
    "deleted",
    "due",
    "valid",
    "until",
    "deadline",
)
RECENT_ENTRIES = 8
MONTHS = 12


def date_column(view: t.Any) -> str | None:
    """The column of ``view`` that best says when a row's event happened, if it has one."""
    dated = [
        c.name
        for c in view.visible
        if isinstance(c.type, (sa.Date, sa.DateTime)) and not any(part in c.name.lower() for part in _NOT_EVENTS)
    ]
    if not dated:
        return None

    def rank(name: str) -> tuple[int, str]:
        lowered = name.lower()
        if lowered in _DATE_NAMES:
            return _DATE_NAMES.index(lowered), name
        return len(_DATE_NAMES) + (0 if lowered.endswith(("_at", "_on", "_date")) else 1), name

    return min(dated, key=rank)


@hookimpl
def register_charts(app: Flask) -> list[Chart]:
    limit = int(app.config.get("HOME_CHARTS") or 0)
    if limit <= 0:
        return []
    state = current_site(app)
    candidates = [
        (view, column)
        for view in state.views.values()
        if view.info.kind == "table" and view.info.readable and (column := date_column(view)) is not None
    ]
    if state.engine.dialect.name in ("postgresql", "mysql", "mariadb") and len(candidates) > limit:
        # The server's own estimates, read in one query: the biggest tables first.
        estimates = estimate_rows(state.engine, [view.info for view, _column in candidates])
        candidates.sort(key=lambda pair: -(estimates[pair[0].info.id].rows if pair[0].info.id in estimates else 0))
    return [
        Chart(
            name=f"overview.rows_per_month.{view.info.endpoint}",
            title=lazy_gettext("%(table)s per month", table=str(view.name)),
            description=lazy_gettext("Rows by %(column)s, last %(months)s months", column=column, months=MONTHS),
            table=view.info.id,
            group_by=column,
            bucket="month",
            last=MONTHS,
            kind="bar",
            home=True,
            recent_only=True,
        )
        for view, column in candidates[:limit]
    ]


@hookimpl
def template_variables(template: str) -> dict[str, t.Any] | None:
    if template != "dashboard/home.html":
        return None
    if not can(audit.READ_ACTION):
        return None
    entries = statedb.get_store(current_app).audit_entries({}, offset=0, limit=RECENT_ENTRIES)
    return {"recent_activity": [{**entry, "at": _when(entry["at"])} for entry in entries]}


def _when(value: t.Any) -> str:
    if not isinstance(value, dt.datetime):
        return str(value)
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%d %H:%M UTC")
