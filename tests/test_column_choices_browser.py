"""The list's "Columns" chooser in a real Chromium: hide a column of the demo's orders and move
another, reload, and the choice holds, also in a second browser logged in as the same
operator; Reset brings the defaults back. On the hostile schema, column names reach the
chooser and the list as text and no script runs. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import typing as t

import pytest

from tests import schemas
from tests.apps import PASSWORD
from tests.browser import require_browser
from tests.test_checklist_browser import Browser, hostile_site_served
from tests.test_e2e import ARTIFACTS, Operator, _serve, logged_in

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[str]:
    """The demo shop on SQLite, served; yields the base URL."""
    require_browser()
    with _serve(tmp_path_factory.mktemp("instance")) as base:
        yield base


def _headers(operator: Operator) -> list[str]:
    return [text.strip() for text in operator.page.locator("th.column-header").all_inner_texts()]


def test_hide_and_move_columns_and_the_choice_holds_after_a_reload_and_in_another_browser(
    chromium: t.Any, served: str
) -> None:
    with logged_in(chromium, served) as operator:
        page = operator.page
        operator.go("/admin/orders/")
        defaults = _headers(operator)
        assert "status" in defaults and "total" in defaults
        page.click("#dashboard-columns")
        panel = page.locator(".dashboard-columns-panel")
        panel.wait_for()
        rows = panel.locator("li")
        assert [n.strip() for n in rows.locator("label").all_inner_texts()][: len(defaults)] == defaults
        panel.locator('li[data-name="status"] input[type=checkbox]').uncheck()
        panel.locator('li[data-name="total"] button[data-move="up"]').click()
        operator.shot("columns-chooser")
        operator.through(lambda: panel.locator("button", has_text="Save").click())
        expected = [name for name in defaults if name != "status"]
        moved = expected.index("total")
        expected[moved - 1], expected[moved] = expected[moved], expected[moved - 1]
        assert _headers(operator) == expected
        assert page.locator("td.col-status").count() == 0
        page.reload()
        operator.settle()
        assert _headers(operator) == expected
        operator.shot("columns-chosen")

    with logged_in(chromium, served) as elsewhere:
        elsewhere.go("/admin/orders/")
        assert _headers(elsewhere) == expected
        elsewhere.page.click("#dashboard-columns")
        panel = elsewhere.page.locator(".dashboard-columns-panel")
        panel.wait_for()
        assert not panel.locator('li[data-name="status"] input[type=checkbox]').is_checked()
        elsewhere.through(lambda: panel.locator("button", has_text="Reset").click())
        assert _headers(elsewhere) == defaults


@pytest.fixture(scope="module")
def hostile_served() -> t.Iterator[tuple[str, dict[str, str]]]:
    """The hostile SQLite schema (:mod:`tests.schemas`) served with an admin ``alice``;
    yields the base URL and each table's URL path."""
    with hostile_site_served() as (base, _url, paths):
        yield base, paths


def test_hostile_column_names_reach_the_chooser_and_the_list_as_text(chromium: t.Any, hostile_served: t.Any) -> None:
    base, paths = hostile_served
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        browser = Browser(page, base, paths)
        page.goto(base + "/login")
        page.fill("#username", "alice")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/admin/")
        browser.go(f"/admin/{paths[schemas.CUSTOMERS]}/")
        page.click("#dashboard-columns")
        panel = page.locator(".dashboard-columns-panel")
        panel.wait_for()
        labels = [label.strip() for label in panel.locator("label").all_inner_texts()]
        assert set(schemas.HOSTILE_COLUMNS) <= set(labels)
        browser.check("the chooser")
        # Only the hostile columns, the last one moved to the top.
        for item in panel.locator("li").all():
            box = item.locator("input[type=checkbox]")
            box.check() if item.get_attribute("data-name") in schemas.HOSTILE_COLUMNS else box.uncheck()
        last = panel.locator(f'li[data-name="{_css_string(schemas.HOSTILE_COLUMNS[-1])}"]')
        for _ in range(len(labels)):
            last.locator('button[data-move="up"]').click()
        page.screenshot(path=str(ARTIFACTS / "columns-hostile-chooser.png"), full_page=True)
        with page.expect_navigation():
            panel.locator("button", has_text="Save").click()
        page.wait_for_load_state("networkidle")
        browser.check("the list in the chosen columns")
        shown = [text.strip() for text in page.locator("th.column-header").all_inner_texts()]
        assert sorted(shown) == sorted(schemas.HOSTILE_COLUMNS)
        assert shown[0] == schemas.HOSTILE_COLUMNS[-1]
    finally:
        context.close()


def _css_string(text: str) -> str:
    """``text`` inside a double-quoted CSS attribute selector."""
    return text.replace("\\", "\\\\").replace('"', '\\"')
