"""Plugins: found in the plugins folder, in installed packages and built in; every hook does
what plugins/README.md says; a plugin that fails never takes the site down."""

from __future__ import annotations

import ast
import contextlib
import html
import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from dashboard import hookspecs, statedb
from dashboard.plugins.loader import hook_names
from dashboard.writes import table_writer
from tests.apps import csrf_token, logged_in, make_small_database
from tests.plugin_kit import (
    REPO,
    chart_figures,
    copy_examples_with_team_sales,
    create_shop,
    error_details,
    error_panels,
    plugin_site,
    write_plugin,
)
from tests.site import rows

README = REPO / "plugins" / "README.md"
TESTS = Path(__file__).resolve().parent

HELLO = """
from dashboard.hookspecs import hookimpl
from dashboard.pages import ALL_ROLES, Page

class Hello(Page):
    title = "Hello page"
    roles = ALL_ROLES
    template = "hello/page.html"

    def context(self):
        return {"greeting": "Hello from a plugin"}

@hookimpl
def register_pages():
    return [Hello]
"""
HELLO_FILES = {
    "templates/hello/page.html": """
        {% extends "dashboard/page.html" %}
        {% block page_content %}<p class="greeting">{{ greeting }}</p>
        <link rel="stylesheet" href="{{ plugin_static('hello', 'hello.css') }}">{% endblock %}
    """,
    "static/hello.css": ".greeting { color: green; }\n",
}


@pytest.fixture
def small_url(tmp_path):
    return make_small_database(tmp_path / "target.db")


@pytest.fixture
def shop_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    create_shop(url)
    return url


