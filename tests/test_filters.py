"""List filters through the list page on every dialect: ranges, presets, lists, "empty", the OR
group, the messages for bad values, and the compact filter data the page carries.

One ``events`` table per dialect (module-scoped), read by an admin; the rows a filter keeps
are read from the page's ``id`` cells. Presets run on a fixed clock (:func:`dashboard.clock.set_clock`)
in the Europe/Berlin display zone, so "today" starts at 23:00 UTC the evening before.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import typing as t
from urllib.parse import quote, urljoin

import pytest
import sqlalchemy as sa

from dashboard.clock import set_clock
from dashboard.web.filters import filters_for
from tests.checklist import filter_arg
from tests.databases import make_database
from tests.site import Site, make_site

TABLE = "events"
BERLIN = "Europe/Berlin"


def _write_events(url: str) -> None:
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    events = sa.Table(
        TABLE,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("title", sa.String(40), nullable=True),
        sa.Column("code", sa.String(10), nullable=False),
        sa.Column("amount", sa.Numeric(10, 2), nullable=True),
        sa.Column("day", sa.Date, nullable=True),
        sa.Column("at", sa.DateTime, nullable=True),
        sa.Column("at_zone", sa.DateTime(timezone=True), nullable=True),
        sa.Column("opens", sa.Time, nullable=True),
    )
    utc = dt.UTC
    rows = [
        # id, title, code, amount, day, at (naive), at_zone (UTC), opens
        (
            1,
            "alpha",
            "A",
            "10.00",
            dt.date(2026, 3, 1),
            dt.datetime(2026, 3, 1, 8),
            dt.datetime(2026, 3, 1, 8, tzinfo=utc),
            dt.time(8),
        ),
        (
            2,
            "beta",
            "",
            "20.50",
            dt.date(2026, 3, 15),
            dt.datetime(2026, 3, 15, 23, 30),
            dt.datetime(2026, 2, 28, 23, 30, tzinfo=utc),
            dt.time(12, 30),
        ),
        (
            3,
            None,
            "C",
            None,
            dt.date(2026, 2, 28),
            dt.datetime(2026, 2, 28, 23, 30),
            dt.datetime(2026, 2, 28, 22, 30, tzinfo=utc),
            None,
        ),
        (
            4,
            "",
            "D",
            "5",
            dt.date(2026, 2, 1),
            dt.datetime(2026, 1, 31, 23, 59, 59),
            dt.datetime(2026, 2, 1, 12, tzinfo=utc),
            dt.time(17),
        ),
        (5, "gamma, delta", "E", "100", dt.date(2025, 12, 31), dt.datetime(2026, 1, 1, 0, 0), None, dt.time(23, 59)),
        (6, "epsilon", "F", "20.5", None, None, None, dt.time(0)),
    ]
    columns = ["id", "title", "code", "amount", "day", "at", "at_zone", "opens"]
    try:
        metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(events.insert(), [dict(zip(columns, row, strict=True)) for row in rows])
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def events_url(dialect: str) -> t.Iterator[str]:
    with make_database(dialect) as url:
        _write_events(url)
        yield url


@pytest.fixture(scope="module")
def site(events_url: str, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Site]:
    """An admin on ``events``, shown in Berlin time, on a clock stopped at 2026-03-01 00:30 Berlin."""
    site = make_site(events_url, tmp_path_factory.mktemp("instance"), BABEL_DEFAULT_TIMEZONE=BERLIN)
    set_clock(site.app, lambda: _moment("2026-03-01 00:30"))
    yield site
    # Close pooled connections before the fixture drops the database under them.
    site.state.engine.dispose()


def _moment(berlin_wall_clock: str) -> float:
    from zoneinfo import ZoneInfo

    return dt.datetime.fromisoformat(berlin_wall_clock).replace(tzinfo=ZoneInfo(BERLIN)).timestamp()


def ids(page: str) -> list[int]:
    """The ``id`` cells of a list page, as numbers, in page order."""
    cells = re.findall(r'<td class="col-id[^"]*">(.*?)</td>', page, re.S)
    return sorted(int(re.sub(r"<[^>]+>", "", cell).strip()) for cell in cells)


def arg(site: Site, column: str, operation: str, position: int = 0, any_of: bool = False) -> str:
    """The address argument of ``operation`` on ``column`` at ``position`` (in the OR group if ``any_of``)."""
    name = filter_arg(site, TABLE, column, operation).removeprefix("flt0_")
    return f"flt{position}_{'or-' if any_of else ''}{name}"


def listing(site: Site, *filters: tuple[str, str]) -> tuple[list[int], list[str]]:
    """The ids the list page shows for ``filters`` (``(argument, value)``), and its messages."""
    query = "&".join(f"{name}={quote(value, safe='')}" for name, value in filters)
    response = site.get(f"{site.url(TABLE)}?{query}")
    assert response.status_code == 200, query
    page = response.get_data(as_text=True)
    return ids(page), site.flashes(page)


@pytest.mark.parametrize(
    "column, operation, value, expected",
    [
        ("title", "contains", "LPH", [1]),
        ("title", "not contains", "a", [3, 4, 6]),  # NULL contains nothing
        ("title", "equals", "beta", [2]),
        ("title", "not equal", "alpha", [2, 3, 4, 5, 6]),
        ("amount", "equals", "20.5", [2, 6]),
        ("amount", "greater than", "20", [2, 5, 6]),
        ("amount", "smaller than", "10", [4]),
        ("day", "equals", "2026-03-01", [1]),
        ("day", "not equal", "2026-03-01", [2, 3, 4, 5, 6]),
        ("at", "greater than", "2026-03-01", [1, 2]),
        ("at", "smaller than", "2026-01-31 23:59:59", [5]),
        ("opens", "equals", "12:30", [2]),
        ("opens", "smaller than", "08:00", [6]),
    ],
)
def test_the_original_operations(site, column, operation, value, expected):
    assert listing(site, (arg(site, column, operation), value)) == (expected, [])


@pytest.mark.parametrize(
    "column, value, expected",
    [
        ("id", "2 to 4", [2, 3, 4]),
        ("id", "3 to 3", [3]),
        ("amount", "10 to 20.5", [1, 2, 6]),
        ("day", "2026-02-01 to 2026-02-28", [3, 4]),
        ("at", "2026-01-31 23:59:59 to 2026-02-28 23:30", [3, 4]),
        ("at", "2026-01-01 to 2026-02-28", [3, 4, 5]),  # a date alone: all of that day
        ("at", "2026-01-01 to 2026-03-01 00:00", [3, 4, 5]),
        ("at", "2026-02-28 23:30 to 2026-03-01", [1, 3]),
        ("opens", "08:00 to 17:00", [1, 2, 4]),
    ],
)
def test_between_keeps_both_ends(site, column, value, expected):
    shown, messages = listing(site, (arg(site, column, "between"), value))
    assert (shown, messages) == (expected, [])


@pytest.mark.parametrize(
    "column, value, reason",
    [
        ("id", "4 to 2", "The range starts after it ends"),
        ("id", "4", "Enter a range as FROM to TO"),
        ("id", "1 to x", "Enter a whole number"),
        ("amount", "1 to 2 to 3", "Enter a range as FROM to TO"),
        ("day", "2026-02-30 to 2026-03-01", "Enter a date as YYYY-MM-DD"),
        ("day", "2026-03-01 to 2026-02-01", "The range starts after it ends"),
        ("at", "2026-01-01 to tomorrow", "Enter a date and time"),
        ("opens", "25:00 to 26:00", "Enter a time"),
        ("opens", " to 08:00", "Enter a range as FROM to TO"),
    ],
)
def test_a_bad_range_is_a_message_not_an_error(site, column, value, reason):
    shown, messages = listing(site, (arg(site, column, "between"), value))
    assert any(f"Invalid Filter Value: {value}" in m and reason in m for m in messages), messages
    assert shown == [1, 2, 3, 4, 5, 6]  # the refused filter is left out


def test_a_range_of_datetimes_with_and_without_zone_is_a_message(site):
    value = "2026-01-01 00:00+01:00 to 2026-02-01 00:00"
    _shown, messages = listing(site, (arg(site, "at", "between"), value))
    assert any("a time zone, or neither" in m for m in messages), messages


@pytest.mark.parametrize(
    "column, value, expected",
    [
        ("id", "1,3, 5", [1, 3, 5]),
        ("id", "6\n2\n\n2", [2, 6]),
        ("amount", "20.5,5", [2, 4, 6]),
        ("title", "alpha,epsilon,nothing", [1, 6]),
        ("title", "gamma, delta\nbeta", [2, 5]),  # one a line: a comma belongs to the value
        ("day", "2026-03-01,2026-02-01", [1, 4]),
        ("at", "2026-03-01 08:00:00\r\n2026-01-01 00:00", [1, 5]),
        ("opens", "08:00,23:59", [1, 5]),
    ],
)
def test_in_list(site, column, value, expected):
    shown, messages = listing(site, (arg(site, column, "in list"), value))
    assert (shown, messages) == (expected, [])


@pytest.mark.parametrize(
    "column, value, reason",
    [
        ("id", "1,two,3", "Value 2 (two): Enter a whole number."),
        ("day", "2026-01-01\nyesterday", "Value 2 (yesterday): Enter a date as YYYY-MM-DD."),
        ("id", " , ,", "Enter at least one value."),
        ("id", ",".join(str(n) for n in range(1001)), "At most 1000 values (you gave 1001)."),
        ("title", "x" * 41, "At most 40 characters"),
    ],
)
def test_a_bad_list_is_a_message_not_an_error(site, column, value, reason):
    _shown, messages = listing(site, (arg(site, column, "in list"), value))
    assert any(reason in m for m in messages), messages
    assert all(len(m) < 600 for m in messages)  # a long list is not repeated whole


def test_a_list_of_a_thousand_values_is_taken(site):
    value = "\n".join(str(n) for n in range(1000))
    assert listing(site, (arg(site, "id", "in list"), value)) == ([1, 2, 3, 4, 5, 6], [])


@pytest.mark.parametrize(
    "column, value, expected",
    [
        ("title", "1", [3, 4]),  # NULL and ''
        ("title", "0", [1, 2, 5, 6]),
        ("amount", "1", [3]),
        ("amount", "0", [1, 2, 4, 5, 6]),
        ("day", "1", [6]),
        ("code", "1", [2]),  # NOT NULL, yet empty
        ("code", "0", [1, 3, 4, 5, 6]),
    ],
)
def test_empty_is_null_and_for_text_also_the_empty_text(site, column, value, expected):
    assert listing(site, (arg(site, column, "empty"), value)) == (expected, [])


def test_the_original_operations_keep_their_numbers(site):
    """Addresses written before the new operations (``flt0_<index>``) name the same filter."""
    view = site.state.views[TABLE]
    original = []
    for column in view.visible:
        for flt in filters_for(view.store.column(column.key), "", view._codec(column.key), column.nullable):
            original.append((flt.column.name, type(flt).__name__))
    assert [(f.column.name, type(f).__name__) for f in view._filters[: len(original)]] == original
    # For instance "title empty" by its number, as an old bookmark has it.
    index = next(i for i, (name, kind) in enumerate(original) if (name, kind) == ("title", "EmptyFilter"))
    assert listing(site, (f"flt0_{index}", "1")) == ([3, 4], [])


def test_or_group(site):
    alpha = (arg(site, "title", "equals", 0, any_of=True), "alpha")
    big = (arg(site, "amount", "greater than", 1, any_of=True), "50")
    assert listing(site, alpha, big) == ([1, 5], [])
    # AND with the plain filters: (title = alpha OR amount > 50) AND day < 2026-01-01
    assert listing(site, alpha, big, (arg(site, "day", "smaller than", 2), "2026-01-01")) == ([5], [])
    # One member alone is that filter; the same operation twice is either value.
    assert listing(site, alpha) == ([1], [])
    twice = (arg(site, "title", "equals", 1, any_of=True), "beta")
    assert listing(site, alpha, twice) == ([1, 2], [])
    # A refused member is left out with its message; the others still count.
    shown, messages = listing(site, alpha, (arg(site, "id", "between", 1, any_of=True), "9 to 1"))
    assert shown == [1] and any("The range starts after it ends" in m for m in messages)


def test_or_group_survives_sorting_and_searching(site):
    alpha = arg(site, "title", "equals", 0, any_of=True)
    beta = arg(site, "title", "equals", 1, any_of=True)
    page = site.text(f"{site.url(TABLE)}?{alpha}=alpha&{beta}=beta")
    assert ids(page) == [1, 2]
    sort_links = {html.unescape(link) for link in re.findall(r'href="([^"]*\?sort=[^"]*)"', page)}
    assert sort_links and all(f"{alpha}=alpha&{beta}=beta" in link for link in sort_links), sort_links
    # (Sort links are relative to the list: "?sort=...".)
    assert ids(site.text(urljoin(site.url(TABLE), sort_links.pop()))) == [1, 2]
    # The search form sends them along too.
    assert f'name="{alpha}" value="alpha"' in page and f'name="{beta}" value="beta"' in page


@pytest.mark.parametrize(
    "now, preset, column, expected",
    [
        # 2026-03-01 00:30 in Berlin is still 2026-02-28 in UTC.
        ("2026-03-01 00:30", "today", "day", [1]),
        ("2026-03-01 00:30", "today", "at", [1]),
        ("2026-03-01 00:30", "this-month", "day", [1, 2]),
        ("2026-03-01 00:30", "last-month", "day", [3, 4]),
        ("2026-03-01 00:30", "last-month", "at", [3]),  # 2026-01-31 23:59:59 is January
        ("2026-03-01 00:30", "last-7-days", "day", [1, 3]),
        ("2026-03-01 00:30", "last-7-days", "at", [1, 3]),
        ("2026-03-15 12:00", "today", "day", [2]),
        ("2026-03-31 23:59", "this-month", "at", [1, 2]),
        ("2026-01-10 09:00", "last-month", "day", [5]),  # December of the year before
        ("2026-01-10 09:00", "this-month", "at", [4, 5]),
        ("2026-02-05 09:00", "last-month", "at", [4, 5]),
        ("2026-02-05 09:00", "last-7-days", "day", [4]),
    ],
)
def test_date_presets_on_a_fixed_clock(site, now, preset, column, expected):
    set_clock(site.app, lambda: _moment(now))
    try:
        assert listing(site, (arg(site, column, "in period"), preset)) == (expected, [])
    finally:
        set_clock(site.app, lambda: _moment("2026-03-01 00:30"))


def test_date_presets_on_a_column_with_a_time_zone(site, dialect):
    shown, messages = listing(site, (arg(site, "at_zone", "in period"), "today"))
    assert messages == []
    if dialect == "postgresql":
        # Moments: 2026-02-28 23:30 UTC is 00:30 on 1 March in Berlin; 22:30 UTC is still February.
        assert shown == [1, 2]
    else:
        # SQLite and MariaDB keep no zone: the values are wall-clock times, as shown.
        assert shown == [1]


def test_a_preset_address_follows_the_clock(site):
    """The same address shows the day it is opened: the kept page and listing are per day."""
    today = (arg(site, "day", "in period"), "today")
    assert listing(site, today)[0] == [1]
    set_clock(site.app, lambda: _moment("2026-03-15 08:00"))
    try:
        assert listing(site, today)[0] == [2]
    finally:
        set_clock(site.app, lambda: _moment("2026-03-01 00:30"))
    assert listing(site, today)[0] == [1]


def test_an_unknown_preset_is_a_message(site):
    shown, messages = listing(site, (arg(site, "day", "in period"), "yesterday"))
    assert shown == [1, 2, 3, 4, 5, 6]
    assert any("Choose one of: today, last-7-days, this-month, last-month" in m for m in messages), messages


def test_a_refused_value_is_said_again_on_the_next_visit(site):
    """A refused value's page is not kept: a kept page would show the rows without the message."""
    bad = (arg(site, "id", "between"), "7 to 1")
    for _visit in range(2):
        assert any("The range starts after it ends" in m for m in listing(site, bad)[1])


