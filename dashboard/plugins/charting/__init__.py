"""The chart engine behind :class:`dashboard.charts.Chart`: a plugin never imports it, it declares
charts and the dashboard runs them. One module per step:

- :mod:`~dashboard.plugins.charting.checks`: a declaration checked against the tables, at start-up;
- :mod:`~dashboard.plugins.charting.sql_tables`: the tables an ``sql=`` chart reads, found in its SQL;
- :mod:`~dashboard.plugins.charting.buckets`: date buckets in each dialect's SQL, and filling gaps;
- :mod:`~dashboard.plugins.charting.statements`: the aggregate statement of a table chart;
- :mod:`~dashboard.plugins.charting.computing`: running it, cached until a write to a table it reads;
- :mod:`~dashboard.plugins.charting.panels`: what pages show, details pages included.
"""

from dashboard.plugins.charting.buckets import bucket_expression, first_bucket, inline_date
from dashboard.plugins.charting.checks import check
from dashboard.plugins.charting.computing import compute
from dashboard.plugins.charting.panels import (
    ChartPanel,
    details_charts,
    details_panels,
    format_value,
    missing,
    panel,
    panels,
    visible,
)
from dashboard.plugins.charting.statements import statement

__all__ = [
    "ChartPanel",
    "bucket_expression",
    "check",
    "compute",
    "details_charts",
    "details_panels",
    "first_bucket",
    "format_value",
    "inline_date",
    "missing",
    "panel",
    "panels",
    "statement",
    "visible",
]
