"""Date presets for list filters: "today", "last 7 days", "this month", "last month".

A preset is a filter whose value is the preset's name (``?flt0_12=last-7-days``), so a saved
or shared address means the same period relative to the day it is opened, not the day it
was made. The day is the app's clock (:mod:`dashboard.clock`, which tests fix) read in the
operator's display zone (``BABEL_DEFAULT_TIMEZONE``), the zone the pages show times in:

- a ``date`` column is compared with dates;
- a datetime without a zone is shown as stored, so it is compared with the display zone's
  wall-clock midnights, also without a zone;
- a datetime with a zone is compared with those midnights as moments (in UTC).

Every period is half-open, ``start <= column < end``, so the last microsecond of a day is in
it and the first of the next is not.
"""

from __future__ import annotations

import datetime as dt
import typing as t

import sqlalchemy as sa

from dashboard import clock
from dashboard.db.codecs import Codec
from dashboard.i18n.translation import display_zone, lazy_gettext
from dashboard.messages import N_, Message
from dashboard.web.filters import ColumnFilter
from dashboard.web.labels import LocalizedLabel

#: The presets, as ``(value, label)`` pairs: the value is what the address holds.
PRESETS: tuple[tuple[str, t.Any], ...] = (
    ("today", lazy_gettext("today")),
    ("last-7-days", lazy_gettext("last 7 days")),
    ("this-month", lazy_gettext("this month")),
    ("last-month", lazy_gettext("last month")),
)
PRESET_NAMES = tuple(name for name, _label in PRESETS)


def today() -> dt.date:
    """The current date in the display zone, by the app's clock."""
    return dt.datetime.fromtimestamp(clock.now(), display_zone()).date()


def period(name: str, day: dt.date) -> tuple[dt.date, dt.date]:
    """The dates ``[start, end)`` that preset ``name`` covers on ``day``."""
    first_of_month = day.replace(day=1)
    if name == "today":
        return day, day + dt.timedelta(days=1)
    if name == "last-7-days":  # today and the six days before it
        return day - dt.timedelta(days=6), day + dt.timedelta(days=1)
    if name == "this-month":
        return first_of_month, (first_of_month + dt.timedelta(days=32)).replace(day=1)
    if name == "last-month":
        return (first_of_month - dt.timedelta(days=1)).replace(day=1), first_of_month
    raise ValueError(name)


class PresetFilter(ColumnFilter):
    """Rows whose date or datetime falls in a preset period."""

    label = lazy_gettext("in period")

    def __init__(self, column: sa.ColumnElement[t.Any], name: str | LocalizedLabel, codec: Codec) -> None:
        super().__init__(column, name, codec, options=PRESETS)

    def clean(self, value: str) -> str:
        if value not in PRESET_NAMES:
            raise ValueError(Message(N_("Choose one of: %(choices)s."), choices=", ".join(PRESET_NAMES)))
        return value

    def cache_token(self, value: str) -> str:
        # The same address shows other rows tomorrow: the day is part of what the listing is.
        return f"{value}@{today().isoformat()}"

    def condition(self, value: t.Any) -> sa.ColumnElement[bool]:
        start, end = period(value, today())
        return sa.and_(self.column >= self._bound(start), self.column < self._bound(end))

    def _bound(self, day: dt.date) -> t.Any:
        if self.codec.kind == "date":
            return day
        midnight = dt.datetime.combine(day, dt.time())
        if self.codec.timezone:
            return midnight.replace(tzinfo=display_zone()).astimezone(dt.UTC)
        return midnight
