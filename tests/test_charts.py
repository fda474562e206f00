"""Charts declared by plugins: the figures shown are the database's, computed by one GROUP BY
per chart on every dialect, cached until a write, checked at start-up, escaped."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from decimal import Decimal

import pytest
import sqlalchemy as sa

from dashboard import charts
from dashboard.plugins import charting
from dashboard.site_state import current_site
from tests.apps import logged_in, make_app
from tests.databases import database_with, make_database
from tests.plugin_kit import (
    TODAY,
    chart_block,
    chart_figures,
    create_shop,
    error_details,
    error_panels,
    plugin_site,
    read_orders,
    shown_number,
)

CHARTS_PLUGIN = """
from dashboard.charts import Chart
from dashboard.hookspecs import hookimpl

@hookimpl
def register_charts(app):
    return [
        Chart(name="t.per_month", title="Orders per month", table="orders", group_by="ordered_at",
              bucket="month", last=4),
        Chart(name="t.per_week", title="Orders per week", table="orders", group_by="ordered_at",
              bucket="week", last=3, kind="line"),
        Chart(name="t.per_day", title="Orders per day", table="orders", group_by="ordered_at",
              bucket="day", last=5),
        Chart(name="t.per_year", title="Orders per year", table="orders", group_by="ordered_at",
              bucket="year"),
        Chart(name="t.sum_by_status", title="Revenue by status", table="orders", group_by="status",
              measure="sum", column="total", kind="pie"),
        Chart(name="t.avg_by_status", table="orders", group_by="status", measure="avg", column="total"),
        Chart(name="t.min_by_status", table="orders", group_by="status", measure="min", column="total"),
        Chart(name="t.max_by_status", table="orders", group_by="status", measure="max", column="total"),
        Chart(name="t.paid_total", title="Paid revenue", table="orders", measure="sum", column="total",
              where={"status": ("in", ["paid", "shipped"])}, kind="number"),
        Chart(name="t.paid_count", title="Paid orders", table="orders", where={"status": "paid"},
              kind="number"),
        Chart(name="t.by_sql", title="By SQL", sql="SELECT status, count(*) FROM orders GROUP BY status",
              kind="bar"),
    ]
"""

BUCKET_FUNCTIONS = {"sqlite": "strftime", "postgresql": "date_trunc", "mariadb": "date_format"}


@pytest.fixture(scope="module")
def shop_url(dialect):
    """The shop, one database per dialect shared by the module's tests that only read it."""
    with database_with(dialect, "chart shop", create_shop) as url:
        yield url


@pytest.fixture
def own_shop_url(dialect):
    """The shop in a database of the test's own: for a test that changes rows."""
    with database_with(dialect, "chart shop", create_shop) as url:
        yield url


def _charts_site(url, folder):
    return plugin_site(url, folder, {"test_charts": CHARTS_PLUGIN}, DISABLED_PLUGINS=["overview"])


@pytest.fixture(scope="module")
def site(shop_url, tmp_path_factory):
    """An administrator's site with the charts above, shared by the module's readers (its chart
    cache too: nothing they do changes a row)."""
    site = _charts_site(shop_url, tmp_path_factory.mktemp("charts-site"))
    yield site
    site.state.engine.dispose()


@pytest.fixture
def own_site(own_shop_url, tmp_path):
    """The same on :func:`own_shop_url`, for a test that writes."""
    site = _charts_site(own_shop_url, tmp_path)
    yield site
    site.state.engine.dispose()


def chart_page(site, name: str) -> str:
    return site.text(f"/admin/-/pages/charts/?chart={name}")


# -- what the database says, computed here from its rows ----------------------------------------


