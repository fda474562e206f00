"""Charts across tables: groups of a foreign key labelled by the parent's names, ``sql=`` charts
refreshed by writes to the tables they read, charts of a row's children on its details page,
and the mistakes of such declarations reported at start-up. Every dialect."""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from collections import Counter
from decimal import Decimal

import pytest
import sqlalchemy as sa

from dashboard import clock
from dashboard.plugins.charting.sql_tables import tables_read
from tests.apps import logged_in
from tests.databases import database_with
from tests.plugin_kit import TODAY, chart_block, chart_figures, plugin_site, shown_number

HOSTILE = "<script>alert(1)</script>"
CUSTOMERS = [
    {"id": 1, "name": "Ann Smith"},
    {"id": 2, "name": "Bob Jones"},
    {"id": 3, "name": "Ann Smith"},
    {"id": 4, "name": HOSTILE},
    {"id": 5, "name": "Carol Wu"},
]
# (id, customer, total, days ago, status)
ORDERS = [
    (1, 1, "100.00", 0, "paid"),
    (2, 1, "50.00", 40, "paid"),
    (3, 2, "70.00", 0, "pending"),
    (4, 3, "30.00", 3, "paid"),
    (5, 4, "20.00", 9, "shipped"),
    (6, None, "5.00", 1, "pending"),
    (7, 2, "10.00", 70, "paid"),
]


