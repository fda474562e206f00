"""Numbers, dates and times in the operator's locale: every stored digit kept, zones converted."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, localcontext
from zoneinfo import ZoneInfo

import pytest
from babel import Locale
from flask import Flask

from dashboard import i18n
from dashboard.i18n import formatting
from dashboard.settings import DEFAULTS


@pytest.fixture
def berlin() -> Flask:
    """A bare app with the dashboard's locale set-up, showing zoned datetimes in Berlin time."""
    app = Flask("formatting")
    app.config.update(DEFAULTS, BABEL_DEFAULT_TIMEZONE="Europe/Berlin")
    i18n.init_app(app)
    return app


@pytest.mark.parametrize(
    ("value", "locale", "shown"),
    [
        (Decimal("1234567.50"), "de", "1.234.567,50"),
        (Decimal("1234567.50"), "en", "1,234,567.50"),
        (Decimal("1234567.50"), "fr", "1\u202f234\u202f567,50"),
        (Decimal("1234567.50"), "ru", "1\xa0234\xa0567,50"),
        (Decimal("0.10"), "it", "0,10"),  # the scale is kept: not 0,1
        (Decimal("-12.000"), "nl", "-12,000"),
        (Decimal("12345678901234567890.0000000001"), "de", "12.345.678.901.234.567.890,0000000001"),
        (12345, "pt_BR", "12.345"),
        (12345, "ja", "12,345"),
        (0.1, "de", "0,1"),  # a float's shortest exact text, not 0,1000000000000000055511
        (1e-07, "en", "0.0000001"),
    ],
)
def test_numbers_keep_every_stored_digit_with_the_locales_separators(value, locale, shown) -> None:
    assert formatting.format_number(value, Locale.parse(locale)) == shown


@pytest.mark.parametrize("locale", sorted(i18n.LANGUAGE_NAMES))
def test_numbers_are_written_as_babels_pattern_writes_them(locale: str) -> None:
    # format_number writes the text itself, for speed; Babel's pattern engine is the reference.
    from babel.numbers import parse_pattern

    values = [
        Decimal("1234567.50"),
        Decimal("-0.00"),
        Decimal("-1234.5"),
        Decimal("1E+3"),
        Decimal("0.0000001"),
        Decimal("12345678901234567890.0000000001"),
        0,
        -7,
        999,
        1000,
        -1000000,
        0.1,
        -2.5e-8,
        1e21,
    ]
    for value in values:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        exponent = number.as_tuple().exponent
        scale = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        for grouping in (True, False):
            pattern = parse_pattern(("#,##0" if grouping else "0") + ("." + "0" * scale if scale else ""))
            with localcontext() as context:
                context.prec = 60
                expected = pattern.apply(number, Locale.parse(locale), decimal_quantization=False)
            assert formatting.format_number(value, Locale.parse(locale), grouping=grouping) == expected, (
                value,
                grouping,
            )


def test_identifiers_are_not_grouped() -> None:
    assert formatting.format_number(10042, Locale.parse("de"), grouping=False) == "10042"
    assert formatting.format_number(Decimal("10042.5"), Locale.parse("de"), grouping=False) == "10042,5"


@pytest.mark.parametrize("value", [Decimal("NaN"), float("inf"), float("-inf"), "not a number", None])
def test_what_is_not_a_finite_number_keeps_its_text(value) -> None:
    assert formatting.format_number(value, Locale.parse("de")) is None


@pytest.mark.parametrize(
    ("locale", "shown"),
    [
        ("en", "Mar 1, 2024"),
        ("de", "01.03.2024"),
        ("ja", "2024/03/01"),
        ("zh_Hans_CN", "2024年3月1日"),
        ("es", "1 mar 2024"),
    ],
)
def test_dates_in_the_locales_medium_format(locale: str, shown: str) -> None:
    assert formatting.format_date_value(dt.date(2024, 3, 1), Locale.parse(locale)) == shown


def test_a_datetime_without_a_zone_is_shown_as_stored(berlin: Flask) -> None:
    with berlin.test_request_context(headers={"Accept-Language": "de"}):
        assert formatting.format_value("datetime", dt.datetime(2024, 3, 1, 14, 30, 5)) == "01.03.2024, 14:30:05"


def test_a_datetime_with_a_zone_is_shown_in_the_configured_zone_with_its_name(berlin: Flask) -> None:
    moment = dt.datetime(2024, 7, 1, 12, 0, tzinfo=dt.UTC)
    with berlin.test_request_context(headers={"Accept-Language": "de"}):
        assert formatting.format_value("datetime", moment) == "01.07.2024, 14:00:00 CEST"
    new_york = dt.datetime(2024, 7, 1, 8, 0, tzinfo=ZoneInfo("America/New_York"))
    with berlin.test_request_context(headers={"Accept-Language": "ja"}):
        assert formatting.format_value("datetime", new_york) == "2024/07/01 14:00:00 CEST"
    assert moment.tzinfo is dt.UTC  # the value itself is untouched


def test_the_clock_of_a_listing_is_in_the_configured_zone(berlin: Flask) -> None:
    with berlin.test_request_context(headers={"Accept-Language": "en"}):
        assert formatting.format_clock(dt.datetime(2024, 1, 15, 23, 30, 0, tzinfo=dt.UTC)) == "00:30:00 CET"
        assert formatting.format_clock(dt.datetime(2024, 1, 15, 23, 30, 0)) == "00:30:00 CET"  # naive: UTC


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("time", dt.time(9, 5, tzinfo=dt.UTC)),
        ("string", "12.5"),
        ("date", "2024-03-01"),
        ("boolean", True),
    ],
)
def test_values_it_cannot_format_keep_their_codec_text(kind: str, value) -> None:
    assert formatting.format_value(kind, value) is None


@pytest.mark.parametrize(
    ("locale", "bucket", "label", "shown"),
    [
        ("de", "month", "2024-03", "März 2024"),
        ("ja", "month", "2024-03", "2024年3月"),
        ("fr", "day", "2024-03-01", "1 mars 2024"),
        ("en", "week", "2024-02-26", "Feb 26, 2024"),
        ("de", "year", "2024", "2024"),
        ("de", None, "paid", "paid"),  # a column's value, not a date
        ("de", "month", "NULL", "NULL"),
    ],
)
def test_chart_axis_labels_of_date_buckets_follow_the_locale(berlin: Flask, locale, bucket, label, shown) -> None:
    with berlin.test_request_context(headers={"Accept-Language": locale}):
        assert formatting.format_bucket(bucket, label) == shown
