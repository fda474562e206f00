"""The filter bar in a real Chromium: a date range, a date preset, the OR group, and a date typed
or pasted into a picker's input that stays as typed.

The ``events`` table is served by ``dashboard serve`` from SQLite (the filters' SQL is tested
on every dialect in ``tests/test_filters.py``; here it is what the bar sends). Presets run on
the real clock, so the rows for them are dated relative to today (UTC, the default display
zone), the others years back. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import datetime as dt
import re
import typing as t
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import sqlalchemy as sa

from tests.browser import require_browser
from tests.databases import make_database
from tests.test_e2e import Operator, logged_in, serve_to_operator

pytestmark = pytest.mark.e2e


def _write_events(url: str) -> None:
    today = dt.datetime.now(dt.UTC).date()
    days = [today, today - dt.timedelta(days=3), today - dt.timedelta(days=40)]
    days += [dt.date(2020, 1, 5), dt.date(2020, 1, 20), dt.date(2020, 2, 10)]
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    events = sa.Table(
        "events",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("day", sa.Date),
        sa.Column("at", sa.DateTime),
        sa.Column("amount", sa.Integer),
    )
    try:
        metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(
                events.insert(),
                [
                    {"id": n, "day": day, "at": dt.datetime.combine(day, dt.time(10)), "amount": 10 * n}
                    for n, day in enumerate(days, start=1)
                ],
            )
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[str]:
    require_browser()
    instance: Path = tmp_path_factory.mktemp("instance")
    with make_database("sqlite") as url:
        _write_events(url)
        with serve_to_operator(instance, url) as base:
            yield base


@pytest.fixture
def operator(chromium: t.Any, served: str) -> t.Iterator[Operator]:
    with logged_in(chromium, served) as who:
        yield who


def add_filter(operator: Operator, column: str, operation: str) -> t.Any:
    """Add a filter on ``column`` from the menu and choose ``operation``; the filter's row."""
    page = operator.page
    page.click("a.nav-link:has-text('Add Filter')")
    page.locator(".field-filters a.filter").get_by_text(column, exact=True).click()
    row = page.locator("#filter_form tr").last
    row.locator(".select2-container.filter-op a.select2-choice").click()
    exactly = re.compile(f"^{re.escape(operation)}$")
    page.locator(".select2-drop-active .select2-result-label").filter(has_text=exactly).click()
    return row


def apply(operator: Operator) -> None:
    operator.through(lambda: operator.page.click("#filter_form button[type=submit]"))


def shown_ids(operator: Operator) -> list[int]:
    return sorted(int(text) for text in operator.page.locator("td.col-id").all_inner_texts())


def filter_values(operator: Operator) -> list[tuple[str, str]]:
    """The ``flt`` arguments of the page's address, decoded."""
    return [(name, value) for name, value in parse_qsl(urlsplit(operator.page.url).query) if name.startswith("flt")]


def test_a_date_range_typed_into_the_range_picker(operator: Operator) -> None:
    operator.go("/admin/events/")
    row = add_filter(operator, "day", "between")
    field = row.locator("input.filter-val")
    field.click()
    field.press_sequentially("2020-01-01 to 2020-01-31")
    operator.page.locator(".daterangepicker:visible").wait_for()
    apply(operator)
    assert [value for _name, value in filter_values(operator)] == ["2020-01-01 to 2020-01-31"]
    assert shown_ids(operator) == [4, 5]
    # The bar shows the filter again as it was applied.
    assert operator.page.locator("#filter_form input.filter-val").input_value() == "2020-01-01 to 2020-01-31"
    operator.shot("filters-date-range")