def build_shop(url: str) -> None:
    """``customers``; ``orders`` with ``customer_id`` (nullable) -> customers; ``gifts`` with two
    foreign keys to customers (giver, receiver)."""
    metadata = sa.MetaData()
    customers = sa.Table(
        "customers",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("name", sa.String(100), nullable=False),
        mysql_engine="InnoDB",
    )
    orders = sa.Table(
        "orders",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=True),
        sa.Column("total", sa.Numeric(10, 2), nullable=False),
        sa.Column("ordered_at", sa.DateTime, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        mysql_engine="InnoDB",
    )
    gifts = sa.Table(
        "gifts",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("giver_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("receiver_id", sa.Integer, sa.ForeignKey("customers.id"), nullable=False),
        sa.Column("amount", sa.Integer, nullable=False),
        mysql_engine="InnoDB",
    )
    engine = sa.create_engine(url)
    try:
        metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(customers.insert(), CUSTOMERS)
            connection.execute(
                orders.insert(),
                [
                    {
                        "id": order_id,
                        "customer_id": customer,
                        "total": Decimal(total),
                        "ordered_at": dt.datetime.combine(TODAY - dt.timedelta(days=days), dt.time(10, 30)),
                        "status": status,
                    }
                    for order_id, customer, total, days, status in ORDERS
                ],
            )
            connection.execute(gifts.insert(), [{"id": 1, "giver_id": 1, "receiver_id": 2, "amount": 5}])
    finally:
        engine.dispose()


PLUGIN = """
from dashboard.charts import Chart
from dashboard.hookspecs import hookimpl

@hookimpl
def register_charts():
    return [
        Chart(name="r.top_customers", title="Top customers by revenue", table="orders",
              group_by="customer_id", measure="sum", column="total", limit=10),
        Chart(name="r.top_three", table="orders", group_by="customer_id", measure="sum", column="total",
              limit=3),
        Chart(name="r.orders_by_status", table="orders", group_by="status"),
        Chart(name="r.sql_found", sql="SELECT c.name, count(*) FROM orders o JOIN customers c "
              "ON c.id = o.customer_id GROUP BY c.name"),
        Chart(name="r.customer_orders", title="Orders per month", table="orders", group_by="ordered_at",
              bucket="month", last=3, on_details="customers"),
        Chart(name="r.customer_revenue", title="Revenue", table="orders", measure="sum", column="total",
              kind="number", on_details="customers"),
        Chart(name="r.gifts_received", table="gifts", measure="sum", column="amount", kind="number",
              on_details="customers", details_fk="receiver_id"),
        Chart(name="bad.ambiguous", table="gifts", kind="number", on_details="customers"),
        Chart(name="bad.details_fk", table="orders", kind="number", on_details="customers",
              details_fk="status"),
        Chart(name="bad.on_details", table="orders", kind="number", on_details="shops"),
        Chart(name="bad.tables", sql="SELECT status, count(*) FROM orders GROUP BY status",
              tables=("orders", "nope")),
        Chart(name="bad.label_column", table="orders", group_by="customer_id", label_column="nickname"),
    ]
"""

BAD = {
    "bad.ambiguous": "has 2 foreign keys to 'customers' ('giver_id', 'receiver_id'); name the one to use "
    "with details_fk=...",
    "bad.details_fk": "details_fk 'status' is not a column of a foreign key from 'orders' to 'customers'",
    "bad.on_details": "unknown table 'shops' (on_details",
    "bad.tables": "unknown table 'nope' in tables",
    "bad.label_column": "unknown column 'nickname' in table 'customers' (label_column)",
}


@pytest.fixture(scope="module")
def shop(dialect):
    with database_with(dialect, "chart_relations", build_shop) as url:
        yield url


@pytest.fixture(scope="module")
def site(shop, tmp_path_factory):
    """One site for the tests that only read: viewers may not view orders, editors customers."""
    site = plugin_site(
        shop,
        tmp_path_factory.mktemp("relations"),
        {"relations": PLUGIN},
        DISABLED_PLUGINS=["overview"],
        TABLES={"orders": {"roles": {"viewer": []}}, "customers": {"roles": {"editor": []}}},
    )
    yield site
    site.state.engine.dispose()


def chart_page(site, name: str) -> str:
    return site.text(f"/admin/-/pages/charts/?chart={name}")


def drawn(page: str, name: str) -> dict:
    """What the canvas of chart ``name`` carries in its ``data-chart`` attribute."""
    attribute = re.search(r"data-chart='([^']*)'", chart_block(page, name))
    assert attribute, f"chart {name} draws nothing"
    return json.loads(attribute.group(1).replace("&#39;", "'").replace("&amp;", "&"))


# -- labelled by the parent ---------------------------------------------------------------------


def test_groups_of_a_foreign_key_show_the_parents_names_in_one_query(site):
    statements: list[str] = []

    def capture(_conn, _cursor, statement, *_args):
        statements.append(statement)

    sa.event.listen(site.state.engine, "before_cursor_execute", capture)
    try:
        page = chart_page(site, "r.top_customers")
    finally:
        sa.event.remove(site.state.engine, "before_cursor_execute", capture)
    expected = [
        ("Ann Smith (#1)", "150"),
        ("Bob Jones", "80"),
        ("Ann Smith (#3)", "30"),
        (HOSTILE, "20"),
        ("(none)", "5"),
    ]
    assert chart_figures(page, "r.top_customers") == expected
    assert drawn(page, "r.top_customers")["labels"] == [label for label, _value in expected]
    aggregates = [s for s in statements if "sum(" in s.lower()]
    assert len(aggregates) == 1 and "join" in aggregates[0].lower()
    # The limit keeps the biggest groups, still labelled.
    assert chart_figures(chart_page(site, "r.top_three"), "r.top_three") == expected[:3]


def test_a_hostile_parent_name_is_escaped_in_the_table_and_in_the_json(site):
    block = chart_block(chart_page(site, "r.top_customers"), "r.top_customers")
    assert "<script>" not in block
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in block
    attribute = re.search(r"data-chart='([^']*)'", block).group(1)
    assert "\\u003cscript\\u003e" in attribute and "<" not in attribute


@pytest.fixture(scope="module")
def editor(site):
    return logged_in(site.app, "editor")


def test_who_may_not_view_the_parent_table_sees_its_keys_not_its_names(site, editor):
    assert "Bob Jones" in chart_block(chart_page(site, "r.top_customers"), "r.top_customers")
    page = editor.get("/admin/-/pages/charts/?chart=r.top_customers").get_data(as_text=True)
    assert chart_figures(page, "r.top_customers") == [
        ("1", "150"),
        ("2", "80"),
        ("3", "30"),
        ("4", "20"),
        ("(none)", "5"),
    ]
    assert "Ann Smith" not in page and "Bob Jones" not in page


def test_groups_that_are_not_foreign_keys_keep_their_values(site):
    shown = dict(chart_figures(chart_page(site, "r.orders_by_status"), "r.orders_by_status"))
    assert shown == {k: str(v) for k, v in Counter(status for *_rest, status in ORDERS).items()}


# -- sql charts: the tables they read -----------------------------------------------------------


def test_an_undeclared_sql_chart_reads_the_tables_named_in_its_sql(site):
    found = site.app.extensions["dashboard_plugins"].charts
    assert set(found["r.sql_found"].reads) == {"orders", "customers"}
    shown = dict(chart_figures(chart_page(site, "r.sql_found"), "r.sql_found"))
    assert shown == {"Ann Smith": "3", "Bob Jones": "2", HOSTILE: "1"}


@pytest.mark.parametrize(
    ("sql", "reads"),
    [
        ("SELECT status, count(*) FROM orders GROUP BY status", ("orders",)),
        (
            'SELECT c.name, count(*) FROM "orders" AS o JOIN customers c ON c.id = o.customer_id',
            ("orders", "customers"),
        ),
        ("SELECT a.x, 1 FROM orders a, customers -- products\n", ("orders", "customers")),
        ("WITH paid AS (SELECT * FROM orders) SELECT 'p', count(*) FROM paid", ("orders",)),
        ("SELECT s, n FROM (SELECT status AS s, count(*) AS n FROM orders GROUP BY status) t", ("orders",)),
        ("SELECT 'x', count(*) FROM orders JOIN order_totals ON 1 = 1", None),  # not served: a view?
        ("SELECT EXTRACT(YEAR FROM ordered_at), count(*) FROM orders GROUP BY 1", None),
        ("SELECT 'from customers', 1", None),
    ],
)
def test_tables_found_in_sql_are_conservative(site, sql, reads):
    assert tables_read(sql, site.state.views) == reads


# -- on a details page ------------------------------------------------------------------------------


def month_labels(last: int) -> list[str]:
    first = TODAY.replace(day=1)
    labels = [first]
    for _ in range(last - 1):
        labels.insert(0, (labels[0] - dt.timedelta(days=1)).replace(day=1))
    return [f"{day.year:04d}-{day.month:02d}" for day in labels]


@pytest.mark.parametrize("customer", [1, 2, 5])
def test_a_details_page_shows_the_charts_of_that_rows_children(site, customer):
    page = site.text(site.url("customers", "details", str(customer)))
    mine = [o for o in ORDERS if o[1] == customer]
    per_month = Counter(
        f"{(TODAY - dt.timedelta(days=days)).year:04d}-{(TODAY - dt.timedelta(days=days)).month:02d}"
        for _i, _c, _total, days, _s in mine
    )
    expected = [(label, str(per_month.get(label, 0))) for label in month_labels(3)]
    assert chart_figures(page, "r.customer_orders") == expected
    revenue = sum(Decimal(total) for _i, _c, total, _d, _s in mine)
    assert chart_figures(page, "r.customer_revenue") == [("", shown_number(revenue) if mine else "—")]
    gifts = {2: "5"}.get(customer, "—")
    assert chart_figures(page, "r.gifts_received") == [("", gifts)]
    # After the record's fields; not on the charts page, which has no row to filter by.
    assert page.index("dashboard-details") < page.index('data-chart-name="r.customer_orders"')
    assert 'data-chart-name="r.customer_orders"' not in site.text("/admin/-/pages/charts/")
    assert 'data-chart-name="r.customer_orders"' not in site.text(site.url("orders", "details", "1"))


@pytest.fixture(scope="module")
def viewer(site):
    return logged_in(site.app, "viewer")


def test_a_details_chart_is_hidden_from_who_may_not_view_the_child_table(site, viewer):
    response = viewer.get(site.url("customers", "details", "1"))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Ann Smith" in page
    assert 'data-chart-name="r.customer_orders"' not in page and "Orders per month" not in page
    # gifts they may view: its chart stays.
    assert chart_figures(page, "r.gifts_received") == [("", "—")]


# -- mistakes -------------------------------------------------------------------------------------------


def test_declaration_mistakes_are_reported_at_start_up(site):
    problems = {p.part: p.message for p in site.app.extensions["dashboard_plugins"].problems}
    assert set(problems) == {f"chart {name}" for name in BAD}
    for name, message in BAD.items():
        assert message in problems[f"chart {name}"], problems[f"chart {name}"]


# -- writes through the dashboard ---------------------------------------------------------------


WRITES_PLUGIN = """
from dashboard.charts import Chart
from dashboard.hookspecs import hookimpl

@hookimpl
def register_charts():
    return [
        Chart(name="w.found", sql="SELECT status, count(*) FROM orders GROUP BY status"),
        Chart(name="w.declared", sql="SELECT c.name, sum(o.total) FROM orders o JOIN customers c "
              "ON c.id = o.customer_id GROUP BY c.name", tables=("orders", "customers")),
        Chart(name="w.by_customer", table="orders", group_by="customer_id"),
    ]
"""


def test_writes_through_the_dashboard_refresh_sql_charts_and_labels_at_once(dialect, tmp_path):
    with database_with(dialect, "chart_relations", build_shop) as url:
        site = plugin_site(url, tmp_path, {"writes": WRITES_PLUGIN}, DISABLED_PLUGINS=["overview"])
        try:
            figures = {name: dict(chart_figures(chart_page(site, name), name)) for name in ("w.found", "w.declared")}
            assert figures["w.found"]["paid"] == "4" and figures["w.declared"]["Bob Jones"] == "80"
            # A write by another program is not seen before CHART_TTL_SECONDS (the cache serves it)...
            engine = sa.create_engine(url)
            with engine.begin() as connection:
                connection.execute(sa.text("UPDATE orders SET status = 'paid' WHERE id = 6"))
            engine.dispose()
            assert dict(chart_figures(chart_page(site, "w.found"), "w.found"))["paid"] == "4"
            # ...one through the edit form is, at once: order 3 (Bob's) paid, and Bob renamed.
            values = site.form_values(site.url("orders", "edit", "3"))
            values["status"], values["total"] = "paid", "75.00"
            assert site.post(site.url("orders", "edit", "3"), values).status_code == 302
            assert dict(chart_figures(chart_page(site, "w.found"), "w.found"))["paid"] == "6"
            assert dict(chart_figures(chart_page(site, "w.declared"), "w.declared"))["Bob Jones"] == "85"
            assert dict(chart_figures(chart_page(site, "w.by_customer"), "w.by_customer"))["Bob Jones"] == "2"
            values = site.form_values(site.url("customers", "edit", "2"))
            values["name"] = "Robert Jones"
            assert site.post(site.url("customers", "edit", "2"), values).status_code == 302
            declared = dict(chart_figures(chart_page(site, "w.declared"), "w.declared"))
            assert declared.get("Robert Jones") == "85" and "Bob Jones" not in declared
            # The parent's new name labels the table chart's group too.
            labels = dict(chart_figures(chart_page(site, "w.by_customer"), "w.by_customer"))
            assert labels.get("Robert Jones") == "2" and "Bob Jones" not in labels
            # Another program's write shows once CHART_TTL_SECONDS have passed (by the app's clock).
            engine = sa.create_engine(url)
            with engine.begin() as connection:
                connection.execute(sa.text("UPDATE orders SET status = 'pending' WHERE id = 7"))
            engine.dispose()
            assert dict(chart_figures(chart_page(site, "w.found"), "w.found"))["paid"] == "6"
            later = time.time() + site.app.config["CHART_TTL_SECONDS"] + 1
            clock.set_clock(site.app, lambda: later)
            assert dict(chart_figures(chart_page(site, "w.found"), "w.found"))["paid"] == "5"
        finally:
            site.state.engine.dispose()