def month_label(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def expected_buckets(orders, bucket: str, last: int | None) -> list[tuple[str, str]]:
    """Rows per bucket, every bucket from the first to today's, zeros included."""

    def start(day: dt.date) -> dt.date:
        if bucket == "day":
            return day
        if bucket == "week":
            return day - dt.timedelta(days=day.weekday())
        if bucket == "month":
            return day.replace(day=1)
        return day.replace(month=1, day=1)

    def step(day: dt.date) -> dt.date:
        if bucket == "day":
            return day + dt.timedelta(days=1)
        if bucket == "week":
            return day + dt.timedelta(days=7)
        if bucket == "month":
            return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return day.replace(year=day.year + 1)

    def label(day: dt.date) -> str:
        return {"day": day.isoformat(), "week": day.isoformat(), "month": month_label(day), "year": str(day.year)}[
            bucket
        ]

    counts = Counter(label(start(o["ordered_at"].date())) for o in orders)
    current = start(TODAY)
    if last is None:
        first = start(min(o["ordered_at"].date() for o in orders))
    else:
        first = current
        for _ in range(last - 1):
            first = start(first - dt.timedelta(days=1))
    labels, day = [], first
    while day <= current:
        labels.append(label(day))
        day = step(day)
    return [(name, str(counts.get(name, 0))) for name in labels]


def by_status(orders, measure) -> dict[str, str]:
    groups = defaultdict(list)
    for order in orders:
        groups[order["status"]].append(Decimal(order["total"]))
    return {status: shown_number(measure(values)) for status, values in groups.items()}


# -- the figures -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "bucket", "last"),
    [
        ("t.per_month", "month", 4),
        ("t.per_week", "week", 3),
        ("t.per_day", "day", 5),
        ("t.per_year", "year", None),
    ],
)
def test_date_buckets_show_the_databases_rows(site, shop_url, name, bucket, last):
    shown = chart_figures(chart_page(site, name), name)
    assert shown == expected_buckets(read_orders(shop_url), bucket, last)
    assert any(value != "0" for _label, value in shown)


@pytest.mark.parametrize(
    ("name", "measure"),
    [
        ("t.sum_by_status", sum),
        ("t.avg_by_status", lambda values: sum(values) / len(values)),
        ("t.min_by_status", min),
        ("t.max_by_status", max),
    ],
)
def test_measures_by_group_show_the_databases_figures(site, shop_url, name, measure):
    shown = chart_figures(chart_page(site, name), name)
    assert dict(shown) == by_status(read_orders(shop_url), measure)
    if name == "t.sum_by_status":
        # The biggest groups first: a limit keeps those.
        values = [Decimal(value.replace(",", "")) for _label, value in shown]
        assert values == sorted(values, reverse=True)


def test_number_charts_apply_their_filter(site, shop_url):
    orders = read_orders(shop_url)
    paid = [o for o in orders if o["status"] in ("paid", "shipped")]
    assert chart_figures(chart_page(site, "t.paid_total"), "t.paid_total") == [
        ("", shown_number(sum(Decimal(o["total"]) for o in paid)))
    ]
    assert chart_figures(chart_page(site, "t.paid_count"), "t.paid_count") == [
        ("", str(sum(1 for o in orders if o["status"] == "paid")))
    ]


def test_sql_chart_shows_its_rows_to_administrators_only(site, shop_url):
    counts = Counter(o["status"] for o in read_orders(shop_url))
    assert dict(chart_figures(chart_page(site, "t.by_sql"), "t.by_sql")) == {k: str(v) for k, v in counts.items()}
    viewer = logged_in(site.app, "viewer", username="sql-chart-viewer")
    assert viewer.get("/admin/-/pages/charts/?chart=t.by_sql").status_code == 404
    assert 'data-chart-name="t.by_sql"' not in viewer.get("/admin/-/pages/charts/").get_data(as_text=True)
    assert viewer.get("/admin/-/pages/charts/?chart=t.per_month").status_code == 200


