"""Numbers, dates and times in the operator's locale, for lists, details and charts.

Display only: stored values never change, and forms keep the locale-neutral text of the
column's codec (``1234.50``, ``2024-03-01 14:30:00``) so that saving a form sends back
exactly what was loaded. Decimals keep every digit of their stored scale (``12.50`` is
``12,50`` in German, not ``12,5``); datetimes that carry a zone are shown in the configured
zone (``BABEL_DEFAULT_TIMEZONE``) with its name, those without one exactly as stored.
Everything here falls back to the codec's text for values it does not know how to show.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import typing as t

from babel import Locale
from babel.dates import format_date, format_skeleton, format_time
from babel.numbers import get_decimal_symbol, get_group_symbol

from dashboard.i18n.translation import current_locale, display_zone

#: Codec kinds this module formats; every other value keeps its codec text.
NUMBER_KINDS = frozenset({"integer", "decimal", "float"})
TEMPORAL_KINDS = frozenset({"date", "datetime", "time"})


def format_number(value: t.Any, locale: Locale | None = None, *, grouping: bool = True) -> str | None:
    """A number with the locale's separators and all of its stored digits, or ``None``.

    :param grouping: group thousands (off for identifiers such as primary keys).
    """
    try:
        number = (
            value
            if isinstance(value, decimal.Decimal)
            else decimal.Decimal(repr(value) if isinstance(value, float) else value)
        )
    except (decimal.InvalidOperation, TypeError, ValueError):
        return None
    if not number.is_finite() or isinstance(value, bool):
        return None
    group, point = _number_symbols(str(locale or current_locale()))
    exponent = number.as_tuple().exponent
    scale = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    with decimal.localcontext() as context:
        # Room for every stored digit: NUMERIC(38, 10) is beyond the default 28.
        context.prec = max(context.prec, number.adjusted() + scale + 3)
        # Python's own fixed-point text has every stored digit and groups of three: what
        # Babel's pattern "#,##0.00…" writes in each of our locales, at a fifth of the cost
        # on every cell of a list (tests/test_formatting.py compares the two).
        whole, _, fraction = format(abs(number), ",f" if grouping else "f").partition(".")
    text = whole.replace(",", group) if grouping else whole
    if fraction:
        text += point + fraction
    # A plain hyphen-minus, as Babel's pattern writes it in every locale.
    return "-" + text if number.is_signed() else text


@functools.lru_cache(maxsize=64)
def _number_symbols(locale: str) -> tuple[str, str]:
    return get_group_symbol(locale), get_decimal_symbol(locale)


def format_date_value(value: dt.date, locale: Locale | None = None) -> str:
    """A date in the locale's medium format (``Mar 1, 2024``, ``01.03.2024``, ``2024年3月1日``)."""
    return str(format_date(value, "medium", locale=locale or current_locale()))


def format_datetime_value(value: dt.datetime, locale: Locale | None = None) -> str:
    """A datetime in the locale's medium format; one that carries a zone in the display zone, named."""
    locale = locale or current_locale()
    if value.tzinfo is None:
        date_text = format_date(value.date(), "medium", locale=locale)
        time_text = format_time(value.time(), "medium", locale=locale)
    else:
        shown = value.astimezone(display_zone())
        date_text = format_date(shown.date(), "medium", locale=locale)
        time_text = f"{format_time(shown.replace(tzinfo=None).time(), 'medium', locale=locale)} {_zone_name(shown)}"
    pattern = str(locale.datetime_formats["medium"]).replace("'", "")
    return pattern.replace("{0}", str(time_text)).replace("{1}", str(date_text))


def format_time_value(value: dt.time, locale: Locale | None = None) -> str | None:
    """A time of day in the locale's medium format; ``None`` for a time with a zone (shown as stored)."""
    if value.tzinfo is not None:
        return None
    return str(format_time(value, "medium", locale=locale or current_locale()))


def format_value(kind: str, value: t.Any, *, grouping: bool = True) -> str | None:
    """``value`` of a column whose codec is ``kind``, localized; ``None`` to keep the codec's text."""
    if value is None:
        return None
    if kind in NUMBER_KINDS:
        return format_number(value, grouping=grouping)
    if kind == "datetime" and isinstance(value, dt.datetime):
        return format_datetime_value(value)
    if kind == "date" and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return format_date_value(value)
    if kind == "time" and isinstance(value, dt.time):
        return format_time_value(value)
    return None


def format_clock(value: dt.datetime) -> str:
    """A moment (such as when a listing was read) as a 24-hour time of day in the display zone, named."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    shown = aware.astimezone(display_zone())
    return f"{format_skeleton('Hms', shown.replace(tzinfo=None), locale=current_locale())} {_zone_name(shown)}"


def _zone_name(value: dt.datetime) -> str:
    # The zone's own abbreviation (UTC, CET, CEST, EST, or +03 where there is none): CLDR's
    # long names ("Unknown Region (UTC) Time") read worse than what every operator knows.
    return value.tzname() or "UTC"


def format_moment(value: dt.datetime) -> str:
    """A moment (audit entries) as a date and time in the display zone, named; naive means UTC."""
    aware = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
    return format_datetime_value(aware)


def format_bucket(bucket: str | None, label: str) -> str:
    """A chart's bucket label (``2024-03-01``, ``2024-03``, ``2024``) in the operator's locale.

    Labels of other charts (a column's values, an SQL chart's rows) stay as they are.
    """
    return _bucket_label(bucket, label, current_locale())


@functools.lru_cache(maxsize=4096)
def _bucket_label(bucket: str | None, label: str, locale: Locale) -> str:
    # A chart under a list redraws the same few dozen labels on every page view.
    try:
        if bucket in ("day", "week") and len(label) == 10:
            return format_date_value(dt.date.fromisoformat(label), locale)
        if bucket == "month" and len(label) == 7:
            day = dt.date(int(label[:4]), int(label[5:7]), 1)
            return str(format_skeleton("yMMM", day, locale=locale))
    except ValueError:
        pass
    return label