@pytest.mark.parametrize("value", ["\x00", "x" * 1001, "1 to " + "9" * 1000])
def test_hostile_values_are_messages(site, value):
    for operation in ("between", "equals", "in list"):
        response = site.get(f"{site.url(TABLE)}?{arg(site, 'id', operation)}={quote(value)}")
        assert response.status_code == 200


def _filter_data(page: str) -> t.Any:
    found = re.search(r'<div id="filter-groups-data" class="d-none">(.*?)</div>', page, re.S)
    assert found is not None
    return found.group(1)


def test_the_filter_data_is_compact(site):
    text = _filter_data(site.text(site.url(TABLE)))
    assert " " not in text.replace("any of these", "").replace("in list", "").replace("not equal", "").replace(
        "greater than", ""
    ).replace("smaller than", "").replace("not contains", "").replace("in period", "").replace(
        "last 7 days", ""
    ).replace("this month", "").replace("last month", "")
    assert "null" not in text
    data = json.loads(text)
    # Every label, input type and option list once, however many columns use them.
    assert len(data["l"]) == len(set(data["l"])) and data["l"].count("equals") == 1
    assert sum(1 for options in data["o"] if options[0][0] == "today") == 1
    # 8 columns, 64 operations: less than Flask-Admin's 2.9 KB for 6 columns and 28.
    assert len(text) < 1400, len(text)
    operations = sum(len(group) for group in data["g"].values())
    assert operations == len([f for f in site.state.views[TABLE]._filters if type(f).__name__ != "AnyOfFilter"])


def test_the_filter_data_of_a_hostile_name_is_escaped(site):
    page = site.text(f"{site.url(TABLE)}?{arg(site, 'title', 'equals')}=%3C/div%3E%3Cscript%3Ealert(1)%3C/script%3E")
    active = re.search(r'<div id="active-filters-data" class="d-none">(.*?)</div>', page, re.S)
    assert active is not None and "<" not in active.group(1)
    assert json.loads(active.group(1))[0][2] == "</div><script>alert(1)</script>"
