"""The operator's day in a real Chromium: the demo served by ``dashboard serve``, driven by Playwright.

Every page visited must load without a console error, an uncaught script error, a failed
request or a Content-Security-Policy violation. Screenshots go to ``test-artifacts/``. Each
test's operator has a browser context of its own in the worker's one Chromium
(:mod:`tests.browser`).
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import typing as t
from pathlib import Path

import pytest

from dashboard.db.demo import write_demo_database
from dashboard.security import auth
from dashboard.statedb import make_state_store, state_database_url
from tests.apps import FAST_HASH_METHOD
from tests.browser import choose_in_lookup, require_browser
from tests.databases import make_database
from tests.served import free_port, stop

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
PASSWORD = "e2e password 123"

pytestmark = pytest.mark.e2e


def _dashboard(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dashboard.cli", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


@contextlib.contextmanager
def serve(instance: Path, *args: str) -> t.Iterator[str]:
    """``dashboard serve ARGS`` on a free loopback port with ``instance`` as its instance folder;
    yields the base URL and stops the server afterwards."""
    env = {**os.environ, "DASHBOARD_INSTANCE_PATH": str(instance)}
    port = free_port()
    log_path = instance / "serve.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "dashboard.cli", "serve", *args, "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            # Ready when this process's gunicorn says it listens on the port: a connection
            # alone could reach another server that took the port between probe and bind.
            listening = f"Listening at: http://127.0.0.1:{port} "
            deadline = time.monotonic() + 60
            while listening not in log_path.read_text():
                if process.poll() is not None:
                    pytest.fail("dashboard serve exited: " + log_path.read_text())
                if time.monotonic() > deadline:
                    pytest.fail("dashboard serve did not listen within 60 s: " + log_path.read_text())
                time.sleep(0.2)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop(process)


#: Rows of the demo the browser tests serve (``dashboard demo --rows``).
DEMO_ROWS = 2000


@functools.cache
def _demo_file() -> Path:
    """The SQLite demo of :data:`DEMO_ROWS` rows, written once per test process."""
    path = Path(tempfile.mkdtemp(prefix="dashboard-e2e-demo-")) / "demo.db"
    write_demo_database(f"sqlite:///{path}", DEMO_ROWS)
    return path


def prepare_demo(instance: Path, database_url: str | None = None) -> None:
    """The demo shop in ``database_url`` (default: ``demo.db`` in ``instance``) and an admin
    ``operator`` in the instance folder's state database.

    Written in this process, not by ``dashboard demo`` and ``dashboard users add`` as a new
    user types them (tests/test_server.py runs both commands as a user would, tests/test_demo.py
    and tests/test_auth.py test them):
    each command is a Python start-up of about a second of CPU, paid by every browser module.
    """
    instance.mkdir(parents=True, exist_ok=True)
    if database_url is None:
        shutil.copyfile(_demo_file(), instance / "demo.db")
    else:
        write_demo_database(database_url, DEMO_ROWS)
    add_operator(instance)


def add_operator(instance: Path) -> None:
    """An admin ``operator`` (password :data:`PASSWORD`) in ``instance``'s state database."""
    store = make_state_store(state_database_url({}, instance))
    try:
        store.add_user("operator", auth.hash_password(PASSWORD, FAST_HASH_METHOD), "admin")
    finally:
        store.engine.dispose()


def customer_name(instance: Path, customer_id: int | str) -> str:
    """The name of customer ``customer_id`` in the demo served from ``instance``, as the database holds it."""
    with sqlite3.connect(instance / "demo.db") as connection:
        return str(connection.execute("SELECT name FROM customers WHERE id = ?", (customer_id,)).fetchone()[0])


@contextlib.contextmanager
def serve_to_operator(instance: Path, database_url: str) -> t.Iterator[str]:
    """``database_url`` served with an admin ``operator`` in ``instance``; yields the base URL."""
    add_operator(instance)
    with serve(instance, database_url) as base:
        yield base


@contextlib.contextmanager
def _serve(instance: Path, database_url: str | None = None) -> t.Iterator[str]:
    """The demo on ``database_url`` (default: a demo SQLite file) served with an admin operator."""
    prepare_demo(instance, database_url)
    # With no URL, `dashboard serve` finds the demo in its instance folder, as a new user's does.
    with serve(instance, *([] if database_url is None else [database_url])) as base:
        yield base