@contextlib.contextmanager
def sqlite_write(url: str):
    """A connection to ``url`` outside the dashboard, committed on exit."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            yield connection
    finally:
        engine.dispose()


def problems(site) -> list[tuple[str, str]]:
    return [(p.plugin, p.part) for p in site.app.extensions["dashboard_plugins"].problems]


# -- discovery -------------------------------------------------------------------------------------


def test_folder_plugin_page_with_its_templates_and_static(small_url, tmp_path):
    site = plugin_site(small_url, tmp_path, {"hello": HELLO}, files={"hello": HELLO_FILES})
    page = site.text("/admin/-/pages/hello/")
    assert '<p class="greeting">Hello from a plugin</p>' in page
    assert ">Hello page<" in site.text("/admin/").replace("\n", "").replace("  ", "")
    with site.get("/plugins-static/hello/hello.css") as css:
        assert css.status_code == 200 and b"color: green" in css.data
    loaded = site.app.extensions["dashboard_plugins"].plugin("hello")
    assert (loaded.source, loaded.location, loaded.pages) == ("folder", str(tmp_path / "plugins" / "hello"), ["hello"])


def test_entry_point_plugin_from_an_installed_package(small_url, tmp_path, monkeypatch):
    site_packages = tmp_path / "site-packages"
    write_plugin(
        site_packages,
        "greeter_pkg",
        HELLO.replace("hello/page.html", "greeter/page.html"),
        {
            "templates/greeter/page.html": HELLO_FILES["templates/hello/page.html"].replace(
                "plugin_static('hello', 'hello.css')", "'#'"
            ),
        },
    )
    dist = site_packages / "greeter_pkg-1.2.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: greeter-pkg\nVersion: 1.2\n")
    (dist / "entry_points.txt").write_text("[dashboard]\ngreeter = greeter_pkg\n")
    monkeypatch.syspath_prepend(str(site_packages))
    monkeypatch.delitem(sys.modules, "greeter_pkg", raising=False)
    try:
        site = plugin_site(small_url, tmp_path, {})
        loaded = site.app.extensions["dashboard_plugins"].plugin("greeter")
        assert loaded.source == "entry point" and loaded.location == "greeter-pkg 1.2 (greeter_pkg)"
        assert "Hello from a plugin" in site.text("/admin/-/pages/hello/")
    finally:
        sys.modules.pop("greeter_pkg", None)


def test_builtin_plugins_are_ordinary_plugins_and_can_be_disabled(small_url, tmp_path):
    site = plugin_site(small_url, tmp_path, {})
    found = site.app.extensions["dashboard_plugins"]
    assert [(p.name, p.source) for p in found.plugins] == [("overview", "builtin"), ("plugin_pages", "builtin")]
    page = site.text("/admin/-/pages/plugins/")
    assert 'data-plugin="overview"' in page and 'data-plugin="plugin_pages"' in page
    disabled = plugin_site(
        small_url,
        tmp_path / "off",
        {"hello": HELLO},
        files={"hello": HELLO_FILES},
        DISABLED_PLUGINS=["plugin_pages", "hello"],
    )
    assert [p.name for p in disabled.app.extensions["dashboard_plugins"].plugins] == ["overview"]
    assert disabled.get("/admin/-/pages/plugins/").status_code == 404
    assert disabled.get("/admin/-/pages/hello/").status_code == 404


def test_cli_lists_plugins_where_from_and_what_failed(small_url, tmp_path):
    folder = tmp_path / "plugins"
    write_plugin(folder, "hello", HELLO, HELLO_FILES)
    write_plugin(folder, "broken", "import no_such_module_for_dashboard\n")
    write_plugin(
        folder,
        "charty",
        """
        from dashboard.charts import Chart
        from dashboard.hookspecs import hookimpl

        @hookimpl
        def register_charts():
            return [Chart(name="charty.bad", table="nope", group_by="x")]
    """,
    )
    command = [sys.executable, "-m", "dashboard.cli", "plugins", small_url, "--plugins", str(folder)]
    env = {"DASHBOARD_INSTANCE_PATH": str(tmp_path / "instance"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(command, check=False, capture_output=True, text=True, env=env, timeout=120, cwd=REPO)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert any(re.match(rf"hello +folder +loaded +{re.escape(str(folder / 'hello'))}$", line) for line in lines)
    assert any(re.match(r"broken +folder +FAILED", line) for line in lines)
    assert any(re.match(r"overview +builtin +loaded", line) for line in lines)
    assert "    page: /admin/-/pages/hello/" in lines
    assert "  broken · import: ModuleNotFoundError: No module named 'no_such_module_for_dashboard'" in lines
    assert (
        "    chart: charty.bad (bar of nope) INVALID: chart charty.bad: unknown table 'nope' "
        "(not served by this dashboard)" in lines
    )
    assert "  charty · chart charty.bad: chart charty.bad: unknown table 'nope' (not served by this dashboard)" in lines
    assert "Traceback" in result.stderr  # the log has the traceback
    clean = subprocess.run(
        command[:-2] + ["--plugins", str(tmp_path / "empty")],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        cwd=REPO,
    )
    assert clean.returncode == 0 and "No problems." in clean.stdout


def test_copying_an_example_under_a_new_name_adds_its_page_and_charts(tmp_path):
    """What a new plugin author does first: copy the example, rename it, restart."""
    demo = tmp_path / "demo.db"
    subprocess.run(
        [sys.executable, "-m", "dashboard.cli", "demo", "--rows", "500", "--output", str(demo)],
        check=True,
        capture_output=True,
        timeout=300,
        cwd=REPO,
    )
    folder = copy_examples_with_team_sales(tmp_path / "plugins")
    site = plugin_site(f"sqlite:///{demo}", tmp_path, {}, PLUGINS_DIR=str(folder))
    assert problems(site) == []
    home = site.text("/admin/")
    assert 'href="/admin/-/pages/team-sales/"' in home and 'href="/admin/-/pages/sales-overview/"' in home
    page = site.text("/admin/-/pages/team-sales/")
    assert "<h4" in page and "Team sales" in page
    orders = rows(f"sqlite:///{demo}", "orders")
    assert chart_figures(page, "team.orders_by_status") == sorted(
        ((status, str(sum(1 for o in orders if o[2] == status))) for status in {o[2] for o in orders}),
        key=lambda pair: (-int(pair[1]), pair[0]),
    )
    assert chart_figures(site.text("/admin/-/pages/sales-overview/"), "sales.orders_by_status") == chart_figures(
        page, "team.orders_by_status"
    )


# -- failures stay where they happen ---------------------------------------------------------------------


def test_import_error_is_reported_and_the_rest_works(small_url, tmp_path, caplog):
    caplog.set_level(logging.ERROR, logger="dashboard.plugins.loader")
    site = plugin_site(
        small_url,
        tmp_path,
        {
            "hello": HELLO,
            "broken": "import no_such_module_for_dashboard\n",
            "typo": "from dashboard.hookspecs import hookimpl\n\n@hookimpl\ndef register_page():\n    return []\n",
        },
        files={"hello": HELLO_FILES},
    )
    assert problems(site) == [("broken", "import"), ("typo", "import")]
    assert "unknown hook(s) register_page" in site.app.extensions["dashboard_plugins"].problems[1].message
    assert "Traceback" in caplog.text and "no_such_module_for_dashboard" in caplog.text
    assert site.get("/admin/parent/").status_code == 200
    assert site.get("/admin/-/pages/hello/").status_code == 200
    admin_home = site.text("/admin/")
    assert "No module named" in html.unescape(admin_home) and "dashboard-plugin-problems" in admin_home
    plugins_page = html.unescape(site.text("/admin/-/pages/plugins/"))
    assert "Traceback (most recent call last)" in plugins_page and "no_such_module_for_dashboard" in plugins_page
    viewer_home = logged_in(site.app, "viewer").get("/admin/").get_data(as_text=True)
    assert "no_such_module_for_dashboard" not in viewer_home and "dashboard-plugin-problems" not in viewer_home
    assert logged_in(site.app, "editor").get("/admin/-/pages/plugins/").status_code == 403


FAILING = """
from dashboard.charts import Chart
from dashboard.hookspecs import hookimpl
from dashboard.pages import ALL_ROLES, Page

