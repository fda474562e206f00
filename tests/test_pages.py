"""Plugin pages: deny by default, CSRF and the CSP inherited, and writes that go through the
dashboard (permission, read-only mode, audit log, fresh listings). Uses the shipped examples."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from dashboard import statedb
from tests.apps import csrf_token, logged_in
from tests.plugin_kit import REPO, chart_figures, create_shop, plugin_site, shown_number
from tests.site import rows

EXAMPLES = str(REPO / "plugins")

ROLES_PLUGIN = """
from dashboard.hookspecs import hookimpl
from dashboard.pages import ALL_ROLES, Page

class Secret(Page):
    title = "No roles declared"

class Editors(Page):
    title = "Editors"
    roles = ("editor",)

class Everyone(Page):
    title = "Everyone"
    roles = ALL_ROLES

class BadRole(Page):
    title = "Bad role"
    roles = ("superuser",)

@hookimpl
def register_pages():
    return [Secret, Editors, Everyone, BadRole]
"""


@pytest.fixture
def shop_url(tmp_path):
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    create_shop(url)
    return url


def listed_stock(page: str) -> list[str]:
    """The stock column of a products list page, top to bottom."""
    return re.findall(r'<td class="col-stock(?: [^"]*)?">\s*([^<]*?)\s*</td>', page)


def stock(url: str, sku: str) -> int:
    return next(r[4] for r in rows(url, "products") if r[1] == sku)


def test_pages_are_deny_by_default(shop_url, tmp_path):
    site = plugin_site(shop_url, tmp_path, {"roles": ROLES_PLUGIN})
    expected = {  # page -> roles that may open it
        "secret": {"admin"},
        "editors": {"admin", "editor"},
        "everyone": {"admin", "editor", "viewer"},
    }
    anonymous = site.app.test_client()
    for slug in expected:
        response = anonymous.get(f"/admin/-/pages/{slug}/")
        assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    for role in ("viewer", "editor", "admin"):
        client = logged_in(site.app, role, username=f"{role}-2")
        home = client.get("/admin/").get_data(as_text=True)
        for slug, allowed in expected.items():
            status = client.get(f"/admin/-/pages/{slug}/").status_code
            assert status == (200 if role in allowed else 403), (role, slug)
            assert (f'href="/admin/-/pages/{slug}/"' in home) == (role in allowed), (role, slug)
    found = site.app.extensions["dashboard_plugins"]
    assert [(p.part, "unknown role(s) superuser" in p.message) for p in found.problems] == [("page badrole", True)]
    assert site.get("/admin/-/pages/badrole/").status_code == 404


def test_plugin_page_inherits_csp_nonce_and_escaping(shop_url, tmp_path):
    site = plugin_site(shop_url, tmp_path, {}, PLUGINS_DIR=EXAMPLES)
    response = site.get("/admin/-/pages/sales-overview/")
    page = response.get_data(as_text=True)
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert scripts and all(f'nonce="{nonce}"' in tag for tag in scripts)
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"].split("script-src")[1].split(";")[0]
    assert not re.search(r"\son[a-z]+=", page)  # no inline handlers
    assert response.headers["X-Frame-Options"] == "DENY"


def test_restock_writes_through_the_dashboard(shop_url, tmp_path):
    site = plugin_site(shop_url, tmp_path, {}, role="editor", PLUGINS_DIR=EXAMPLES)
    assert listed_stock(site.text("/admin/products/")) == ["3", "10", "7"]  # read once: now cached
    page = site.text("/admin/-/pages/restock/")
    # Each product links to its details page, through the public API (TableWriter.details_url).
    assert '<td>A-1</td><td><a href="/admin/products/details/?id=1">Anvil</a></td><td class="text-right">3</td>' in page
    assert '<a class="dashboard-all-products" href="/admin/products/">' in page
    response = site.post("/admin/-/pages/restock/", {"sku": "A-1", "quantity": "5"})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/-/pages/restock/"
    assert stock(shop_url, "A-1") == 8
    after = site.client.get("/admin/-/pages/restock/").get_data(as_text=True)
    assert "Anvil: stock is now 8." in after
    # The products list shows the new stock at once: the write bumped its cache generation.
    assert listed_stock(site.text("/admin/products/")) == ["8", "10", "7"]
    entry = statedb.get_store(site.app).audit_entries({})[0]
    assert (entry["username"], entry["action"], entry["table_id"], entry["row_key"], entry["outcome"]) == (
        "editor-user",
        "plugin",
        "products",
        "1",
        "ok",
    )
    assert entry["changes"] == {"stock": {"old": "3", "new": "8"}}
    assert entry["message"] == "restock: edit"
    # A form that does not validate changes nothing and says why.
    bad = site.post("/admin/-/pages/restock/", {"sku": "NOPE", "quantity": "5"})
    assert bad.status_code == 400 and "No product has this SKU." in bad.get_data(as_text=True)
    assert site.post("/admin/-/pages/restock/", {"sku": "A-1", "quantity": "-1"}).status_code == 400
    assert stock(shop_url, "A-1") == 8


def test_plugin_post_needs_the_csrf_token_of_the_session(shop_url, tmp_path):
    site = plugin_site(shop_url, tmp_path, {}, role="editor", PLUGINS_DIR=EXAMPLES)
    other = logged_in(site.app, "editor", username="other-editor")
    foreign_token = csrf_token(other, "/admin/-/pages/restock/")
    attempts = [
        ({"sku": "A-1", "quantity": "5"}, {}),
        ({"sku": "A-1", "quantity": "5", "csrf_token": foreign_token}, {}),
        (
            {"sku": "A-1", "quantity": "5", "csrf_token": csrf_token(site.client, "/admin/-/pages/restock/")},
            {"Sec-Fetch-Site": "cross-site"},
        ),
    ]
    for data, headers in attempts:
        response = site.client.post("/admin/-/pages/restock/", data=data, headers=headers)
        assert response.status_code in (400, 403), (data, headers)
    assert stock(shop_url, "A-1") == 3


def test_plugin_writes_respect_permissions_and_read_only_mode(shop_url, tmp_path):
    # An editor whose role may only view products opens the page, but the write is refused.
    limited = plugin_site(
        shop_url,
        tmp_path / "limited",
        {},
        role="editor",
        PLUGINS_DIR=EXAMPLES,
        TABLES={"products": {"roles": {"editor": ["view"]}}},
    )
    assert "You may look, but not restock" in limited.text("/admin/-/pages/restock/")
    response = limited.post("/admin/-/pages/restock/", {"sku": "A-1", "quantity": "5"})
    assert response.status_code == 403 and "Permission denied." in response.get_data(as_text=True)
    assert stock(shop_url, "A-1") == 3
    entry = statedb.get_store(limited.app).audit_entries({})[0]
    assert (entry["action"], entry["outcome"], entry["row_key"]) == ("plugin", "failed", "1")
    assert logged_in(limited.app, "viewer").get("/admin/-/pages/restock/").status_code == 403

    read_only = plugin_site(shop_url, tmp_path / "ro", {}, role="admin", PLUGINS_DIR=EXAMPLES, READ_ONLY=True)
    response = read_only.post("/admin/-/pages/restock/", {"sku": "A-1", "quantity": "5"})
    assert response.status_code == 403 and "read-only mode" in response.get_data(as_text=True)
    assert stock(shop_url, "A-1") == 3


def test_restock_row_action_asks_quantity_and_reason_of_editors_only(empty_database_url, tmp_path):
    """The restock example's "Restock" button on a product (details page and list row): a form
    asking the quantity and a reason, the write audited with the reason; viewers get no button
    and a forged post is refused."""
    create_shop(empty_database_url)
    site = plugin_site(empty_database_url, tmp_path, {}, role="editor", PLUGINS_DIR=EXAMPLES)
    action = "/admin/products/action/restock/?id=1"
    assert f'href="{action}">Restock</a>' in site.text("/admin/products/details/?id=1")
    assert 'href="action/restock/?id=2">Restock</a>' in site.text("/admin/products/")
    form = site.text(action)
    assert "Quantity to add" in form and "Reason" in form
    refused = site.post(action, {"quantity": "0", "reason": "delivery"})
    assert refused.status_code == 422 and "Number must be between 1 and 10000." in refused.get_data(as_text=True)
    assert site.post(action, {"quantity": "5", "reason": ""}).status_code == 422
    assert stock(empty_database_url, "A-1") == 3
    done = site.post(action, {"quantity": "5", "reason": "delivery #12"})
    assert done.status_code == 302 and done.headers["Location"] == "/admin/products/details/?id=1"
    assert "Anvil: stock is now 8." in site.client.get(done.headers["Location"]).get_data(as_text=True)
    assert stock(empty_database_url, "A-1") == 8
    entry = statedb.get_store(site.app).audit_entries({})[0]
    assert (entry["action"], entry["row_key"], entry["message"], entry["reason"]) == (
        "plugin",
        "1",
        "restock: edit",
        "delivery #12",
    )
    assert entry["changes"] == {"stock": {"old": "3", "new": "8"}}
    viewer = logged_in(site.app, "viewer")
    assert "action/restock/" not in viewer.get("/admin/products/details/?id=1").get_data(as_text=True)
    assert viewer.get(action).status_code == 403
    token = csrf_token(viewer, "/admin/products/details/?id=1")
    assert viewer.post(action, data={"quantity": "5", "reason": "mine", "csrf_token": token}).status_code == 403
    assert stock(empty_database_url, "A-1") == 8


def test_sales_overview_example_shows_the_shops_figures(shop_url, tmp_path):
    site = plugin_site(shop_url, tmp_path, {}, role="viewer", PLUGINS_DIR=EXAMPLES)
    page = site.text("/admin/-/pages/sales-overview/")
    orders = rows(shop_url, "orders")
    paid = [o for o in orders if o[1] in ("paid", "shipped", "delivered")]
    assert chart_figures(page, "sales.revenue_total") == [
        ("", f"{sum(o[2] for o in paid):,.2f}".rstrip("0").rstrip("."))
    ]
    categories = [r[3] for r in rows(shop_url, "products")]
    assert dict(chart_figures(page, "sales.products_by_category")) == {
        c: str(categories.count(c)) for c in set(categories)
    }
    # Its weekly chart sits under the orders list.
    assert 'data-chart-name="sales.orders_per_week"' in site.text("/admin/orders/")
    # On a database without the shop, the examples add nothing and report nothing.
    bare = plugin_site(bare_database(tmp_path / "bare.db"), tmp_path / "bare", {}, PLUGINS_DIR=EXAMPLES)
    assert bare.get("/admin/-/pages/sales-overview/").status_code == 404
    assert bare.app.extensions["dashboard_plugins"].problems == []


def test_sales_overview_shows_the_top_customers_by_name(demo_url, tmp_path):
    """The example's "Top 10 customers by revenue": grouped by the orders' foreign key, no SQL,
    labelled with the customers' names (not their ids), the biggest first."""
    site = plugin_site(demo_url, tmp_path, {}, role="viewer", PLUGINS_DIR=EXAMPLES)
    page = site.text("/admin/-/pages/sales-overview/")
    assert "Top 10 customers by revenue" in page
    shown = chart_figures(page, "sales.top_customers")
    engine = sa.create_engine(demo_url)
    try:
        with engine.connect() as connection:
            totals = connection.execute(
                sa.text(
                    "SELECT c.id, c.name, sum(o.total) FROM orders o JOIN customers c ON c.id = o.customer_id"
                    " WHERE o.status IN ('paid', 'shipped', 'delivered') GROUP BY c.id, c.name"
                )
            ).all()
    finally:
        engine.dispose()
    best = sorted(totals, key=lambda row: -row[2])[:10]
    assert len(best) == 10 and [value for _label, value in shown] == [shown_number(row[2]) for row in best]
    for label, value in shown:
        assert any(
            label in (name, f"{name} (#{key})") and shown_number(total) == value for key, name, total in totals
        ), (label, value)
    assert site.app.extensions["dashboard_plugins"].problems == []


def bare_database(path) -> str:
    """A database with one table and none of the demo shop's."""
    url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    engine.dispose()
    return url
