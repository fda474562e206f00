"""The list's "Columns" chooser in a real Chromium: hide a column of the demo's orders and move
another, reload, and the choice holds, also in a second browser logged in as the same
operator; Reset brings the defaults back. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import typing as t

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