@pytest.fixture(scope="module")
def served_postgresql(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[str]:
    """The demo shop written into a fresh PostgreSQL database, served; yields the base URL."""
    require_browser()
    with make_database("postgresql") as url, _serve(tmp_path_factory.mktemp("instance"), url) as base:
        yield base


class Operator:
    """A browser page that records every problem a page shows in the console or the network."""

    def __init__(self, page: t.Any, base: str) -> None:
        self.page = page
        self.base = base
        self.problems: list[str] = []
        page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.problems.append(f"request failed: {r.url} {r.failure}"))
        page.on("response", lambda r: self.problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)

    def go(self, path: str) -> None:
        self.page.goto(self.base + path)
        self.settle()

    def through(self, action: t.Callable[[], t.Any]) -> None:
        """Do ``action`` (a click, Enter), wait for the page it leads to, and check it."""
        with self.page.expect_navigation():
            action()
        self.settle()

    def settle(self) -> None:
        self.page.wait_for_load_state("networkidle")
        assert self.problems == [], self.problems

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@contextlib.contextmanager
def logged_in(chromium: t.Any, base: str, **context_options: t.Any) -> t.Iterator[Operator]:
    """A page in a new context of ``chromium`` (the :func:`tests.browser.chromium` fixture),
    logged in as ``operator`` on ``base``; ``context_options`` go to ``new_context`` (a
    ``viewport``, a ``locale`` for the browser's Accept-Language, ``is_mobile``...)."""
    context = chromium.new_context(
        **{"viewport": {"width": 1280, "height": 900}, "accept_downloads": True, **context_options}
    )
    try:
        page = context.new_page()
        who = Operator(page, base)
        who.go("/login")
        page.fill("input[name=username]", "operator")
        page.fill("input[name=password]", PASSWORD)
        who.through(lambda: page.click("form button.btn-primary"))
        yield who
    finally:
        context.close()


@pytest.fixture
def postgresql_operator(chromium: t.Any, served_postgresql: str) -> t.Iterator[Operator]:
    with logged_in(chromium, served_postgresql) as who:
        yield who


def test_home_lists_every_table_and_filters_as_you_type(operator: Operator) -> None:
    page = operator.page
    assert page.locator("h4", has_text="Home").is_visible()
    assert page.locator(".dashboard-tables a", has_text="event_log").is_visible()
    assert page.locator("text=This is a view").is_visible()
    operator.shot("home")
    page.fill("#dashboard-table-filter", "order")
    assert page.locator("tr[data-name='orders']").is_visible()
    assert not page.locator("tr[data-name='customers']").is_visible()


def test_list_sort_search_and_follow_a_foreign_key(operator: Operator) -> None:
    page = operator.page
    operator.go("/admin/orders/")
    operator.shot("list")
    operator.through(lambda: page.click("th a:has-text('total')"))
    page.fill("input[name=search]", "cancelled")
    operator.through(lambda: page.keyboard.press("Enter"))
    statuses = page.locator("td.col-status").all_inner_texts()
    assert statuses and all(s.strip() == "cancelled" for s in statuses)
    operator.through(lambda: page.locator("td.col-customer_id a").first.click())
    assert "/admin/customers/details/" in page.url
    operator.through(lambda: page.click("text=orders (customer_id)"))
    assert page.locator("td.col-id").count() >= 1


def test_filter_from_the_menu_then_page_through_the_matches(operator: Operator) -> None:
    page = operator.page
    operator.go("/admin/orders/")
    page.click("a.nav-link:has-text('Add Filter')")
    page.click(".field-filters a.filter:text-is('status')")
    page.click("#filter_form .select2-container.filter-val a.select2-choice")
    page.locator(".select2-drop-active .select2-result-label").first.wait_for()
    page.keyboard.type("paid")
    page.locator(".select2-drop-active .select2-result-label", has_text="paid").wait_for()
    page.keyboard.press("Enter")
    operator.through(lambda: page.click("#filter_form button[type=submit]"))
    first = page.locator("td.col-status").all_inner_texts()
    assert len(first) == 20 and all(status.strip() == "paid" for status in first), first
    first_ids = [int(i) for i in page.locator("td.col-id").all_inner_texts()]
    # The next page keeps the filter and continues in key order, no row twice.
    operator.through(lambda: page.click(".pagination a.page-link:text-is('2')"))
    assert "flt" in page.url and "page=1" in page.url
    second = page.locator("td.col-status").all_inner_texts()
    second_ids = [int(i) for i in page.locator("td.col-id").all_inner_texts()]
    assert second and all(status.strip() == "paid" for status in second)
    assert first_ids == sorted(first_ids) and min(second_ids) > max(first_ids)


