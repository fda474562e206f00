"""The "Set a value" bulk action in a real Chromium, on the demo shop served by ``dashboard serve``:
tick rows, pick the action, preview, apply, and the list shows the new values; a batch the
database refuses half-way shows the message and leaves the list as it was. Screenshots go to
``test-artifacts/``."""

from __future__ import annotations

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
    instance: Path = tmp_path_factory.mktemp("instance")
    with _serve(instance) as base:
        yield base


def _cell(operator: Operator, row_id: str, column: str) -> str:
    row = operator.page.locator("tr", has=operator.page.locator(f"input.action-checkbox[value='{row_id}']"))
    return row.locator(f"td.col-{column}").inner_text().strip()


def _set_a_value(operator: Operator, ids: list[str], column: str, value: str) -> None:
    """Tick ``ids``, choose "Set a value" in "With selected", pick ``column``, type ``value``, preview."""
    page = operator.page
    for row_id in ids:
        page.locator(f"input.action-checkbox[value='{row_id}']").check()
    page.click("a.dropdown-toggle:has-text('With selected')")
    operator.through(lambda: page.click("[data-dashboard-action=set_value]"))
    page.select_option("select[name=column]", value=column)
    page.fill("input[name=value]", value)
    operator.through(lambda: page.click("form.dashboard-bulk-edit-form button[type=submit]"))


def test_set_a_value_on_selected_rows_previews_then_applies(chromium: t.Any, served: str) -> None:
    with logged_in(chromium, served) as operator:
        page = operator.page
        operator.go("/admin/customers/")
        ids = ["1", "2", "3"]
        _set_a_value(operator, ids, "country", "QQ")
        count = page.locator(".dashboard-bulk-edit-count").inner_text()
        assert "3 of the selected rows will change." in count, count
        assert page.locator(".dashboard-bulk-edit-examples tr").count() == 4  # a header and three rows
        operator.shot("bulk-edit-preview")
        operator.through(lambda: page.click("form.dashboard-bulk-edit-apply button[type=submit]"))
        assert "/admin/customers/" in page.url
        assert "3 rows were changed." in page.locator(".alert-success").inner_text()
        assert [_cell(operator, row_id, "country") for row_id in ids] == ["QQ", "QQ", "QQ"]
        operator.shot("bulk-edit-applied")


def test_a_bulk_edit_refused_half_way_shows_the_message_and_changes_nothing(chromium: t.Any, served: str) -> None:
    with logged_in(chromium, served) as operator:
        page = operator.page
        operator.go("/admin/tags/")
        names = page.locator("td.col-name").all_inner_texts()
        # Tag names are unique: the first row takes the name, the second is refused.
        _set_a_value(operator, ["1", "2"], "name", "one name for two")
        operator.through(lambda: page.click("form.dashboard-bulk-edit-apply button[type=submit]"))
        alert = page.locator(".alert-danger").inner_text()
        assert "Nothing was changed: the database refused the row 2." in alert, alert
        assert page.locator("td.col-name").all_inner_texts() == names
        operator.shot("bulk-edit-refused")
