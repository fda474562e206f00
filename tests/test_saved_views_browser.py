"""Saved views in a real Chromium: shape the demo's orders (a search, a sort, a page size, a
column hidden), save the list as a view shared with the viewers, then open it from the navbar's
table finder in another browser of the same operator and as a viewer, and see the same list.
Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import contextlib
import os
import typing as t
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.apps import PASSWORD
from tests.browser import require_browser
from tests.test_e2e import Operator, _dashboard, _serve, logged_in

pytestmark = pytest.mark.e2e

VIEW_NAME = "Paid orders <by total>"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[str]:
    """The demo shop on SQLite, served, with an admin ``operator`` and a viewer ``vera``."""
    require_browser()
    instance: Path = tmp_path_factory.mktemp("instance")
    with _serve(instance) as base:
        env = {**os.environ, "DASHBOARD_INSTANCE_PATH": str(instance)}
        _dashboard("users", "add", "vera", "--role", "viewer", "--password-stdin", env=env, stdin=PASSWORD + "\n")
        yield base


def _headers(operator: Operator) -> list[str]:
    return [text.strip() for text in operator.page.locator("th.column-header").all_inner_texts()]


def _first_row(operator: Operator) -> list[str]:
    """The first row's values under the column headers (not its box and buttons, which depend on the role)."""
    cells = operator.page.locator('table.model-list tbody tr:first-child td[class^="col-"]')
    return [text.strip() for text in cells.all_inner_texts()]


def _open_from_the_finder(operator: Operator, name: str, role: str) -> None:
    page = operator.page
    operator.go("/admin/")
    page.fill("#dashboard-nav-search", name.split()[0])
    option = page.locator(".dashboard-nav-results a", has_text=name)
    option.wait_for()
    operator.shot(f"saved-views-finder-{role}")
    operator.through(option.click)


@contextlib.contextmanager
def _as_viewer(chromium: t.Any, base: str) -> t.Iterator[Operator]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        who = Operator(page, base)
        who.go("/login")
        page.fill("input[name=username]", "vera")
        page.fill("input[name=password]", PASSWORD)
        who.through(lambda: page.click("form button.btn-primary"))
        yield who
    finally:
        context.close()


def test_save_a_view_and_open_it_from_the_finder_elsewhere_and_as_another_role(chromium: t.Any, served: str) -> None:
    with logged_in(chromium, served) as operator:
        page = operator.page
        operator.go("/admin/orders/")
        defaults = _headers(operator)
        assert "status" in defaults and "total" in defaults
        # Hide "status" with the Columns chooser.
        page.click("#dashboard-columns")
        panel = page.locator(".dashboard-columns-panel")
        panel.wait_for()
        panel.locator('li[data-name="status"] input[type=checkbox]').uncheck()
        operator.through(lambda: panel.locator("button", has_text="Save").click())
        shown = _headers(operator)
        assert "status" not in shown
        sort = shown.index("total")
        operator.go(f"/admin/orders/?search=paid&sort={sort}&desc=1&page_size=50")
        rows = page.locator("table.model-list tbody tr").count()
        first = _first_row(operator)
        assert len(first) == len(shown), first
        page.click("#dashboard-save-view")
        page.locator("#dashboard-view-name").fill(VIEW_NAME)
        page.locator(".dashboard-views-panel select").select_option("viewer")
        operator.shot("saved-views-form")
        operator.through(lambda: page.locator(".dashboard-views-panel button", has_text="Save").click())
        assert "view=paid-orders-by-total" in page.url
        assert page.locator(".dashboard-notice, .alert", has_text=VIEW_NAME).count() >= 1
        # The Views menu lists it, as text.
        page.click("#dashboard-views")
        menu = page.locator(".dashboard-views-panel", has_text="Saved views")
        menu.wait_for()
        assert menu.locator("a", has_text=VIEW_NAME).count() == 1
        operator.shot("saved-views-menu")
        # The operator's own columns change afterwards; the view keeps its own.
        operator.go("/admin/orders/")
        page.click("#dashboard-columns")
        panel = page.locator(".dashboard-columns-panel")
        panel.wait_for()
        operator.through(lambda: panel.locator("button", has_text="Reset").click())
        assert _headers(operator) == defaults

    for role, session in (("admin", logged_in), ("viewer", _as_viewer)):
        with session(chromium, served) as elsewhere:
            _open_from_the_finder(elsewhere, VIEW_NAME, role)
            args = dict(parse_qsl(urlsplit(elsewhere.page.url).query))
            assert args["view"] == "paid-orders-by-total"
            assert args["search"] == "paid" and args["desc"] == "1" and args["page_size"] == "50"
            assert _headers(elsewhere) == shown
            assert elsewhere.page.locator("table.model-list tbody tr").count() == rows
            assert _first_row(elsewhere) == first
            elsewhere.shot(f"saved-views-opened-{role}")
