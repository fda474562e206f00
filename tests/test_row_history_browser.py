"""A row's history and Revert in a real Chromium: an edit made through the form, reverted from
the details page (the old value back, the "revert of #N" entry in the history), and a revert
refused because the row changed after its entry. The demo shop is served from SQLite by
``dashboard serve`` (the server's side is tested on every dialect in ``tests/test_row_history.py``).
Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.test_e2e import Operator, customer_name

pytestmark = pytest.mark.e2e


def edit_name(operator: Operator, customer_id: int, name: str) -> None:
    operator.go(f"/admin/customers/edit/?id={customer_id}")
    operator.page.fill("input[name=name]", name)
    operator.through(lambda: operator.page.click("form [type=submit][value=Save]"))


def test_revert_an_edit_and_see_the_old_value_and_the_entry(operator: Operator, served_instance: Path) -> None:
    page, old = operator.page, customer_name(served_instance, 5)
    edit_name(operator, 5, "Edited <in the browser>")
    operator.go("/admin/customers/details/?id=5")
    entry = page.locator("tr.dashboard-history-entry").first
    assert f"{old} → Edited <in the browser>" in entry.inner_text()
    number = entry.get_attribute("data-entry")
    operator.shot("row-history")
    operator.through(lambda: entry.get_by_role("button", name="Revert").click())
    assert f"Reverted: the values before entry #{number} are back." in page.locator(".alert-success").inner_text()
    assert customer_name(served_instance, 5) == old
    assert old in page.locator("table.dashboard-details").inner_text()
    newest = page.locator("tr.dashboard-history-entry").first
    assert f"revert of #{number}" in newest.inner_text()
    assert f"Edited <in the browser> → {old}" in newest.inner_text()
    operator.shot("row-history-reverted")


def test_a_revert_that_conflicts_with_a_newer_change_is_refused(operator: Operator, served_instance: Path) -> None:
    page = operator.page
    edit_name(operator, 6, "First change")
    operator.go("/admin/customers/details/?id=6")
    entry = page.locator("tr.dashboard-history-entry").first
    # Someone else changes the row after the entry, while the page is open.
    with sqlite3.connect(served_instance / "demo.db") as connection:
        connection.execute("UPDATE customers SET name = 'Changed elsewhere' WHERE id = 6")
    operator.through(lambda: entry.get_by_role("button", name="Revert").click())
    refusal = page.locator(".alert-danger").inner_text()
    assert "Not reverted: the row was changed after entry" in refusal and "Nothing was saved" in refusal
    assert customer_name(served_instance, 6) == "Changed elsewhere"
    # The page drawn afresh offers no revert the server would refuse.
    assert page.locator("tr.dashboard-history-entry").first.get_by_role("button", name="Revert").count() == 0
    operator.shot("row-history-revert-refused")
