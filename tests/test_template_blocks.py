"""Plugins' template blocks (hook ``template_blocks``, dashboard.pages.Block): each slot of the
core pages shows its plugin's content escaped, by role; a block that raises shows the error
panel in its place only. One site per module and dialect: these tests only read."""

from __future__ import annotations

import re

import pytest

from tests.apps import logged_in
from tests.databases import make_database
from tests.plugin_kit import create_shop, error_details, error_panels, plugin_site

HOSTILE = "<script>alert(1)</script>"

BLOCKS = """
from dashboard.hookspecs import hookimpl
from dashboard.pages import Block

HOSTILE = "<script>alert(1)</script>"


def with_hostile(writer, row):
    return {"hostile": HOSTILE, "orders_url": writer.list_url()}


def broken(writer, row):
    raise RuntimeError("the side panel's service is down")


@hookimpl
def template_blocks(table):
    if table.name != "orders":
        return None
    return [
        Block("details_side", "blocks/side.html", context=with_hostile),
        Block("details_side", "blocks/side.html", context=broken),
        Block("list_header", "blocks/header.html", context=with_hostile),
        Block("list_header", "blocks/admins.html", roles=()),
        Block("form_footer", "blocks/footer.html", context=with_hostile),
        Block("nowhere", "blocks/side.html"),
    ]
"""

TEMPLATES = {
    "templates/blocks/side.html": (
        '<p class="side">Order {{ row.id }} is {{ row.status }}; {{ hostile }}; {{ table.name }}</p>'
    ),
    "templates/blocks/header.html": '<p class="header">All of {{ orders_url }}: {{ hostile }}</p>',
    "templates/blocks/admins.html": '<p class="admins-only">For administrators</p>',
    "templates/blocks/footer.html": (
        '<p class="footer">{{ "Editing %s" % row.id if row else "A new order" }}: {{ hostile }}</p>'
    ),
}


@pytest.fixture(scope="module")
def site(dialect, tmp_path_factory):
    with make_database(dialect) as url:
        create_shop(url)
        site = plugin_site(
            url, tmp_path_factory.mktemp("blocks"), {"blocks": BLOCKS}, role="editor", files={"blocks": TEMPLATES}
        )
        site.admin = logged_in(site.app, "admin")
        yield site
        site.state.engine.dispose()


ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def test_hook_template_blocks(site):
    """Each slot shows its plugin's template, escaped, where the page puts it."""
    details = site.text("/admin/orders/details/?id=2")
    side = re.search(r'<aside class="col-lg-4 dashboard-details-side">(.*?)</aside>', details, re.S).group(1)
    assert f'<p class="side">Order 2 is pending; {ESCAPED}; orders</p>' in side
    assert HOSTILE not in details
    # The record's fields are still there, beside the panel.
    assert re.search(r"<b>status</b></td><td>pending</td>", details)
    listing = site.text("/admin/orders/")
    assert f'<p class="header">All of /admin/orders/: {ESCAPED}</p>' in listing
    assert listing.index('class="header"') < listing.index('class="table table-striped')
    # Drawn anew on a page served from the shared cache too.
    assert f'<p class="header">All of /admin/orders/: {ESCAPED}</p>' in site.text("/admin/orders/")
    assert f'<p class="footer">Editing 2: {ESCAPED}</p>' in site.text("/admin/orders/edit/?id=2")
    assert f'<p class="footer">A new order: {ESCAPED}</p>' in site.text("/admin/orders/new/")
    assert HOSTILE not in site.text("/admin/orders/new/")
    # Only the orders table has blocks.
    assert "dashboard-blocks" not in site.text("/admin/products/")


def test_blocks_follow_their_roles(site):
    assert "admins-only" not in site.text("/admin/orders/")
    assert '<p class="admins-only">For administrators</p>' in site.admin.get("/admin/orders/").get_data(as_text=True)


def test_a_block_that_raises_shows_the_error_panel_in_its_place_only(site):
    details = site.text("/admin/orders/details/?id=3")
    assert error_panels(details) == ["This part of the page could not be shown: its plugin failed."]
    assert error_details(details) == []  # details for administrators only
    assert '<p class="side">Order 3 is paid;' in details  # the other block of the slot
    assert "<b>total</b>" in details  # and the page around it
    admin_page = site.admin.get("/admin/orders/details/?id=3").get_data(as_text=True)
    assert "RuntimeError: the side panel's service is down" in error_details(admin_page)[0]
    found = site.app.extensions["dashboard_plugins"]
    assert any(p.plugin == "blocks" and p.part == "block details_side blocks/side.html" for p in found.problems)
    assert any(p.part == "template_blocks" and "unknown slot 'nowhere'" in p.message for p in found.problems)
