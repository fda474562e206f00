"""The facets panel in a real Chromium: open the demo's orders, see the panel, click a value,
and the list and its counts are filtered by it. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import re
import typing as t
from pathlib import Path

import pytest

from tests.browser import require_browser
from tests.test_e2e import Operator, _serve, logged_in

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[str]:
    """The demo shop on SQLite, served; yields the base URL."""
    require_browser()
    with _serve(tmp_path_factory.mktemp("instance")) as base:
        yield base


@pytest.fixture
def operator(chromium: t.Any, served: str) -> t.Iterator[Operator]:
    with logged_in(chromium, served) as who:
        yield who


def _counts(operator: Operator, facet: str) -> dict[str, int]:
    """Value -> count of one facet of the panel, as the page shows them."""
    section = operator.page.locator(".dashboard-facets h3", has_text=facet).locator("xpath=following-sibling::ul[1]")
    found = {}
    for item in section.locator("li").all_inner_texts():
        value, count = item.rsplit(" ", 1)
        found[value.strip()] = int(re.sub(r"\D", "", count))
    return found


def test_click_a_facet_value_to_filter_the_list(operator: Operator, tmp_path: Path) -> None:
    page = operator.page
    operator.go("/admin/orders/")
    panel = page.locator("aside.dashboard-facets")
    assert panel.is_visible()
    assert panel.locator("h2").inner_text().strip() == "Facets"
    before = _counts(operator, "status")
    assert before.get("paid", 0) > 0 and len(before) > 1
    # Wide screen: the panel stands beside the list, to its right.
    table = page.locator("table.model-list").bounding_box()
    box = panel.bounding_box()
    assert table and box and box["x"] >= table["x"] + table["width"] - 1
    operator.shot("facets")
    operator.through(lambda: panel.locator("a", has_text=re.compile(r"^paid$")).click())
    statuses = page.locator("td.col-status").all_inner_texts()
    assert statuses and all(s.strip() == "paid" for s in statuses)
    assert _counts(operator, "status") == {"paid": before["paid"]}
    shown = min(before["paid"], 20)
    assert page.locator("td.col-id").count() == shown
    # A facet is added from the panel, and removed again.
    operator.through(lambda: panel.locator("a", has_text="ordered_at").click())
    months = _counts(operator, "ordered_at")
    assert months and 0 < sum(months.values()) <= before["paid"]  # the ten latest months
    operator.through(lambda: page.locator(".dashboard-facets a[title='Remove this facet']").click())
    assert page.locator(".dashboard-facets h3", has_text="ordered_at").count() == 0


def test_on_a_phone_the_panel_stands_above_the_list(chromium: t.Any, served: str) -> None:
    with logged_in(chromium, served, viewport={"width": 390, "height": 844}, is_mobile=True) as operator:
        operator.go("/admin/orders/")
        panel = operator.page.locator("aside.dashboard-facets").bounding_box()
        table = operator.page.locator("table.model-list").bounding_box()
        assert panel and table and panel["y"] + panel["height"] <= table["y"]
        operator.shot("facets-phone")
