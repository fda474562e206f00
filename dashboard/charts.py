"""Charts declared as data: what to aggregate, computed by the database, drawn by Chart.js.

A plugin returns :class:`Chart` declarations from its ``register_charts`` hook::

    Chart(name="sales.orders_per_month", title="Orders per month", table="orders",
          group_by="ordered_at", bucket="month", last=12, kind="bar", home=True)

The aggregate runs in the database (``GROUP BY``, with each dialect's own date function
for buckets), never in Python over fetched rows, and is cached like listings: keyed by
the write generation of every table it reads, so a write made through the dashboard (a
form, a bulk action, an import, the API, a plugin's write) shows at once, and kept for
``CHART_TTL_SECONDS`` (a setting, 300 s by default) against writes made by other programs.
Pages receive the numbers as JSON in a ``data-chart`` attribute, drawn by
``static/charts.js`` (allowed by the strict Content-Security-Policy; Chart.js draws labels
and tooltips on a canvas, as text, so a value can never become markup), with the same
numbers in an HTML table.

Grouped by a foreign key (``group_by="customer_id"``), the groups are labelled by the
parent row's display column (the one that labels it in lookups and links: ``display_column``
in the table's ``TABLES`` settings, else a ``name``/``title``/``label``/``email`` column),
read in the same query by a join; two parents with the same label stay two groups, shown as
``Ann Smith (#3)`` and ``Ann Smith (#7)``; rows without a parent make the group ``(none)``.
An operator who may not see the parent table sees the keys instead.

A declaration is checked when the app starts: an unknown table or column, a measure that
does not fit its column, or a kind without what it needs is reported in ``dashboard
plugins`` and shown as an error panel where the chart would be, never as a 500.

Advanced: ``sql=`` instead of ``table=`` runs that SELECT as written (it must return
``label, value`` rows, or one value for ``kind="number"``). It is declared in code only:
no part of it ever comes from a request. It runs in a read-only transaction and is shown
to administrators unless ``roles`` names more. ``tables=`` names the tables it reads, so a
write to any of them refreshes it; without it the dashboard looks for served tables named
after ``FROM`` and ``JOIN`` in the SQL, and when it finds one it does not serve (a view, a
function), the chart is refreshed by a write to any table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import typing as t
from dataclasses import asdict, dataclass, field

if t.TYPE_CHECKING:
    from dashboard.db.reflection import ForeignKeyInfo
    from dashboard.web.table_view import TableView

MEASURES: tuple[str, ...] = ("count", "sum", "avg", "min", "max")
BUCKETS: tuple[str, ...] = ("day", "week", "month", "year")
KINDS: tuple[str, ...] = ("bar", "line", "pie", "number")
#: Filter operators of ``where``: ``{"status": "paid"}`` means ``("eq", "paid")``.
OPERATORS: tuple[str, ...] = ("eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "is_null", "not_null")
MAX_GROUPS = 500


@dataclass(frozen=True)
class Chart:
    """One chart, declared as data: computed by the database, cached until a write through the
    dashboard to a table it reads, and for at most ``CHART_TTL_SECONDS`` (a setting, 300 s by
    default) against writes made by other programs.

    :param name: unique id, conventionally ``plugin.chart`` (letters, digits, ``_.:-``).
    :param title: the caption shown above it.
    :param table: the table (its id: ``name`` or ``schema.name``) to aggregate.
    :param group_by: the column whose values (or date buckets) make the groups; none for ``kind="number"``.
    :param bucket: ``day``, ``week`` (from Monday), ``month`` or ``year`` of ``group_by``, a date column.
    :param measure: ``count`` (rows, or non-null values of ``column``), ``sum``, ``avg``, ``min`` or ``max``
        of ``column``.
    :param column: the numeric column measured (not needed for ``count``).
    :param where: filters, ``{column: value}`` or ``{column: (operator, value)}``; values are bound parameters.
    :param kind: ``bar``, ``line``, ``pie`` or ``number`` (one figure).
    :param last: with ``bucket``, only the last N buckets up to today (those without rows show 0).
    :param limit: most groups shown (1 to 500, default 50): the biggest ones, or the latest buckets.
    :param home: also show it on the home page.
    :param on_list: also show it under its table's list.
    :param sql: instead of ``table``: a SELECT returning ``label, value`` rows (see the module docs).
    :param roles: for ``sql`` charts, the roles besides ``admin`` that may see it.
    :param description: a line of explanation under the title, shown as text.
    :param recent_only: on the home page, shown only while some row's ``group_by`` falls in the
        chart's ``last`` buckets (one cached query, :mod:`dashboard.plugins.recency`): a "last 12
        months" chart of old data would be empty.
    :param label_column: with ``group_by`` a foreign key, the parent table's column that labels
        the groups instead of its display column. A ``group_by`` in a foreign key of several
        columns is shown as its raw values.
    :param tables: for ``sql`` charts, the tables (ids, as ``table``) the SQL reads: a write
        through the dashboard to any of them refreshes the chart. Found in the SQL when not given.
    :param on_details: a table (id) whose details page shows this chart, computed over the rows of
        ``table`` that refer to the row shown, through the foreign key from ``table`` to it. Seen
        by operators who may view both tables.
    :param details_fk: with ``on_details``, the column of the foreign key to use when ``table``
        has more than one to that table (``details_fk="customer_id"``).
    """

    name: str
    title: str = ""
    table: str | None = None
    group_by: str | None = None
    bucket: str | None = None
    measure: str = "count"
    column: str | None = None
    where: t.Mapping[str, t.Any] = field(default_factory=dict)
    kind: str = "bar"
    last: int | None = None
    limit: int = 50
    home: bool = False
    on_list: bool = False
    sql: str | None = None
    roles: tuple[str, ...] = ()
    description: str = ""
    recent_only: bool = False
    label_column: str | None = None
    tables: tuple[str, ...] | None = None
    on_details: str | None = None
    details_fk: str | None = None

    def fingerprint(self) -> str:
        """A digest of what the figures depend on, so a changed declaration never reads an old cache entry."""
        shown_only = ("title", "description", "home", "on_list", "roles", "recent_only")
        payload = json.dumps(
            {k: v for k, v in asdict(self).items() if k not in shown_only}, default=str, sort_keys=True
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


class ChartError(Exception):
    """A chart that cannot be computed; ``message`` is safe to show to administrators."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class ChartEntry:
    """A declared chart as the app holds it: checked, with its table's view, or with its problem."""

    chart: Chart
    plugin: str
    view: TableView | None = None
    problem: str | None = None
    #: With ``group_by`` a one-column foreign key: the parent table's view and that key.
    parent: TableView | None = None
    parent_fk: ForeignKeyInfo | None = None
    #: For ``sql`` charts: the tables it reads (ids); ``None`` when that is not known (every table).
    reads: tuple[str, ...] | None = None
    #: With ``on_details``: the table whose details page shows it, and the foreign key to its rows.
    details_view: TableView | None = None
    details_fk: ForeignKeyInfo | None = None


@dataclass
class ChartData:
    """What a chart shows: a label and a value per group, and when they were read.

    A label is ``None`` for the group of rows whose foreign key is empty (shown as ``(none)``).
    """

    labels: list[str | None]
    values: list[float | None]
    read_at: dt.datetime
    cached: bool = False
