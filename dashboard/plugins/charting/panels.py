"""The chart panels pages show: the figures of the charts the operator may see, or an error
panel in place of one that cannot be shown; on a row's details page, its children's charts."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from flask import current_app, g
from flask_babel import format_decimal
from sqlalchemy.exc import SQLAlchemyError

from dashboard.charts import Chart, ChartData, ChartEntry, ChartError
from dashboard.i18n.formatting import format_bucket
from dashboard.i18n.translation import gettext
from dashboard.plugins.charting.checks import NAME
from dashboard.plugins.charting.computing import compute
from dashboard.plugins.runtime import EXTENSION_KEY, report, sees_details
from dashboard.security.permissions import can, operator_role

if t.TYPE_CHECKING:
    from dashboard.web.table_view import TableView


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
        shown_on = entry.details_view
        return can("view", entry.view.info) and (shown_on is None or can("view", shown_on.info))
    if entry.chart.sql is not None and entry.problem is None:
        return sees_details() or operator_role() in entry.chart.roles
    return sees_details()


def panel(entry: ChartEntry, details_key: t.Sequence[t.Any] | None = None) -> ChartPanel:
    """Compute ``entry`` for the current operator (who may see it: check :func:`visible` first).

    :param details_key: on a details page, the shown row's values the chart's foreign key refers to.
    """
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
        shown.data = compute(entry, details_key=details_key)
    except ChartError as exc:
        report(entry.plugin, f"chart {chart.name}", exc, traceback=False)
        shown.error = gettext("This chart could not be shown: its query failed.")
        shown.details = f"{entry.plugin}: {exc.message}" if sees_details() else None
        return shown
    # The group of rows without a parent, named in the operator's language (the cache holds None).
    labels = [gettext("(none)") if label is None else label for label in shown.data.labels]
    shown.data = ChartData([*labels], shown.data.values, shown.data.read_at, cached=shown.data.cached)
    # The axis names date buckets as dates of the operator's locale; the table beside keeps
    # the ISO labels (unambiguous, and what the cache and filters use).
    shown.axis_labels = [format_bucket(chart.bucket, label) for label in labels]
    shown.rows = [(label, format_value(value)) for label, value in zip(labels, shown.data.values, strict=True)]
    if chart.kind != "number":
        g.dashboard_charts_drawn = True
    return shown


def panels(entries: t.Iterable[ChartEntry]) -> list[ChartPanel]:
    """Panels of the ``entries`` the current operator may see, in order."""
    return [panel(entry) for entry in entries if visible(entry)]


def missing(name: str, plugin: str) -> ChartEntry:
    """The entry a page shows for a chart name nobody declared."""
    return ChartEntry(
        chart=Chart(name=name if NAME.match(str(name)) else "unknown"),
        plugin=plugin,
        problem=f"no chart called {name!r} is declared",
    )


def details_charts(view: t.Any, record: t.Any) -> list[ChartPanel]:
    """Panels of the plugins' charts for the details page of ``record``, a row of ``view`` (what
    ``templates/dashboard/_details_charts.html`` shows); none on any other page."""
    if record is None or getattr(view, "info", None) is None:
        return []
    found = current_app.extensions[EXTENSION_KEY].charts
    try:
        return details_panels(view, record, found.values())
    except SQLAlchemyError:
        raise
    except Exception as exc:  # noqa: BLE001 -- charts never take their page down
        report("dashboard", f"charts on the details of {view.info.id}", exc)
        return []


def details_panels(view: TableView, record: t.Any, entries: t.Iterable[ChartEntry]) -> list[ChartPanel]:
    """Panels of the charts shown on the details page of ``record``, a row of ``view``: those of
    ``entries`` declared ``on_details`` of its table that the operator may see, each over the rows
    referring to it."""
    panels: list[ChartPanel] = []
    for entry in entries:
        fk, shown_on = entry.details_fk, entry.details_view
        if fk is None or shown_on is None or shown_on.info.id != view.info.id or not visible(entry):
            continue
        details_key = [getattr(record, view.info.column(target).key) for target in fk.target_columns]
        panels.append(panel(entry, details_key))
    return panels
