"""Helpers for plugin tests: plugin packages written into a temporary plugins folder, a small
shop database with dates on any dialect, and the figures a chart shows on a page."""

from __future__ import annotations

import datetime as dt
import html
import re
import shutil
import textwrap
import typing as t
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from tests.site import Site, make_site

REPO = Path(__file__).resolve().parent.parent


def copy_examples_with_team_sales(folder: Path) -> Path:
    """The shipped example plugins copied into ``folder``, plus ``team_sales``: the sales
    overview copied and renamed as a new plugin author would (page, slug, template, chart
    names). Returns ``folder``."""
    shutil.copytree(REPO / "plugins", folder)
    copy = folder / "team_sales"
    shutil.copytree(folder / "sales_overview", copy)
    (copy / "templates" / "sales_overview").rename(copy / "templates" / "team_sales")
    code = (copy / "__init__.py").read_text()
    (copy / "__init__.py").write_text(
        code.replace('"Sales overview"', '"Team sales"')
        .replace('"sales-overview"', '"team-sales"')
        .replace("sales_overview/page.html", "team_sales/page.html")
        .replace('"sales.', '"team.')
    )
    return folder


def write_plugin(folder: Path, name: str, code: str, files: t.Mapping[str, str] | None = None) -> Path:
    """Write package ``name`` into plugins folder ``folder``: ``__init__.py`` holds ``code``.

    :param files: further files by path inside the package (``templates/x/page.html``).
    """
    package = folder / name
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(textwrap.dedent(code))
    for path, text in (files or {}).items():
        target = package / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text))
    return package


def plugin_site(
    database_url: str,
    tmp_path: Path,
    plugins: t.Mapping[str, str],
    role: str = "admin",
    files: t.Mapping[str, t.Mapping[str, str]] | None = None,
    **settings: t.Any,
) -> Site:
    """A logged-in site whose plugins folder holds exactly ``plugins`` (name -> code)."""
    folder = tmp_path / "plugins"
    folder.mkdir(parents=True, exist_ok=True)
    for name, code in plugins.items():
        write_plugin(folder, name, code, (files or {}).get(name))
    settings.setdefault("PLUGINS_DIR", str(folder))
    return make_site(database_url, tmp_path / "instance", role, **settings)


# -- a shop with dates ------------------------------------------------------------------------

TODAY = dt.datetime.now(dt.UTC).date()


def shop_orders(today: dt.date = TODAY) -> list[dict[str, t.Any]]:
    """Orders spread over today, recent days, weeks, months and years."""
    days_ago = [0, 0, 1, 3, 9, 16, 34, 40, 70, 75, 130, 400, 800]
    statuses = [
        "paid",
        "pending",
        "paid",
        "shipped",
        "cancelled",
        "paid",
        "delivered",
        "paid",
        "pending",
        "paid",
        "shipped",
        "paid",
        "cancelled",
    ]
    totals = [
        "10.00",
        "20.50",
        "30.25",
        "5.75",
        "99.99",
        "12.00",
        "8.50",
        "40.00",
        "3.25",
        "60.00",
        "15.50",
        "22.22",
        "7.00",
    ]
    return [
        {
            "id": i + 1,
            "status": statuses[i],
            "total": Decimal(totals[i]),
            "ordered_at": dt.datetime.combine(today - dt.timedelta(days=days_ago[i]), dt.time(10, 30)),
            "note": None,
        }
        for i in range(len(days_ago))
    ]


def create_shop(url: str) -> None:
    """``orders`` (id, status, total, ordered_at, note) and ``products`` (id, sku, name, category, stock)."""
    metadata = sa.MetaData()
    orders = sa.Table(
        "orders",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("status", sa.String(60), nullable=False),
        sa.Column("total", sa.Numeric(10, 2), nullable=False),
        sa.Column("ordered_at", sa.DateTime, nullable=False),
        sa.Column("note", sa.Text),
        mysql_engine="InnoDB",
    )
    products = sa.Table(
        "products",
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("sku", sa.String(32), nullable=False, unique=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("category", sa.String(50)),
        sa.Column("stock", sa.Integer, nullable=False),
        mysql_engine="InnoDB",
    )
    engine = sa.create_engine(url)
    try:
        metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(orders.insert(), shop_orders())
            connection.execute(
                products.insert(),
                [
                    {"id": 1, "sku": "A-1", "name": "Anvil", "category": "tools", "stock": 3},
                    {"id": 2, "sku": "B-2", "name": "Bell", "category": "toys", "stock": 10},
                    {"id": 3, "sku": "C-3", "name": "Chisel", "category": "tools", "stock": 7},
                ],
            )
    finally:
        engine.dispose()


def read_orders(url: str) -> list[dict[str, t.Any]]:
    """Every order as the database holds it now, read outside the dashboard."""
    engine = sa.create_engine(url)
    try:
        table = sa.Table("orders", sa.MetaData(), autoload_with=engine)
        with engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(sa.select(table))]
    finally:
        engine.dispose()


def shown_number(value: t.Any) -> str:
    """A figure as the dashboard shows it in English: ``1,234.5``, ``60``, ``20.25``."""
    text = f"{Decimal(str(value)).quantize(Decimal('0.01')):,.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


# -- reading pages ------------------------------------------------------------------------------


def chart_block(page: str, name: str) -> str:
    """The HTML of chart ``name``'s panel on ``page`` (fails when it is not there)."""
    match = re.search(r'<figure[^>]*data-chart-name="' + re.escape(name) + r'".*?</figure>', page, re.DOTALL)
    assert match, f"no chart {name!r} on the page"
    return match.group(0)


def chart_figures(page: str, name: str) -> list[tuple[str, str]]:
    """``(label, value)`` rows of chart ``name``'s table of figures, as shown."""
    block = chart_block(page, name)
    number = re.search(r'dashboard-chart-number">([^<]*)<', block)
    if number:
        return [("", html.unescape(number.group(1).strip()))]
    return [
        (html.unescape(label), html.unescape(value))
        for label, value in re.findall(r'<tr><td>(.*?)</td><td class="text-right">(.*?)</td></tr>', block)
    ]


def error_panels(page: str) -> list[str]:
    """The message of every plugin error panel on ``page``, as shown to everyone."""
    return [
        html.unescape(text).strip()
        for text in re.findall(r'class="dashboard-plugin-error-message">(.*?)</div>', page, re.DOTALL)
    ]


def error_details(page: str) -> list[str]:
    """The details (tracebacks, database errors) of the error panels on ``page``: administrators only."""
    return [html.unescape(text) for text in re.findall(r'dashboard-plugin-error-details">(.*?)</pre>', page, re.DOTALL)]