def test_a_date_range_chosen_in_the_picker(operator: Operator) -> None:
    page = operator.page
    operator.go("/admin/events/")
    row = add_filter(operator, "day", "between")
    row.locator("input.filter-val").click()
    picker = page.locator(".daterangepicker:visible")
    # The picker's own "from" and "to" boxes, then its apply button: the input gets both ends.
    picker.locator("input[name=daterangepicker_start]").fill("2020-01-20")
    picker.locator("input[name=daterangepicker_start]").press("Enter")
    picker.locator("input[name=daterangepicker_end]").fill("2020-02-10")
    picker.locator("input[name=daterangepicker_end]").press("Enter")
    picker.locator("button.applyBtn").click()
    assert row.locator("input.filter-val").input_value() == "2020-01-20 to 2020-02-10"
    apply(operator)
    assert shown_ids(operator) == [5, 6]


def test_a_preset_from_the_filter_bar(operator: Operator) -> None:
    page = operator.page
    operator.go("/admin/events/")
    row = add_filter(operator, "day", "in period")
    row.locator(".select2-container.filter-val a.select2-choice").click()
    page.locator(".select2-drop-active .select2-result-label").filter(has_text=re.compile("^last 7 days$")).click()
    apply(operator)
    assert [value for _name, value in filter_values(operator)] == ["last-7-days"]
    assert shown_ids(operator) == [1, 2]
    operator.shot("filters-preset")


@pytest.mark.parametrize("how", ["typed", "pasted"])
def test_a_datetime_typed_or_pasted_into_the_picker_is_kept(operator: Operator, how: str) -> None:
    """The datetime picker chose "now" when it opened on an empty input, and wrote it over the
    typed value when it closed; typed key by key, it rewrote the text after every key."""
    operator.go("/admin/events/")
    row = add_filter(operator, "at", "greater than")
    field = row.locator("input.filter-val")
    field.click()
    operator.page.locator(".daterangepicker:visible").wait_for()
    if how == "typed":
        field.press_sequentially("2020-01-15 00:00:00")
    else:
        field.fill("2020-01-15 00:00:00")  # as a paste: one input event, no keys
    assert field.input_value() == "2020-01-15 00:00:00"
    apply(operator)
    assert [value for _name, value in filter_values(operator)] == ["2020-01-15 00:00:00"]
    assert shown_ids(operator) == [1, 2, 3, 5, 6]


def test_a_date_typed_without_seconds_or_with_enter_is_kept(operator: Operator) -> None:
    operator.go("/admin/events/")
    row = add_filter(operator, "at", "smaller than")
    field = row.locator("input.filter-val")
    field.click()
    field.press_sequentially("2020-01-21 08:30")
    field.press("Tab")  # the picker closes on Tab or Enter
    assert field.input_value() == "2020-01-21 08:30"
    row = add_filter(operator, "day", "greater than")
    row.locator("input.filter-val").click()
    row.locator("input.filter-val").fill("2020-01-06")
    apply(operator)
    assert sorted(value for _name, value in filter_values(operator)) == ["2020-01-06", "2020-01-21 08:30"]
    assert shown_ids(operator) == [5]


def test_the_or_group_from_the_filter_bar(operator: Operator) -> None:
    page = operator.page
    operator.go("/admin/events/")
    for value in ("10", "60"):
        row = add_filter(operator, "amount", "equals")
        row.locator("input.filter-val").fill(value)
        row.locator("input.filter-any").check()
    row = add_filter(operator, "id", "smaller than")
    row.locator("input.filter-val").fill("6")
    apply(operator)
    names = [name for name, _value in filter_values(operator)]
    assert len(names) == 3 and sum("_or-" in name for name in names) == 2, names
    # (amount = 10 OR amount = 60) AND id < 6
    assert shown_ids(operator) == [1]
    # Shown again with their boxes ticked; unticking one makes it a plain filter.
    boxes = page.locator("#filter_form input.filter-any")
    assert [boxes.nth(i).is_checked() for i in range(3)] == [True, True, False]
    boxes.nth(0).uncheck()
    apply(operator)
    assert sum("_or-" in name for name, _value in filter_values(operator)) == 1
    assert shown_ids(operator) == []  # amount = 10 AND amount = 60 AND id < 6
