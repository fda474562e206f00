"""What each plugin adds, as ``dashboard plugins`` and the Plugins page list it, and a cell
renderer that raises: reported once, its plugin degraded, its cells shown as if it had none."""

from __future__ import annotations

import html
import logging
import re
import types

import pytest
from click.testing import CliRunner

from dashboard.cli import main
from dashboard.hookspecs import hookimpl
from dashboard.pages import MenuLink
from dashboard.plugins import loader
from dashboard.plugins.listing import describe
from dashboard.plugins.loader import Addition, LoadedPlugin, PluginRegistry
from tests.plugin_kit import create_shop, plugin_site, write_plugin

KIT = """
from flask_wtf import FlaskForm
from wtforms import StringField

from dashboard.charts import Chart
from dashboard.hookspecs import hookimpl
from dashboard.pages import ALL_ROLES, Block, BulkAction, MenuLink, Page, RowAction, TableAction


class Stock(Page):
    title = "Stock"
    roles = ALL_ROLES


class Why(FlaskForm):
    reason = StringField("Reason")


def zero(rows, writer):
    return "nothing done"


def recount(row, writer, form):
    return None


def check(writer, form):
    return None


def shout(value, row):
    if value in ("Bell", "Chisel"):
        raise ValueError(f"cannot shout {value}")
    return f"{value.upper()}!"


@hookimpl
def register_pages():
    return [Stock]


@hookimpl
def register_charts():
    return [Chart(name="kit.stock", title="Stock", table="products", group_by="category", on_list=True)]


@hookimpl
def menu_links():
    return [MenuLink(name="Runbook", url="https://wiki.example.com/runbook")]


@hookimpl
def cell_renderer(table, column):
    return shout if (table.name, column.name) == ("products", "name") else None


@hookimpl
def table_actions(table):
    if table.name != "products":
        return None
    return [
        BulkAction(name="zero", label="Zero stock", run=zero),
        RowAction(name="recount", label="Recount", run=recount, form=Why),
        TableAction(name="check", label="Check stock", run=check),
    ]


@hookimpl
def template_blocks(table):
    return [Block(slot="details_side", template="kit/side.html")] if table.name == "products" else None


@hookimpl
def table_options(table):
    return {"label": "Shop orders", "columns": {"note": {"hidden": True}}} if table.name == "orders" else None


@hookimpl
def before_write(table, action, old, new):
    return None


@hookimpl
def after_write(table, action, old, new):
    return None


@hookimpl
def template_variables(template):
    return None


@hookimpl
def startup(app):
    pass
"""
KIT_FILES = {"templates/kit/side.html": '<p class="kit-side">Stock is counted on Mondays.</p>'}
#: A plugin with one link the dashboard refuses (and one it takes).
SLOPPY = """
from dashboard.hookspecs import hookimpl
from dashboard.pages import MenuLink


@hookimpl
def menu_links():
    return [MenuLink(name="Bad", url="javascript:alert(1)"), MenuLink(name="Good", url="/admin/")]
"""
KIT_ADDS = {
    "page: /admin/-/pages/stock/",
    "chart: kit.stock (bar of products) [list]",
    "menu link: Runbook → https://wiki.example.com/runbook",
    "cell renderer: products (name)",
    "bulk action on products: Zero stock (zero)",
    "row action on products: Recount (recount) with a form",
    "table action on products: Check stock (check)",
    "block on products: details_side (kit/side.html)",
    "table options: orders (columns, label)",
    "write hook: before_write (every row written)",
    "write hook: after_write (every row written)",
    "template variables (every page)",
    "start-up hook",
}


@pytest.fixture
def shop_url(empty_database_url: str) -> str:
    create_shop(empty_database_url)
    return empty_database_url


def _block(output: str, plugin: str) -> tuple[str, set[str]]:
    """The state ``dashboard plugins`` prints for ``plugin`` and the lines under it."""
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split(" ", 1)[0] == plugin)
    state = lines[start].split()[2]
    under = set()
    for line in lines[start + 1 :]:
        if not line.startswith("    "):
            break
        under.add(line.strip())
    return state, under


def test_the_cli_lists_everything_each_plugin_adds(shop_url, tmp_path):
    folder = tmp_path / "plugins"
    write_plugin(folder, "kit", KIT, KIT_FILES)
    write_plugin(folder, "sloppy", SLOPPY)
    result = CliRunner().invoke(
        main,
        ["plugins", shop_url, "--plugins", str(folder)],
        env={"DASHBOARD_INSTANCE_PATH": str(tmp_path / "instance")},
    )
    assert result.exit_code == 1, result.output  # sloppy's refused link is a problem
    state, lines = _block(result.output, "kit")
    assert state == "loaded"
    hooks = next(line for line in lines if line.startswith("hooks: "))
    assert lines - {hooks} == KIT_ADDS
    # A plugin with a problem is loaded but degraded; what was refused is not listed as added.
    state, lines = _block(result.output, "sloppy")
    assert (state, lines) == ("degraded", {"hooks: menu_links", "menu link: Good → /admin/"})
    assert (
        "  sloppy · menu_links: link 'Bad': the URL must be a path on this site or an http(s) address"
        in result.output.splitlines()
    )