class Fragile(Page):
    title = "Fragile"
    roles = ALL_ROLES

    def context(self):
        raise RuntimeError("secret internals of the fragile page")

@hookimpl
def register_charts():
    raise RuntimeError("charts exploded")

@hookimpl
def register_pages():
    return [Fragile]

@hookimpl
def template_variables(template):
    raise RuntimeError("variables exploded")

@hookimpl
def cell_renderer(table, column):
    if column.name == "name":
        return lambda value, row: 1 / 0
    return None
"""


def test_a_hook_or_page_that_raises_shows_an_error_panel_and_nothing_else_breaks(small_url, tmp_path):
    site = plugin_site(small_url, tmp_path, {"fragile": FAILING, "hello": HELLO}, files={"hello": HELLO_FILES})
    assert ("fragile", "register_charts") in problems(site)
    # Every other page works: template_variables raising on each page is skipped.
    assert site.get("/admin/").status_code == 200
    assert "Hello from a plugin" in site.text("/admin/-/pages/hello/")
    # The page that raises answers inside the frame, with details for administrators only.
    response = site.get("/admin/-/pages/fragile/")
    page = response.get_data(as_text=True)
    assert response.status_code == 500 and "<nav" in page
    assert error_panels(page) == [
        "This page could not be shown: its plugin failed. The rest of the dashboard works as usual."
    ]
    assert "secret internals of the fragile page" in error_details(page)[0]
    viewer = logged_in(site.app, "viewer")
    viewer_page = viewer.get("/admin/-/pages/fragile/").get_data(as_text=True)
    assert error_panels(viewer_page) and "secret internals" not in viewer_page
    # A renderer that raises leaves its cells to the default rendering; the list still shows.
    listing = site.text("/admin/parent/")
    rows = listing[listing.index("<tbody>") : listing.index("</tbody>")]  # (the facets panel names values too)
    assert ">first<" in rows and 'href="details/?id=1"' in rows and "dashboard-cell-error" not in listing
    assert ("fragile", "cell_renderer parent.name") in problems(site)
    assert ("fragile", "template_variables") in problems(site)
    assert ("fragile", "page fragile") in problems(site)


# -- every hook -----------------------------------------------------------------------------------------


def test_hook_register_pages(small_url, tmp_path):
    code = (
        HELLO
        + """
class Admins(Page):
    title = "Admins only"

class NotAPage:
    pass

