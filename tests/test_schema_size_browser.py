"""600 relations in a real Chromium: the home page's groups and search, and the navbar's finder.

``dashboard serve`` on an SQLite file of 600 relations (tests/wide_schema.py). The home page
opens folded, typing filters every group without a reload, Enter opens the first match;
the navbar's finder reaches a table no group shows. Screenshots go to ``test-artifacts/``.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest

from tests.browser import require_browser
from tests.test_e2e import Operator, logged_in, serve_to_operator
from tests.wide_schema import create_wide_schema

pytestmark = pytest.mark.e2e

RELATIONS = 600


@pytest.fixture(scope="module")
def served_wide(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[str]:
    require_browser()
    instance: Path = tmp_path_factory.mktemp("wide")
    url = f"sqlite:///{instance / 'wide.db'}"
    create_wide_schema(url, RELATIONS)
    with serve_to_operator(instance, url) as base:
        yield base


@pytest.fixture
def operator(chromium: t.Any, served_wide: str) -> t.Iterator[Operator]:
    with logged_in(chromium, served_wide) as who:
        yield who


def test_the_home_page_filters_600_relations_as_one_types(operator: Operator) -> None:
    page = operator.page
    groups = page.locator("details.dashboard-table-group")
    assert groups.count() == 2  # tables and views
    assert not page.locator("details.dashboard-table-group[open]").count(), "folded at first"
    assert not page.locator("a", has_text="invoice_0013").is_visible()
    page.fill("#dashboard-table-filter", "invoice_001")
    shown = page.locator(".dashboard-tables tbody tr:visible a")
    assert shown.all_inner_texts() == ["invoice_0013"]
    assert page.locator("#dashboard-table-count").inner_text() == "1 of 600 tables and views match."
    assert not page.locator("details.dashboard-table-group[data-group='views']").is_visible()
    operator.shot("home-600-search")
    page.fill("#dashboard-table-filter", "v_ invoice")
    assert page.locator(".dashboard-tables tbody tr:visible a").all_inner_texts() == [
        "v_invoice_0049",
        "v_invoice_0349",
    ]
    page.fill("#dashboard-table-filter", "no such table")
    assert page.locator("#dashboard-table-count").inner_text() == "No table matches"
    page.fill("#dashboard-table-filter", "")
    assert not page.locator("details.dashboard-table-group[open]").count(), "folded again"
    assert groups.nth(0).is_visible() and groups.nth(1).is_visible()
    page.fill("#dashboard-table-filter", "warehouse_0010")
    operator.through(lambda: page.keyboard.press("Enter"))
    assert page.url.endswith("/admin/warehouse_0010/")
    assert page.locator(
        "table.model-list td", has_text="warehouse_0010 row 1"
    ).is_visible()  # its row (not a facet's link)


def test_a_folded_group_opens_on_a_click(operator: Operator) -> None:
    page = operator.page
    page.click("details.dashboard-table-group[data-group='views'] > summary")
    assert page.locator(".dashboard-tables a", has_text="v_customer_0024").is_visible()
    assert not page.locator(".dashboard-tables a", has_text="customer_0000").is_visible()


def test_the_navbar_finder_reaches_any_of_600_tables(operator: Operator) -> None:
    page = operator.page
    page.fill("#dashboard-nav-search", "payroll_0580")
    page.locator(".dashboard-nav-results a", has_text="payroll_0580").wait_for()
    operator.through(lambda: page.keyboard.press("Enter"))
    assert page.url.endswith("/admin/payroll_0580/")
    assert page.locator(
        "table.model-list td", has_text="payroll_0580 row 2"
    ).is_visible()  # its row (not a facet's link)
