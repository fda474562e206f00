"""Cases 5, 8, 9 and 28 of shared/SECURITY-CHECKLIST.md in a real Chromium (Playwright).

The hostile schema (:mod:`tests.schemas`, on SQLite: what reaches the browser does not
depend on the dialect, which the server-side tests cover) is served by the dashboard, and
every page an operator opens on it is searched for a script that ran: a dialog opened
(the payloads call ``alert``), an element that grew an ``on*`` handler attribute, a script
element without this response's nonce, a link to ``javascript:``/``data:``, or a
Content-Security-Policy violation (which would mean markup got through and was merely
blocked).
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import typing as t
from collections.abc import Iterator

import pytest

from dashboard.site_state import current_site
from tests import schemas
from tests.apps import PASSWORD, add_user, make_app
from tests.browser import lookup_answers, require_browser
from tests.site import rows

pytestmark = pytest.mark.e2e

#: Whatever a page holds that only injected markup could have put there.
_INJECTED = """() => {
  const found = [];
  for (const element of document.querySelectorAll('*')) {
    for (const attribute of element.attributes) {
      if (attribute.name.startsWith('on')) { found.push(element.tagName + '[' + attribute.name + ']'); }
    }
  }
  for (const script of document.querySelectorAll('script:not([nonce])')) { found.push('script without nonce'); }
  for (const image of document.querySelectorAll('img[src="x"], svg, iframe, object, embed')) {
    found.push(image.tagName);
  }
  for (const link of document.querySelectorAll('a[href], form[action], iframe[src]')) {
    const target = (link.getAttribute('href') ?? link.getAttribute('action') ?? link.getAttribute('src') ?? '')
      .trim().toLowerCase();
    if (/^(javascript|data|vbscript):/.test(target) && target !== 'javascript:void(0)') {
      found.push('link ' + target);
    }
    if (target.startsWith('\\\\\\\\') || target.startsWith('//')) { found.push('link ' + target); }
  }
  return found;
}"""


class Browser:
    """A logged-in Chromium page on a served dashboard that records what should never happen."""

    def __init__(self, page: t.Any, base: str, paths: dict[str, str]) -> None:
        self.page = page
        self.base = base
        self.paths = paths
        self.dialogs: list[str] = []
        self.violations: list[str] = []
        self.errors: list[str] = []
        #: What the next dialog is answered: ``None`` records it as a script that ran.
        self.expect_confirm: bool | None = None
        page.add_init_script(
            "document.addEventListener('securitypolicyviolation', e => "
            "console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sample))"
        )
        page.on("console", lambda m: self.violations.append(m.text) if "CSP violation" in m.text else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("dialog", self._dialog)

    def _dialog(self, dialog: t.Any) -> None:
        if self.expect_confirm is None or dialog.type != "confirm":
            self.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()
            return
        self.dialogs.append(f"expected {dialog.type}: {dialog.message}")
        dialog.accept() if self.expect_confirm else dialog.dismiss()

    def go(self, path: str) -> None:
        self.page.goto(self.base + path)
        self.page.wait_for_load_state("networkidle")
        self.check(path)

    def check(self, where: str) -> None:
        injected = self.page.evaluate(_INJECTED)
        assert injected == [], (where, injected)
        assert [d for d in self.dialogs if not d.startswith("expected")] == [], (where, self.dialogs)
        assert self.violations == [], (where, self.violations)
        assert self.errors == [], (where, self.errors)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, str, dict[str, str]]]:
    """The dashboard on a hostile SQLite database (:func:`hostile_site_served`)."""
    with hostile_site_served() as found:
        yield found


@contextlib.contextmanager
def hostile_site_served() -> Iterator[tuple[str, str, dict[str, str]]]:
    """The dashboard on a hostile SQLite database with an admin ``alice``, served on a free port.

    Yields the base URL, the database URL and the URL path of each table.
    """
    require_browser()
    from werkzeug.serving import make_server

    with tempfile.TemporaryDirectory(prefix="dash_e2e_") as folder:
        url = f"sqlite:///{folder}/hostile.db"
        schemas.create_hostile_schema(url)
        app = make_app(url, f"{folder}/instance")
        add_user(app, "alice", "admin")
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            paths = {table_id: view.info.url_path for table_id, view in current_site(app).views.items()}
            yield f"http://127.0.0.1:{server.server_port}", url, paths
        finally:
            server.shutdown()
            server.server_close()
            thread.join()
            current_site(app).engine.dispose()


@pytest.fixture
def browser(chromium, served) -> Iterator[Browser]:
    """A logged-in page in a browser context of its own (:mod:`tests.browser`)."""
    base, _url, paths = served
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        who = Browser(page, base, paths)
        page.goto(base + "/login")
        page.fill("#username", "alice")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/admin/")
        yield who
    finally:
        context.close()


def test_5_no_hostile_name_or_stored_value_runs_as_script_on_any_page(browser, served):
    _base, url, _paths = served
    paths = ["/admin/"]
    for table in (
        schemas.CUSTOMERS,
        schemas.ORDER,
        schemas.MARKUP_TABLE,
        schemas.WEIRD_TABLE,
        schemas.INJECTION_TABLE,
        schemas.TAGS,
        schemas.CUSTOMER_TAGS,
        schemas.LOG_LINES,
        schemas.ALL_TYPES,
        schemas.TEXT_KEYS_TABLE,
    ):
        paths.append(_list_path(browser, table))
    for table, key in (
        (schemas.CUSTOMERS, str(schemas.XSS_CUSTOMER_ID)),
        (schemas.ORDER, "3"),
        (schemas.INJECTION_TABLE, "1"),
        (schemas.ALL_TYPES, "1"),
        (schemas.TAGS, "2"),
    ):
        base = _list_path(browser, table)
        paths += [f"{base}details/?id={key}", f"{base}edit/?id={key}"]
    paths.append(_list_path(browser, schemas.CUSTOMERS) + "new/")
    for path in paths:
        browser.go(path)
    assert len(rows(url, schemas.CUSTOMERS)) == len(schemas.CUSTOMER_ROWS)


def test_8_foreign_key_lookup_shows_markup_as_text(browser):
    page = browser.page
    browser.go(_list_path(browser, schemas.ORDER) + "edit/?id=1")
    results = lookup_answers(page, ".select2-container", "script").all_inner_texts()
    assert results == [f"{schemas.XSS_NAME} ({schemas.XSS_CUSTOMER_ID})"]
    browser.check("lookup results")
    page.keyboard.press("Enter")
    assert page.locator(".select2-chosen").first.inner_text() == f"{schemas.XSS_NAME} ({schemas.XSS_CUSTOMER_ID})"
    browser.check("lookup chosen")


def test_8_flash_messages_show_markup_as_text(browser):
    base = _list_path(browser, schemas.ORDER)
    browser.go(base + "?flt0_0=%3Cimg%20src%3Dx%20onerror%3Dalert(20)%3E")
    assert "<img src=x onerror=alert(20)>" in browser.page.inner_text(".alert")


def test_28_bulk_delete_asks_with_the_count_and_deletes_nothing_when_one_row_is_referenced(browser, served):
    _base, url, _paths = served
    page = browser.page
    browser.go(_list_path(browser, schemas.CUSTOMERS))
    before = rows(url, schemas.CUSTOMERS)
    checkboxes = page.locator("input.action-checkbox")
    checkboxes.nth(0).check()  # customer 1: referenced by orders
    checkboxes.nth(4).check()  # customer 5: referenced by nothing
    browser.expect_confirm = False
    page.click("text=With selected")
    page.click("[data-dashboard-action=delete]")
    assert browser.dialogs[-1].startswith("expected confirm: Delete 2 selected record(s)?")
    assert rows(url, schemas.CUSTOMERS) == before
    browser.expect_confirm = True
    page.click("text=With selected")
    with page.expect_navigation():
        page.click("[data-dashboard-action=delete]")
    page.wait_for_load_state("networkidle")
    alert = page.inner_text(".alert-danger")
    assert "Nothing was deleted" in alert and "Row 1 is still referred to" in alert
    assert rows(url, schemas.CUSTOMERS) == before
    browser.check("after the refused delete")


def _list_path(browser: Browser, table: str) -> str:
    """The list page of ``table``."""
    return f"/admin/{browser.paths[table]}/"