@hookimpl
def register_pages():
    return [Hello, Admins, NotAPage]
"""
    )
    site = plugin_site(small_url, tmp_path, {"hello": code}, files={"hello": HELLO_FILES})
    assert site.get("/admin/-/pages/admins/").status_code == 200
    assert ("hello", "register_pages") in problems(site)  # NotAPage is refused, the rest registered
    viewer = logged_in(site.app, "viewer")
    assert viewer.get("/admin/-/pages/admins/").status_code == 403
    assert viewer.get("/admin/-/pages/hello/").status_code == 200
    assert "/admin/-/pages/admins/" not in viewer.get("/admin/").get_data(as_text=True)


def test_hook_register_charts(shop_url, tmp_path):
    code = """
from dashboard.charts import Chart
from dashboard.hookspecs import hookimpl

@hookimpl
def register_charts(app):
    return [Chart(name="shop.status", title="Orders by status", table="orders", group_by="status", home=True),
            "not a chart"]
"""
    site = plugin_site(shop_url, tmp_path, {"shop": code}, DISABLED_PLUGINS=["overview"])
    statuses = [r[1] for r in rows(shop_url, "orders")]
    assert dict(chart_figures(site.text("/admin/"), "shop.status")) == {
        s: str(statuses.count(s)) for s in set(statuses)
    }
    assert problems(site) == [("shop", "register_charts")]


def test_hook_cell_renderer(small_url, tmp_path):
    code = """
import sqlalchemy as sa
from markupsafe import Markup
from dashboard.hookspecs import hookimpl

@hookimpl
def cell_renderer(table, column):
    if table.name == "parent" and column.name == "name":
        return lambda value, row: Markup('<b class="fancy">{}#{}</b>').format(value, row["id"])
    if isinstance(column.type, sa.Integer) and table.name == "payments" and column.name == "amount":
        return lambda value, row: f"<{value} EUR>"      # text: escaped
    return None
"""
    site = plugin_site(small_url, tmp_path, {"cells": code})
    listing = site.text("/admin/parent/")
    assert '<b class="fancy">first#1</b>' in listing
    assert '<b class="fancy">first#1</b>' in site.text(site.url("parent", "details", "1"))
    assert "&lt;100 EUR&gt;" in site.text("/admin/payments/")
    # Columns no renderer claims keep the default rendering (a foreign key link).
    assert 'href="/admin/parent/details/?id=1' in site.text("/admin/child/")


ACTIONS = """
from dashboard.hookspecs import hookimpl
from dashboard.pages import BulkAction

def shout(rows, writer):
    count = writer.update(rows, {"name": "LOUD"})
    return f"{count} parents are loud now."

def count_them(rows, writer):
    return f"Selected {len(rows)} rows: {sorted(r['id'] for r in rows)}"

@hookimpl
def table_actions(table):
    if table.name == "parent":
        return [BulkAction(name="shout", label="Make loud", run=shout, confirmation="Sure?"),
                BulkAction(name="count_them", label="Count", run=count_them, permission="view"),
                BulkAction(name="delete", label="Clash", run=count_them)]
    return None