def test_create_with_lookup_edit_with_an_error_then_delete(operator: Operator) -> None:
    page = operator.page
    operator.go("/admin/orders/new/")
    choose_in_lookup(page, ".select2-container", "a")
    page.select_option("select[name=status]", "paid")
    page.fill("input[name=ordered_at]", "2026-01-02 03:04:05")
    page.fill("input[name=total]", "12.50")
    page.fill("textarea[name=note]", "created in the browser")
    operator.shot("create")
    operator.through(lambda: page.click("form [type=submit][value=Save]"))
    assert page.locator(".alert-success").is_visible()
    page.fill("input[name=search]", "browser")
    operator.through(lambda: page.keyboard.press("Enter"))
    operator.through(lambda: page.locator("a[title='Edit Record']").first.click())
    page.fill("input[name=total]", "twelve")
    operator.through(lambda: page.click("form [type=submit][value=Save]"))
    assert page.locator("text=Enter a number.").is_visible()
    assert page.input_value("input[name=total]") == "twelve"
    operator.shot("edit-error")
    page.fill("input[name=total]", "13.00")
    operator.through(lambda: page.click("form [type=submit][value=Save]"))
    assert page.locator("td.col-total", has_text="13.00").is_visible()
    page.once("dialog", lambda dialog: dialog.accept())
    operator.through(lambda: page.locator("button[form=dashboard-delete]").first.click())
    assert page.locator(".alert-success").is_visible()
    assert not page.locator("td.col-total", has_text="13.00").is_visible()


def test_read_only_table_says_why(operator: Operator) -> None:
    operator.go("/admin/event_log/")
    text = operator.page.inner_text("body")
    assert re.search(r"no primary key", text)
    assert operator.page.locator("a:has-text('Create')").count() == 0


def test_find_a_table_from_the_navbar_and_see_it_among_recent_tables(operator: Operator) -> None:
    page = operator.page
    operator.go("/admin/customers/")
    finder = page.locator("#dashboard-nav-search")
    finder.fill("line")
    option = page.locator("#dashboard-nav-results .dropdown-item", has_text="order_lines")
    option.wait_for()
    assert page.locator("#dashboard-nav-results .dropdown-item").count() == 1
    operator.shot("navigation-search")
    operator.through(lambda: finder.press("Enter"))
    assert page.url.endswith("/admin/order_lines/")
    # Back in the finder with nothing typed: the tables just used come first.
    finder.click()
    page.locator("#dashboard-nav-results .dropdown-header", has_text="Recently used").wait_for()
    items = page.locator("#dashboard-nav-results .dropdown-item").all_inner_texts()
    assert items[0].startswith("order_lines") and items[1].startswith("customers"), items[:3]
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    operator.through(lambda: page.locator("#dashboard-nav-results .dropdown-item.active").click())
    assert page.url.endswith("/admin/customers/")


def test_bulk_delete_with_a_blocked_row_removes_nothing(operator: Operator, served_instance: Path) -> None:
    page = operator.page
    operator.go("/admin/customers/new/")
    page.fill("input[name=name]", "Bulk Deletable")
    page.fill("input[name=email]", "bulk.deletable@example.com")
    page.fill("input[name=country]", "NL")
    page.fill("input[name=created_at]", "2026-01-02 03:04:05")
    page.select_option("select[name=is_active]", label="Yes")
    operator.through(lambda: page.click("form [type=submit][value=Save]"))
    assert page.locator(".alert-success").is_visible(), page.inner_text("body")[:800]
    operator.through(lambda: page.click("th a:has-text('id')"))
    operator.through(lambda: page.click("th a:has-text('id')"))
    names = page.locator("td.col-name").all_inner_texts()
    assert names[0].strip() == "Bulk Deletable"
    # The newest customer that has orders, so its foreign keys block the delete; which
    # one that is depends on the demo's random data, so the database says.
    with contextlib.closing(sqlite3.connect(served_instance / "demo.db")) as db:
        (blocked,) = db.execute("SELECT max(customer_id) FROM orders").fetchone()
    page.locator("input.action-checkbox").nth(0).check()
    page.locator(f"input.action-checkbox[value='{blocked}']").check()
    messages: list[str] = []
    page.on("dialog", lambda dialog: (messages.append(dialog.message), dialog.accept()))
    page.click("a.dropdown-toggle:has-text('With selected')")
    operator.through(lambda: page.click("[data-dashboard-action=delete]"))
    assert messages and "2" in messages[0], messages
    alert = page.locator(".alert-danger").inner_text()
    assert "nothing was deleted" in alert.lower(), alert
    operator.shot("bulk-delete-blocked")
    assert page.locator("td.col-name").all_inner_texts() == names


def test_link_a_tag_to_a_product_from_the_products_page(operator: Operator, served_instance: Path) -> None:
    page = operator.page
    with contextlib.closing(sqlite3.connect(served_instance / "demo.db")) as db:
        product, tag, tag_name = db.execute(
            "SELECT p.id, t.id, t.name FROM products p, tags t WHERE NOT EXISTS (SELECT 1 FROM product_tags l "
            "WHERE l.product_id = p.id AND l.tag_id = t.id) ORDER BY p.id, t.id LIMIT 1"
        ).fetchone()
    operator.go(f"/admin/products/details/?id={product}")
    section = page.locator("section.dashboard-linked", has_text="tags, linked through product_tags")
    operator.through(lambda: section.locator("a:has-text('Add a link')").click())
    # The product is chosen already; the tag is picked by typing its name.
    assert f"({product})" in page.inner_text("#s2id_product_id")
    assert tag_name in choose_in_lookup(page, "#s2id_tag_id", tag_name)
    operator.through(lambda: page.click("form [type=submit][value=Save]"))
    assert f"/admin/products/details/?id={product}" in page.url
    operator.shot("linked-rows")
    assert section.locator(f"a:has-text('{tag_name} ({tag})')").is_visible()


