"""Values edited in place in a list, in a real Chromium: a double-click, a value typed, Enter; and an
edit that meets a concurrent one, whose conflict is shown in the cell. The demo shop is served
from SQLite by ``dashboard serve`` (the server's side is tested on every dialect in
``tests/test_inline_edit.py``). Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import sqlite3
import typing as t
from pathlib import Path

import pytest

from tests.test_e2e import Operator, customer_name

pytestmark = pytest.mark.e2e


def open_name_cell(operator: Operator, row_number: int) -> tuple[str, t.Any, t.Any]:
    """Double-click the name cell of the customers list's row ``row_number``; its customer's
    id, the cell and the field that opened in it."""
    operator.go("/admin/customers/")
    row = operator.page.locator("table.model-list tbody tr").nth(row_number)
    customer_id = row.locator("input.action-checkbox").get_attribute("value")
    assert customer_id
    cell = row.locator("td.col-name")
    cell.dblclick()
    field = cell.locator("input.dashboard-inline-field")
    field.wait_for()
    return customer_id, cell, field


def test_edit_a_cell_in_place_and_see_it_saved(operator: Operator, served_instance: Path) -> None:
    page = operator.page
    customer_id, cell, field = open_name_cell(operator, 0)
    assert field.input_value() == customer_name(served_instance, customer_id)
    field.fill("Ada <in place>")
    operator.shot("inline-edit-typing")
    field.press("Enter")
    page.wait_for_function(
        "cell => cell.textContent === 'Ada <in place>' && !cell.querySelector('input')", arg=cell.element_handle()
    )
    operator.settle()
    assert customer_name(served_instance, customer_id) == "Ada <in place>"
    operator.shot("inline-edit-saved")
    # The list read afresh shows it: the table's kept pages were made stale by the write.
    operator.go("/admin/customers/")
    assert page.locator("table.model-list tbody tr").nth(0).locator("td.col-name").inner_text() == "Ada <in place>"
    # From the keyboard: Enter on a focused cell opens it, Escape puts it back untouched.
    cell = page.locator("table.model-list tbody tr").nth(1).locator("td.col-country")
    cell.focus()
    page.keyboard.press("Enter")
    cell.locator("input.dashboard-inline-field").wait_for()
    page.keyboard.press("Escape")
    assert cell.locator("input").count() == 0
    operator.settle()


def test_an_inline_edit_that_conflicts_with_a_concurrent_edit(operator: Operator, served_instance: Path) -> None:
    page = operator.page
    customer_id, cell, field = open_name_cell(operator, 2)
    # Someone else saves the row while the cell is open.
    with sqlite3.connect(served_instance / "demo.db") as connection:
        connection.execute("UPDATE customers SET name = 'Changed elsewhere' WHERE id = ?", (customer_id,))
    field.fill("Mine")
    field.press("Enter")
    message = cell.locator(".dashboard-inline-message.text-danger")
    message.wait_for()
    assert "changed by someone else" in message.inner_text()
    assert "Changed elsewhere" in cell.inner_text()
    assert field.input_value() == "Mine"
    operator.shot("inline-edit-conflict")
    assert customer_name(served_instance, customer_id) == "Changed elsewhere"
    # The refusal is the one answer that may fail; nothing else on the page did.
    assert [p for p in operator.problems if "409" not in p] == []
    operator.problems.clear()
    # Saving again, with their value in view, overwrites it.
    field.press("Enter")
    page.wait_for_function("cell => cell.textContent === 'Mine'", arg=cell.element_handle())
    operator.settle()
    assert customer_name(served_instance, customer_id) == "Mine"