"""


def test_hook_table_actions(small_url, tmp_path):
    site = plugin_site(small_url, tmp_path, {"acts": ACTIONS}, role="editor")
    assert ("acts", "table_actions") in problems(site)  # "delete" is taken
    listing = site.text("/admin/parent/")
    assert "Make loud" in listing and "Count" in listing
    token = csrf_token(site.client, "/admin/parent/")
    response = site.client.post(
        "/admin/parent/action/",
        data={"action": "shout", "rowid": ["1", "2"], "csrf_token": token},
        follow_redirects=True,
    )
    assert "2 parents are loud now." in response.get_data(as_text=True)
    assert rows(small_url, "parent", "id") == [(1, "LOUD"), (2, "LOUD")]
    entries = statedb.get_store(site.app).audit_entries({})
    assert [(e["action"], e["row_key"], e["outcome"]) for e in entries[:2]] == [
        ("plugin", "2", "ok"),
        ("plugin", "1", "ok"),
    ]
    assert entries[0]["message"].startswith("acts: edit")
    # A viewer sees the read-only action only, and a forged POST of the other changes nothing.
    viewer = logged_in(site.app, "viewer")
    page = viewer.get("/admin/parent/").get_data(as_text=True)
    assert "Count" in page and "Make loud" not in page
    token = csrf_token(viewer, "/admin/parent/")
    before = rows(small_url, "parent", "id")
    with sqlite_write(small_url) as connection:
        connection.exec_driver_sql("UPDATE parent SET name = 'quiet' WHERE id = 1")
    before = rows(small_url, "parent", "id")
    viewer.post("/admin/parent/action/", data={"action": "shout", "rowid": ["1"], "csrf_token": token})
    assert rows(small_url, "parent", "id") == before == [(1, "quiet"), (2, "LOUD")]
    response = viewer.post(
        "/admin/parent/action/",
        data={"action": "count_them", "rowid": ["2"], "csrf_token": token},
        follow_redirects=True,
    )
    assert "Selected 1 rows: [2]" in response.get_data(as_text=True)
    assert rows(small_url, "parent", "id") == before


NARROWED_ACTION = """
from dashboard.hookspecs import hookimpl
from dashboard.pages import BulkAction

class IfTheyMayDelete(BulkAction):
    def allowed_on(self, writer):
        return super().allowed_on(writer) and writer.allowed("delete")

def archive(rows, writer):
    return f"archived {len(rows)}"

@hookimpl
def table_actions(table):
    return [IfTheyMayDelete(name="archive", label="Archive them", run=archive)] if table.name == "parent" else None
"""


def test_a_bulk_action_may_narrow_who_runs_it_by_its_tables_writer(small_url, tmp_path):
    site = plugin_site(
        small_url,
        tmp_path,
        {"narrow": NARROWED_ACTION},
        role="editor",
        TABLES={"parent": {"roles": {"editor": ["view", "edit"]}}},
    )
    assert "Archive them" not in site.text("/admin/parent/")
    token = csrf_token(site.client, "/admin/parent/")
    forged = site.client.post(
        "/admin/parent/action/", data={"action": "archive", "rowid": ["1"], "csrf_token": token}, follow_redirects=True
    )
    assert "archived" not in forged.get_data(as_text=True)
    admin = logged_in(site.app, "admin")
    assert "Archive them" in admin.get("/admin/parent/").get_data(as_text=True)
    token = csrf_token(admin, "/admin/parent/")
    response = admin.post(
        "/admin/parent/action/",
        data={"action": "archive", "rowid": ["1", "2"], "csrf_token": token},
        follow_redirects=True,
    )
    assert "archived 2" in response.get_data(as_text=True)


def test_hook_table_options(small_url, tmp_path):
    code = """
from dashboard.hookspecs import hookimpl

@hookimpl
def table_options(table):
    if table.name == "parent":
        return {"label": "Parents", "columns": {"name": {"label": "Full name", "filterable": False}}}
    if table.name == "payments":
        return {"hidden": True}
    if table.name == "child":
        return {"roles": {"viewer": ["view"]}}   # only the operator decides roles
    return None
"""
    site = plugin_site(small_url, tmp_path, {"opts": code})
    listing = site.text("/admin/parent/")
    assert "Full name" in listing and "<h4" in listing and "Parents" in listing
    # The "Add Filter" menu lists the columns of the filter bar's data (static/filters.js makes it).
    filters = list(json.loads(re.search(r'id="filter-groups-data"[^>]*>(.*?)</div>', listing).group(1))["g"])
    assert filters == ["id"]  # name is no longer filterable
    assert site.get("/admin/payments/").status_code == 404
    assert ("opts", "table_options") in problems(site)
    assert "unknown option(s) roles" in site.app.extensions["dashboard_plugins"].problems[0].message
    # The operator's settings win over the plugin's.
    over = plugin_site(
        small_url,
        tmp_path / "over",
        {"opts": code},
        TABLES={"parent": {"columns": {"name": {"label": "Operator's name"}}}},
    )
    page = html.unescape(over.text("/admin/parent/"))
    assert "Operator's name" in page and "Full name" not in page


def test_hook_menu_links(small_url, tmp_path):
    code = """