def test_aggregate_is_one_group_by_in_the_database_and_is_cached_until_a_write(own_site, own_shop_url, dialect):
    statements: list[str] = []

    def capture(_conn, _cursor, statement, *_args):
        if "orders" in statement.lower():
            statements.append(statement)

    sa.event.listen(own_site.state.engine, "before_cursor_execute", capture)
    chart_page(own_site, "t.per_month")
    assert len(statements) == 1, statements
    query = statements[0].lower()
    assert "group by" in query and BUCKET_FUNCTIONS[dialect] in query and "count(" in query
    # The rows themselves are never fetched to be counted in Python.
    assert "orders.id" not in query and "orders.note" not in query

    statements.clear()
    before = chart_figures(chart_page(own_site, "t.paid_count"), "t.paid_count")
    assert len(statements) == 1 and "count(" in statements[0].lower()
    statements.clear()
    assert chart_figures(chart_page(own_site, "t.paid_count"), "t.paid_count") == before
    assert statements == []  # served from the cache

    # A write made by another program is not seen until the cache entry expires...
    engine = sa.create_engine(own_shop_url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE orders SET status = 'paid' WHERE id = 2"))
    engine.dispose()
    assert chart_figures(chart_page(own_site, "t.paid_count"), "t.paid_count") == before
    # ...but one made through the dashboard refreshes the chart at once.
    values = own_site.form_values(own_site.url("orders", "edit", "5"))
    assert values["status"] == "cancelled"
    values["status"] = "paid"
    response = own_site.post(own_site.url("orders", "edit", "5"), values)
    assert response.status_code == 302
    statements.clear()
    after = chart_figures(chart_page(own_site, "t.paid_count"), "t.paid_count")
    assert len(statements) == 1
    paid_now = sum(1 for o in read_orders(own_shop_url) if o["status"] == "paid")
    assert after == [("", str(paid_now))] and paid_now == int(before[0][1]) + 2


# -- on the home page, under a list -----------------------------------------------------------------


def test_home_shows_rows_per_month_for_tables_with_a_date(shop_url, tmp_path):
    site = plugin_site(shop_url, tmp_path, {})
    try:
        statements: list[str] = []
        sa.event.listen(
            site.state.engine, "before_cursor_execute", lambda _c, _cur, statement, *_a: statements.append(statement)
        )
        page = site.text("/admin/")
        name = "overview.rows_per_month.orders"
        assert chart_figures(page, name) == expected_buckets(read_orders(shop_url), "month", 12)
        assert "orders per month" in chart_block(page, name)
        # products has no date column: no chart for it.
        assert 'data-chart-name="overview.rows_per_month.products"' not in page
        assert sum("group by" in s.lower() for s in statements) == 1
        # Chart.js is loaded only where a chart is drawn, with the request's nonce.
        response = site.get("/admin/")
        nonce = re.search(
            r'nonce="([^"]+)"[^>]*src="/admin/-/bundle/charts.js(?:\?v=[0-9a-f]+)?"',
            response.get_data(as_text=True),
        )
        assert nonce and f"'nonce-{nonce.group(1)}'" in response.headers["Content-Security-Policy"]
        assert "/admin/-/bundle/charts.js" not in site.text("/admin/products/")
    finally:
        site.state.engine.dispose()


def test_home_charts_are_capped_and_can_be_turned_off(tmp_path):
    url = f"sqlite:///{tmp_path / 'many.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for number in range(40):
            connection.exec_driver_sql(f"CREATE TABLE t{number:02d} (id INTEGER PRIMARY KEY, created_at DATETIME)")
            connection.exec_driver_sql(f"INSERT INTO t{number:02d} VALUES (1, '{TODAY.isoformat()} 08:00:00')")
    engine.dispose()
    site = plugin_site(url, tmp_path / "capped", {}, HOME_CHARTS=3)
    statements: list[str] = []
    sa.event.listen(
        site.state.engine, "before_cursor_execute", lambda _c, _cur, statement, *_a: statements.append(statement)
    )
    page = site.text("/admin/")
    assert len(re.findall(r'data-chart-name="overview\.', page)) == 3
    assert sum("group by" in s.lower() for s in statements) == 3
    off = plugin_site(url, tmp_path / "off", {}, HOME_CHARTS=0)
    assert "data-chart-name=" not in off.text("/admin/")


def test_charts_follow_table_permissions(shop_url, tmp_path):
    site = plugin_site(
        shop_url, tmp_path, {"test_charts": CHARTS_PLUGIN}, role="viewer", TABLES={"orders": {"roles": {"viewer": []}}}
    )
    try:
        assert "data-chart-name=" not in site.text("/admin/")
        assert site.get("/admin/-/pages/charts/?chart=t.per_month").status_code == 404
        assert "Orders per month" not in site.text("/admin/-/pages/charts/")
    finally:
        site.state.engine.dispose()


LIST_PLUGIN = """
from dashboard.charts import Chart
from dashboard.hookspecs import hookimpl

@hookimpl
def register_charts(app):
    return [Chart(name="t.status_under_list", title="Orders by status", table="orders",
                  group_by="status", kind="bar", on_list=True)]
"""


def test_chart_under_its_tables_list_and_hostile_labels_are_escaped(own_shop_url, tmp_path):
    hostile = "<img src=x onerror=alert(1)>'\""
    engine = sa.create_engine(own_shop_url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE orders SET status = :s WHERE id = 3"), {"s": hostile})
    engine.dispose()
    site = plugin_site(own_shop_url, tmp_path, {"list_chart": LIST_PLUGIN}, DISABLED_PLUGINS=["overview"])
    try:
        page = site.text("/admin/orders/")
        assert (hostile, "1") in chart_figures(page, "t.status_under_list")
        block = chart_block(page, "t.status_under_list")
        assert "<img" not in block and "&lt;img src=x onerror=alert(1)&gt;" in block
        # The JSON in the attribute escapes every character that could end it or open a tag.
        attribute = re.search(r"data-chart='([^']*)'", block).group(1)
        assert "\\u003cimg" in attribute and "<" not in attribute and "'" not in attribute
        assert "data-chart-name=" not in site.text("/admin/products/")
    finally:
        site.state.engine.dispose()


# -- declarations that are wrong --------------------------------------------------------------------


BAD_CHARTS = [
    ('Chart(name="bad", table="nope")', "unknown table 'nope'"),
    ('Chart(name="bad", table="orders", group_by="totl")', "unknown column 'totl'"),
    ('Chart(name="bad", table="orders", group_by="status", measure="sum", column="status")', "it is not a number"),
    (
        'Chart(name="bad", table="orders", group_by="status", measure="median", column="total")',
        "unknown measure 'median'",
    ),
    ('Chart(name="bad", table="orders", kind="pie")', "needs group_by"),
    ('Chart(name="bad", table="orders", group_by="status", kind="number")', "remove group_by"),
    ('Chart(name="bad", table="orders", group_by="status", kind="donut")', "unknown kind 'donut'"),
    ('Chart(name="bad", table="orders", group_by="status", bucket="month")', "needs group_by to be a date"),
    ('Chart(name="bad", table="orders", group_by="ordered_at", bucket="fortnight")', "unknown bucket"),
    ('Chart(name="bad", table="orders", group_by="status", last=3)', "last=N needs a bucket"),
    (
        'Chart(name="bad", table="orders", group_by="status", where={"status": ("like", "p%")})',
        "unknown operator 'like'",
    ),
    ('Chart(name="bad", table="orders", group_by="status", measure="sum")', "needs column="),
    ('Chart(name="bad", sql="DELETE FROM orders")', "one SELECT"),
    ('Chart(name="bad", sql="SELECT 1, 2; DELETE FROM orders")', "single statement"),
    ('Chart(name="bad", table="orders", group_by="note")', "unknown column 'note'"),  # hidden by TABLES
]


@pytest.mark.parametrize(("declaration", "problem"), BAD_CHARTS, ids=[p for _d, p in BAD_CHARTS])
def test_bad_chart_declarations_are_clear_and_never_a_500(tmp_path, declaration, problem):
    with make_database("sqlite") as url:
        create_shop(url)
        code = f"""
        from dashboard.charts import Chart
        from dashboard.hookspecs import hookimpl
        from dashboard.pages import ALL_ROLES, Page

        class Board(Page):
            title = "Board"
            roles = ALL_ROLES
            charts = ("bad", "good")

        @hookimpl
        def register_pages():
            return [Board]

        @hookimpl
        def register_charts():
            return [{declaration},
                    Chart(name="good", title="Good", table="orders", group_by="status")]
        """
        site = plugin_site(
            url,
            tmp_path,
            {"board": code},
            DISABLED_PLUGINS=["overview"],
            TABLES={"orders": {"columns": {"note": {"hidden": True}}}},
        )
        found = site.app.extensions["dashboard_plugins"]
        assert [(p.plugin, p.part) for p in found.problems] == [("board", "chart bad")]
        assert problem in found.problems[0].message
        page = site.text("/admin/-/pages/board/")
        assert error_panels(page) == ["This chart could not be shown: its declaration has a mistake."]
        assert any(problem in details for details in error_details(page))
        assert chart_figures(page, "good")  # the good chart beside it is drawn
        viewer = logged_in(site.app, "viewer", username="sql-chart-viewer")
        viewer_page = viewer.get("/admin/-/pages/board/").get_data(as_text=True)
        assert error_details(viewer_page) == [] and problem not in viewer_page
        site.state.engine.dispose()


def test_sql_chart_runs_read_only(tmp_path):
    # PostgreSQL is the one of the three whose SELECT can write (a data-modifying WITH).
    with make_database("postgresql") as url:
        create_shop(url)
        app = make_app(url, tmp_path)
        entry = charts.ChartEntry(
            chart=charts.Chart(
                name="sneaky", sql="WITH gone AS (DELETE FROM orders RETURNING id) SELECT 'x', count(*) FROM gone"
            ),
            plugin="test",
        )
        try:
            with app.test_request_context("/admin/"), pytest.raises(charts.ChartError, match="read-only"):
                charting.compute(entry)
        finally:
            current_site(app).engine.dispose()
        assert len(read_orders(url)) == 13
