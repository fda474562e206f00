"""A plugin's row action in a real Chromium: the Refund button on an order's details page, the
reason asked on its own page, the message after it ran, the order changed in the database.
The demo shop is served from SQLite by ``dashboard serve`` with a plugins folder holding the
refund plugin (the server's side is tested on every dialect in ``tests/test_row_actions.py``).
Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import sqlite3
import typing as t
from pathlib import Path

import pytest

from tests.browser import require_browser
from tests.plugin_kit import write_plugin
from tests.test_e2e import Operator, prepare_demo, serve

pytestmark = pytest.mark.e2e

REFUND = """
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired

from dashboard.hookspecs import hookimpl
from dashboard.pages import RowAction


class RefundForm(FlaskForm):
    reason = TextAreaField("Reason", validators=[DataRequired()])


def refund(row, writer, form):
    # The demo's CHECK constraint knows no "refunded": a refunded order is cancelled.
    writer.update(row, {"status": "cancelled", "note": form.reason.data})
    return f"Order {row['id']} refunded: {form.reason.data}"


@hookimpl
def table_actions(table):
    if table.name == "orders":
        return [RowAction(name="refund", label="Refund", run=refund, form=RefundForm, roles=("editor",))]
    return None
"""


@pytest.fixture(scope="module")
def served(served_instance: Path, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[str]:
    require_browser()
    plugins = tmp_path_factory.mktemp("plugins")
    write_plugin(plugins, "refunds", REFUND)
    prepare_demo(served_instance)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DASHBOARD_PLUGINS_DIR", str(plugins))
        with serve(served_instance) as base:
            yield base


def order_in_database(instance: Path, order_id: int) -> tuple[str, str | None]:
    with sqlite3.connect(instance / "demo.db") as connection:
        status, note = connection.execute("SELECT status, note FROM orders WHERE id = ?", (order_id,)).fetchone()
    return str(status), note


def test_refund_an_order_from_its_details_page_with_a_reason(operator: Operator, served_instance: Path) -> None:
    page = operator.page
    operator.go("/admin/orders/")
    assert page.locator("a.dashboard-row-action", has_text="Refund").count() == 20  # each row of the page
    operator.shot("row-action-list")
    operator.go("/admin/orders/details/?id=7")
    operator.through(lambda: page.get_by_role("link", name="Refund").click())
    assert page.locator("h4.dashboard-action-title").inner_text().startswith("Refund: ")
    # No reason: the form again, saying why, and the order untouched.
    before = order_in_database(served_instance, 7)
    page.locator("textarea[name=reason]").evaluate("el => el.removeAttribute('required')")
    with page.expect_navigation():
        page.get_by_role("button", name="Refund").click()
    page.wait_for_load_state("networkidle")
    assert "This field is required." in page.locator(".dashboard-field-error").inner_text()
    assert order_in_database(served_instance, 7) == before
    page.fill("textarea[name=reason]", "Arrived broken <twice>")
    operator.shot("row-action-form")
    # The form shown again answered 422, as it should: no other problem on the way.
    assert all("422" in problem for problem in operator.problems), operator.problems
    operator.problems.clear()
    operator.through(lambda: page.get_by_role("button", name="Refund").click())
    assert page.url.endswith("/admin/orders/details/?id=7")
    assert "Order 7 refunded: Arrived broken <twice>" in page.locator(".alert-success").inner_text()
    operator.shot("row-action-done")
    assert order_in_database(served_instance, 7) == ("cancelled", "Arrived broken <twice>")