from dashboard.hookspecs import hookimpl
from dashboard.pages import MenuLink

@hookimpl
def menu_links(app):
    return [MenuLink(name="Runbook", url="https://wiki.example.com/runbook", category="Help"),
            MenuLink(name="Editors' corner", url="/admin/child/", roles=("editor",)),
            MenuLink(name="Evil", url="javascript:alert(1)")]
"""
    site = plugin_site(small_url, tmp_path, {"links": code}, role="editor")
    page = site.text("/admin/")
    assert 'href="https://wiki.example.com/runbook"' in page and "Editors&#39; corner" in page
    assert "javascript:alert" not in page
    assert ("links", "menu_links") in problems(site)
    viewer_page = logged_in(site.app, "viewer").get("/admin/").get_data(as_text=True)
    assert "https://wiki.example.com/runbook" in viewer_page and "Editors&#39; corner" not in viewer_page


def test_hook_template_variables(small_url, tmp_path):
    code = (
        HELLO.replace('{"greeting": "Hello from a plugin"}', '{"greeting": "from the page"}')
        + """
from flask import current_app
from dashboard.writes import TableWriter

@hookimpl
def template_variables(template, writer, request):
    if template == "hello/page.html":
        return {"greeting": "from the plugin", "motd": "<b>Freeze on Friday</b>", "writer": repr(writer)}
    if writer is not None:  # a table's page: what the plugin's writer tells about it
        assert isinstance(writer, TableWriter)
        current_app.config.setdefault("SEEN", []).append(
            (template, writer.info.name, writer.plugin, writer.list_url(), writer.allowed("edit"), request.path))
    return None
"""
    )
    files = {
        "templates/hello/page.html": """
        {% extends "dashboard/page.html" %}
        {% block page_content %}<p class="greeting">{{ greeting }}</p><p class="motd">{{ motd }}</p>
        <p class="writer">{{ writer }}</p>{% endblock %}
    """
    }
    site = plugin_site(small_url, tmp_path, {"hello": code}, files={"hello": files})
    page = site.text("/admin/-/pages/hello/")
    assert '<p class="greeting">from the page</p>' in page  # the page's own variable wins
    assert '<p class="motd">&lt;b&gt;Freeze on Friday&lt;/b&gt;</p>' in page
    assert '<p class="writer">None</p>' in page  # not a table's page: no writer
    site.text("/admin/")
    assert "SEEN" not in site.app.config
    site.text("/admin/parent/")
    site.text(site.url("parent", "details", "1"))
    assert site.app.config["SEEN"] == [
        ("dashboard/list.html", "parent", "hello", "/admin/parent/", True, "/admin/parent/"),
        ("dashboard/details.html", "parent", "hello", "/admin/parent/", True, "/admin/parent/details/"),
    ]


LEGACY_VARIABLES = """
from flask import current_app
from dashboard.hookspecs import hookimpl

@hookimpl
def template_variables(template, view):
    info = getattr(view, "info", None)
    if info is not None:
        current_app.config.setdefault("LEGACY", []).append((info.name, view.allowed("edit")))
    return None
"""


def test_template_variables_written_for_the_table_view_still_work(small_url, tmp_path):
    """A plugin written when the hook passed ``view`` (the Flask-Admin view) and reading
    only ``view.info`` and ``view.allowed()`` gets the table's writer under that name."""
    site = plugin_site(
        small_url,
        tmp_path,
        {"legacy": LEGACY_VARIABLES},
        role="viewer",
        TABLES={"child": {"roles": {"viewer": ["view", "edit"]}}},
    )
    site.text("/admin/")
    site.text("/admin/parent/")
    site.text("/admin/child/")
    assert site.app.config["LEGACY"] == [("parent", False), ("child", True)]
    assert problems(site) == []


