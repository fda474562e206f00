"""Sales overview: a page of charts over the demo shop database.

Shown when the database has the demo's ``orders`` and ``products`` tables (``dashboard
demo`` writes them); on any other database this plugin adds nothing. With the demo's
``customers`` too, the page also shows the ten best customers by revenue, grouped by the
orders' foreign key and labelled with the customers' names: no SQL. Copy this folder under
a new name to start a plugin of your own (see ../README.md).
"""

from dashboard.charts import Chart
from dashboard.hookspecs import hookimpl
from dashboard.i18n import lazy_gettext as _
from dashboard.pages import ALL_ROLES, Page
from dashboard.writes import served_tables

#: Orders that brought money in.
PAID = ("paid", "shipped", "delivered")


class SalesOverview(Page):
    """Orders and revenue of the last twelve months, at a glance."""

    title = _("Sales overview")
    slug = "sales-overview"
    roles = ALL_ROLES  # every operator; each chart still needs the right to view its table
    template = "sales_overview/page.html"
    charts = (
        "sales.revenue_total",
        "sales.average_order",
        "sales.orders_per_month",
        "sales.revenue_per_month",
        "sales.orders_by_status",
        "sales.products_by_category",
    )

    def context(self):
        return {"paid_statuses": ", ".join(PAID)}


class SalesOverviewWithCustomers(SalesOverview):
    """The same page, with the best customers, on a database that has them."""

    charts = (*SalesOverview.charts, "sales.top_customers")


def _has_shop(app):
    return {"orders", "products"} <= set(served_tables(app))


def _has_customers(app):
    return _has_shop(app) and "customers" in served_tables(app)


@hookimpl
def register_charts(app):
    if not _has_shop(app):
        return []
    charts = [
        Chart(
            name="sales.revenue_total",
            title=_("Revenue of paid orders"),
            table="orders",
            measure="sum",
            column="total",
            where={"status": ("in", PAID)},
            kind="number",
        ),
        Chart(
            name="sales.average_order",
            title=_("Average order"),
            table="orders",
            measure="avg",
            column="total",
            where={"status": ("in", PAID)},
            kind="number",
        ),
        Chart(
            name="sales.orders_per_month",
            title=_("Orders per month"),
            table="orders",
            group_by="ordered_at",
            bucket="month",
            last=12,
            kind="bar",
        ),
        Chart(
            name="sales.revenue_per_month",
            title=_("Revenue per month"),
            table="orders",
            group_by="ordered_at",
            bucket="month",
            last=12,
            measure="sum",
            column="total",
            where={"status": ("in", PAID)},
            kind="line",
        ),
        Chart(
            name="sales.orders_by_status", title=_("Orders by status"), table="orders", group_by="status", kind="pie"
        ),
        Chart(
            name="sales.products_by_category",
            title=_("Products per category"),
            table="products",
            group_by="category",
            kind="bar",
        ),
        # Under the orders list itself.
        Chart(
            name="sales.orders_per_week",
            title=_("Orders per week"),
            table="orders",
            group_by="ordered_at",
            bucket="week",
            last=12,
            kind="line",
            on_list=True,
        ),
    ]
    if _has_customers(app):
        # Grouped by the foreign key orders.customer_id: each group is labelled with its
        # customer's name (the customers table's display column), read in the same query.
        charts.append(
            Chart(
                name="sales.top_customers",
                title=_("Top 10 customers by revenue"),
                table="orders",
                group_by="customer_id",
                measure="sum",
                column="total",
                where={"status": ("in", PAID)},
                limit=10,
                kind="bar",
            )
        )
    return charts


@hookimpl
def register_pages(app):
    if not _has_shop(app):
        return []
    return [SalesOverviewWithCustomers if _has_customers(app) else SalesOverview]
