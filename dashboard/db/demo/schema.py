"""The demo shop's schema: seven tables and a summary view, with the constraints the admin site
has to cope with (autoincrement and composite keys, foreign keys, unique columns, a CHECK
constraint, an association table, a table without a primary key).
"""

from __future__ import annotations

import typing as t

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Engine

ORDER_STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled")
VIEW_NAME = "customer_order_totals"

# MySQL/MariaDB only (other dialects ignore mysql_* options): InnoDB for foreign keys,
# utf8mb4 because the demo has accented names whatever the server's default charset.
_TABLE_OPTIONS: dict[str, t.Any] = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4"}


def build_metadata() -> MetaData:
    """Return the demo schema: seven tables (the view is created separately)."""
    metadata = MetaData()
    Table(
        "customers",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("name", String(120), nullable=False),
        Column("email", String(200), nullable=False, unique=True),
        Column("country", String(2)),
        Column("created_at", DateTime),
        Column("is_active", Boolean, nullable=False),
        Column("notes", Text, nullable=True),
        **_TABLE_OPTIONS,
    )
    Table(
        "products",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("sku", String(32), nullable=False, unique=True),
        Column("name", String(200), nullable=False),
        Column("category", String(50)),
        Column("price", Numeric(10, 2), nullable=False),
        Column("stock", Integer, nullable=False),
        Column("created_at", DateTime),
        **_TABLE_OPTIONS,
    )
    statuses = ", ".join(f"'{status}'" for status in ORDER_STATUSES)
    Table(
        "orders",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("customer_id", Integer, ForeignKey("customers.id"), nullable=False, index=True),
        Column("status", String(20), nullable=False, index=True),
        Column("ordered_at", DateTime, nullable=False, index=True),
        Column("total", Numeric(12, 2), nullable=False),
        Column("note", Text, nullable=True),
        CheckConstraint(f"status IN ({statuses})", name="ck_orders_status"),
        **_TABLE_OPTIONS,
    )
    Table(
        "order_lines",
        metadata,
        Column("order_id", Integer, ForeignKey("orders.id"), primary_key=True),
        Column("line_no", Integer, primary_key=True),
        Column("product_id", Integer, ForeignKey("products.id"), nullable=False),
        Column("quantity", Integer, nullable=False),
        Column("unit_price", Numeric(10, 2), nullable=False),
        **_TABLE_OPTIONS,
    )
    Table(
        "tags",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("name", String(50), nullable=False, unique=True),
        **_TABLE_OPTIONS,
    )
    Table(
        "product_tags",
        metadata,
        Column("product_id", Integer, ForeignKey("products.id"), primary_key=True),
        Column("tag_id", Integer, ForeignKey("tags.id"), primary_key=True),
        **_TABLE_OPTIONS,
    )
    # Deliberately no primary key and no unique index: the admin has to cope with such tables.
    Table(
        "event_log",
        metadata,
        Column("happened_at", DateTime),
        Column("level", String(10)),
        Column("message", Text),
        **_TABLE_OPTIONS,
    )
    return metadata


def view_sql(engine: Engine) -> str:
    q = engine.dialect.identifier_preparer.quote
    return (
        f"CREATE VIEW {q(VIEW_NAME)} AS "  # nosec B608 -- constant names quoted by the dialect, no input
        f"SELECT c.{q('id')} AS {q('customer_id')}, c.{q('name')} AS {q('name')}, "
        f"COUNT(o.{q('id')}) AS {q('order_count')}, "
        # ROUND: SQLite sums NUMERIC as floating point and would show 1234.5699999.
        f"ROUND(COALESCE(SUM(o.{q('total')}), 0), 2) AS {q('total_spent')} "
        f"FROM {q('customers')} c LEFT JOIN {q('orders')} o ON o.{q('customer_id')} = c.{q('id')} "
        f"GROUP BY c.{q('id')}, c.{q('name')}"
    )