def _plugin_row(page: str, plugin: str) -> str:
    match = re.search(rf'<tr data-plugin="{plugin}">.*?</tr>', page, re.DOTALL)
    assert match, f"no row for {plugin} on the Plugins page"
    return html.unescape(match.group(0))


def _cells(page: str) -> str:
    return page[page.index("<tbody>") : page.index("</tbody>")]


def test_a_renderer_that_raises_degrades_its_plugin_once_and_its_cells_show_their_values(shop_url, tmp_path, caplog):
    site = plugin_site(shop_url, tmp_path, {"kit": KIT}, files={"kit": KIT_FILES})
    row = _plugin_row(site.text("/admin/-/pages/plugins/"), "kit")
    assert set(re.findall(r"<li>(?:<a [^>]*>)?(.*?)(?:</a>)?</li>", row)) == KIT_ADDS
    assert 'href="/admin/-/pages/stock/"' in row and ">loaded<" in row

    caplog.set_level(logging.ERROR, logger="dashboard.plugins.loader")
    cells = _cells(site.text("/admin/products/"))
    # Anvil is rendered by the plugin; Bell and Chisel, where it raised, as if it had none.
    assert ">ANVIL!<" in cells and ">Bell<" in cells and ">Chisel<" in cells
    assert "dashboard-cell-error" not in cells and "⚠" not in cells
    # Read again: from the cache, anew, on a details page. The renderer keeps working for
    # the values it can show, and its failure stays one problem, logged once.
    assert ">ANVIL!<" in _cells(site.text("/admin/products/"))
    assert ">ANVIL!<" in _cells(site.text("/admin/products/?refresh=1"))
    assert ">Chisel<" in site.text(site.url("products", "details", "3"))
    found = site.app.extensions["dashboard_plugins"].problems
    failures = [p for p in found if (p.plugin, p.part) == ("kit", "cell_renderer products.name")]
    assert len(failures) == 1 and failures[0].message.startswith("ValueError: cannot shout ")
    logged = [r for r in caplog.records if "failed in cell_renderer products.name" in r.getMessage()]
    assert len(logged) == 1 and "Traceback" in logged[0].getMessage()

    page = site.text("/admin/-/pages/plugins/")
    row = _plugin_row(page, "kit")
    assert ">degraded<" in row and "cell renderer: products (name)" in row
    assert "kit</strong> · cell_renderer products.name: ValueError: cannot shout" in html.unescape(page)


class Widget:
    """A kind of addition the listing does not know: a class of another helper, or of a future hook."""

    name = "stock_badge"
    template = "kit/badge.html"


def test_an_addition_of_an_unknown_kind_is_listed_by_its_class_and_name():
    found = PluginRegistry()
    plugin = LoadedPlugin(name="kit", source="folder", location="/plugins/kit")
    plugin.additions = [
        Addition("template_blocks", Widget(), table="orders"),
        Addition("shiny_new_hook", Widget()),
        Addition("shiny_new_hook", print),
    ]
    assert [line.text for line in describe(found, plugin)] == [
        "widget on orders: stock_badge (template: kit/badge.html)",
        "shiny_new_hook: widget: stock_badge (template: kit/badge.html)",
        "shiny_new_hook: builtin function or method: print",
    ]


def test_a_worker_serving_the_list_from_the_shared_cache_learns_of_the_failure(shop_url, tmp_path, redis_url):
    """Two workers share a Redis cache: the second serves the page the first rendered, never
    calling the renderer, and still lists the problem and the degraded plugin, once."""
    cache = {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": redis_url}
    first = plugin_site(shop_url, tmp_path / "first", {"kit": KIT}, files={"kit": KIT_FILES}, **cache)
    second = plugin_site(shop_url, tmp_path / "second", {"kit": KIT}, files={"kit": KIT_FILES}, **cache)
    assert ">Bell<" in _cells(first.text("/admin/products/"))
    for _ in range(2):
        assert ">Bell<" in _cells(second.text("/admin/products/"))
    failures = [p for p in second.app.extensions["dashboard_plugins"].problems if p.plugin == "kit"]
    assert [p.part for p in failures] == ["cell_renderer products.name"]
    assert "Traceback" in failures[0].traceback and "cannot shout" in failures[0].traceback
    assert ">degraded<" in _plugin_row(second.text("/admin/-/pages/plugins/"), "kit")


def test_a_plugin_adding_more_than_the_listing_keeps_is_told_how_many_more(monkeypatch):
    """Past ``MAX_ADDITIONS`` (a renderer for every column of a big schema), the rest is counted."""
    monkeypatch.setattr(loader, "MAX_ADDITIONS", 2)
    found = PluginRegistry()
    module = types.ModuleType("links")
    module.menu_links = hookimpl(lambda: [MenuLink(name=f"Link {n}", url=f"/admin/{n}/") for n in range(5)])
    found.plugins.append(LoadedPlugin(name="links", source="folder", location="/plugins/links"))
    found.manager.register(module, name="links")
    for _ in range(2):  # asked twice: the same links are not counted again
        found.call("menu_links", app=None)
    assert [line.text for line in describe(found, found.plugins[0])] == [
        "menu link: Link 0 → /admin/0/",
        "menu link: Link 1 → /admin/1/",
        "and 3 more",
    ]