def test_a_double_click_on_save_creates_one_row(operator: Operator) -> None:
    page = operator.page
    operator.go("/admin/tags/new/")
    page.fill("input[name=name]", "double-click tag")
    operator.through(lambda: page.dblclick("form [type=submit][value=Save]"))
    assert page.locator(".alert-success").count() == 1
    page.fill("input[name=search]", "double-click tag")
    operator.through(lambda: page.keyboard.press("Enter"))
    assert page.locator("td.col-name").all_inner_texts() == ["double-click tag"]


def test_export_downloads_every_row_as_csv(operator: Operator) -> None:
    page = operator.page
    operator.go("/admin/products/")
    # Export opens the menu of formats; CSV downloads.
    page.click("a.nav-link:has-text('Export')")
    with page.expect_download() as download_info:
        page.click(".dropdown-menu a.dropdown-item:has-text('CSV')")
    download = download_info.value
    # The page says the export is under way, where a screen reader announces it too.
    status = page.locator("#dashboard-busy[role=status]")
    assert "Export started" in status.inner_text()
    assert download.suggested_filename.endswith(".csv")
    lines = Path(download.path()).read_text(encoding="utf-8-sig").splitlines()
    total = re.search(r"([\d,]+) rows", page.inner_text(".dashboard-listing-info"))
    assert total and len(lines) == int(total.group(1).replace(",", "")) + 1
    assert lines[0].startswith("id,")


def test_on_a_phone_every_page_fits_and_every_field_has_its_label(chromium: t.Any, served: str) -> None:
    with logged_in(
        chromium, served, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    ) as operator:
        page = operator.page
        # The navbar folds into its toggle; the table finder is inside and works by touch.
        assert not page.locator("#dashboard-nav-search").is_visible()
        page.tap("button.navbar-toggler")
        finder = page.locator("#dashboard-nav-search")
        finder.wait_for(state="visible")
        finder.fill("orders")
        page.locator("#dashboard-nav-results .dropdown-item", has_text="orders").first.wait_for()
        operator.through(lambda: finder.press("Enter"))
        for path in (
            "/admin/",
            "/admin/orders/",
            "/admin/orders/details/?id=1",
            "/admin/orders/edit/?id=1",
            "/admin/customers/new/",
        ):
            operator.go(path)
            # Only the list's own frame may scroll sideways, never the page.
            width, viewport = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            assert width <= viewport, (path, width, viewport)
        operator.shot("phone-edit-customer")
        # Every field of the form is reachable by its label (what a screen reader reads out).
        for name in ("name", "email", "country", "created_at", "notes"):
            label = page.locator(f"label[for={name}]").inner_text().strip()
            assert page.get_by_label(label, exact=True).get_attribute("name") == name
        operator.go("/admin/orders/")
        operator.shot("phone-list")


def test_log_out_ends_the_session(operator: Operator) -> None:
    page = operator.page
    operator.go("/admin/orders/")
    operator.through(lambda: page.click("button:has-text('Log out')"))
    assert "/login" in page.url
    operator.go("/admin/orders/")
    assert "/login" in page.url


def test_postgresql_list_edit_and_delete(postgresql_operator: Operator) -> None:
    operator = postgresql_operator
    page = operator.page
    operator.go("/admin/orders/?sort=0&desc=1")
    operator.shot("postgresql-list")
    newest = page.locator("td.col-id").first.inner_text().strip()
    operator.through(lambda: page.locator("a[title='Edit Record']").first.click())
    page.fill("textarea[name=note]", "edited on PostgreSQL")
    operator.through(lambda: page.click("form [type=submit][value=Save]"))
    assert page.locator(".alert-success").is_visible()
    page.fill("input[name=search]", "edited on PostgreSQL")
    operator.through(lambda: page.keyboard.press("Enter"))
    assert page.locator("td.col-id").all_inner_texts() == [newest]
    operator.go("/admin/order_lines/")
    page.once("dialog", lambda dialog: dialog.accept())
    first_line = page.locator("td.col-order_id").first.inner_text()
    operator.through(lambda: page.locator("button[form=dashboard-delete]").first.click())
    assert page.locator(".alert-success").is_visible(), page.inner_text("body")[:500]
    assert first_line
