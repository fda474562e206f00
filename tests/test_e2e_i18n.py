"""An Arabic-speaking operator in a real Chromium: the layout mirrors, and the language menu works.

Uses the browser harness of :mod:`tests.test_e2e` (the demo served by ``dashboard serve``);
every page must load without a console error, a failed request or a CSP violation.
"""

from __future__ import annotations

import typing as t

import pytest

from tests.browser import require_browser
from tests.test_e2e import Operator, _serve, logged_in

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[str]:
    require_browser()
    with _serve(tmp_path_factory.mktemp("instance")) as base:
        yield base


def _browser_in(chromium: t.Any, base: str, locale: str) -> t.ContextManager[Operator]:
    """A logged-in operator whose browser asks for ``locale`` (its Accept-Language)."""
    return logged_in(chromium, base, locale=locale)


def _x(page: t.Any, selector: str) -> float:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, selector
    return float(box["x"]) + float(box["width"]) / 2


def test_an_arabic_page_is_laid_out_right_to_left(chromium: t.Any, served: str) -> None:
    with _browser_in(chromium, served, "ar") as operator:
        page = operator.page
        operator.go("/admin/orders/")
        assert page.evaluate("document.documentElement.dir") == "rtl"
        assert page.evaluate("document.documentElement.lang") == "ar"
        middle = 1280 / 2
        assert _x(page, ".navbar-brand") > middle  # the brand starts the navbar: on the right
        assert _x(page, ".dashboard-account") < middle  # the account menu ends it: on the left
        headers = page.locator("table.model-list thead th")
        first, last = headers.first.bounding_box(), headers.last.bounding_box()
        assert first and last and first["x"] > last["x"]  # columns run from right to left
        assert page.locator("text=إضافة تصفية").is_visible()  # Flask-Admin's "Add Filter"
        operator.shot("list-ar")


def test_the_language_menu_switches_the_page_and_remembers_it(chromium: t.Any, served: str) -> None:
    with _browser_in(chromium, served, "ar") as operator:
        page = operator.page
        operator.go("/admin/orders/")
        page.click(".dashboard-language .dropdown-toggle")
        operator.through(lambda: page.click(".dashboard-language button[value=de]"))
        assert page.url.endswith("/admin/orders/")
        assert page.evaluate("document.documentElement.lang") == "de"
        assert page.evaluate("document.documentElement.dir") == "ltr"
        assert _x(page, ".navbar-brand") < 1280 / 2
        assert page.locator("text=Filter hinzufügen").is_visible()
        operator.go("/admin/")
        assert page.locator("text=Alle Tabellen und Sichten der Datenbank").is_visible()