def test_hook_startup(small_url, tmp_path):
    code = (
        HELLO
        + """
from dashboard.writes import served_tables

@hookimpl
def startup(app):
    app.config["HELLO_GREETING"] = "configured at start-up for " + ", ".join(served_tables(app))
"""
    )
    files = {
        "templates/hello/page.html": """
        {% extends "dashboard/page.html" %}
        {% block page_content %}<p class="greeting">{{ config["HELLO_GREETING"] }}</p>{% endblock %}
    """
    }
    site = plugin_site(
        small_url,
        tmp_path,
        {
            "hello": code,
            "crashy": "from dashboard.hookspecs import hookimpl\n\n"
            "@hookimpl\ndef startup(app):\n    raise OSError('disk full')\n",
        },
        files={"hello": files},
    )
    assert "configured at start-up for child, parent, payments" in site.text("/admin/-/pages/hello/")
    assert problems(site) == [("crashy", "startup")]


TABLE_LINKS = """
from dashboard.hookspecs import hookimpl
from dashboard.pages import ALL_ROLES, Page
from dashboard.writes import served_tables, table_writer

class Links(Page):
    title = "Links"
    roles = ALL_ROLES
    template = "links/page.html"

    def context(self):
        products = table_writer("products", plugin="links")
        lowest = products.rows(order_by="stock", limit=1)[0] if products.allowed("view") else {"id": 1}
        return {"list_url": products.list_url(), "lowest": lowest.get("name"),
                "lowest_url": products.details_url(lowest),
                "keyless_url": products.details_url({"name": "Anvil"}), "served": served_tables()}

@hookimpl
def register_pages(app):
    return [Links] if "products" in served_tables(app) else []
"""
TABLE_LINKS_FILES = {
    "templates/links/page.html": """
    {% extends "dashboard/page.html" %}
    {% block page_content %}<p class="links">{{ list_url }} | {{ lowest }} {{ lowest_url }} | {{ keyless_url }} |{#
    #} {{ served|join(",") }}</p>
    {% endblock %}
"""
}


def test_table_writer_links_to_the_tables_pages_for_whoever_may_open_them(empty_database_url, tmp_path):
    """A plugin reads a table and links to its list and a row's details through ``dashboard.writes``, never
    the site's views; an operator who may not open the table gets no link; a writer gives no way to its store."""
    create_shop(empty_database_url)
    site = plugin_site(
        empty_database_url,
        tmp_path / "viewer",
        {"links": TABLE_LINKS},
        role="viewer",
        files={"links": TABLE_LINKS_FILES},
        TABLES={"orders": {"hidden": True}},
    )
    denied = plugin_site(
        empty_database_url,
        tmp_path / "denied",
        {"links": TABLE_LINKS},
        role="viewer",
        files={"links": TABLE_LINKS_FILES},
        TABLES={"products": {"roles": {"viewer": []}}},
    )
    try:
        assert (
            '<p class="links">/admin/products/ | Anvil /admin/products/details/?id=1 | None | products</p>'
            in site.text("/admin/-/pages/links/")
        )
        assert '<p class="links">None | None None | None | orders,products</p>' in denied.text("/admin/-/pages/links/")
        with site.app.test_request_context():
            writer = table_writer("products", plugin="links")
            assert not hasattr(writer, "store") and not hasattr(writer, "view")
    finally:
        site.state.engine.dispose()
        denied.state.engine.dispose()


# -- the contract: every hook documented and tested ---------------------------------------------------


def test_every_hook_has_a_one_line_docstring():
    for name in hook_names():
        doc = getattr(hookspecs, name).__doc__ or ""
        assert doc.strip() and "\n" not in doc.strip(), name


def test_every_hook_is_documented_with_an_example():
    text = README.read_text()
    for name in hook_names():
        section = re.search(rf"^### {name}\n(.*?)(?=^### |^## |\Z)", text, re.DOTALL | re.MULTILINE)
        assert section, f"plugins/README.md has no '### {name}' section"
        assert re.search(rf"```python\n.*?def {name}\(.*?```", section.group(1), re.DOTALL), (
            f"the {name} section of plugins/README.md has no example implementing it"
        )


def test_every_hook_has_a_test():
    defined = set()
    for path in TESTS.glob("test_*.py"):
        defined |= {node.name for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.FunctionDef)}
    missing = [name for name in hook_names() if f"test_hook_{name}" not in defined]
    assert not missing, f"hooks without a test_hook_<name> test: {missing}"
