"""The column that labels a referenced row (``display_column`` in ``TABLES``), wherever the
operator writes the table's entry: under its endpoint or its id (``schema.table``)."""

from __future__ import annotations

import typing as t

import pytest
import sqlalchemy as sa

from dashboard.site_state import current_site
from tests.schemas import other_schema_name
from tests.site import make_site


def _makers_and_items(url: str) -> str:
    """``makers`` in a second schema (name and code per row) and ``items`` in the default one
    pointing at them; the second schema's name."""
    schema = t.cast(str, other_schema_name(url))
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            quote = connection.dialect.identifier_preparer.quote
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql(f"CREATE SCHEMA {quote(schema)}")
            else:
                connection.exec_driver_sql(f"CREATE DATABASE {quote(schema)}")
        metadata = sa.MetaData()
        makers = sa.Table(
            "makers",
            metadata,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("name", sa.String(50)),
            sa.Column("code", sa.String(20)),
            schema=schema,
        )
        items = sa.Table(
            "items",
            metadata,
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("maker_id", sa.Integer, sa.ForeignKey(makers.c.id)),
        )
        metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(makers.insert(), [{"id": 1, "name": "Acme Tools", "code": "ACM-7"}])
            connection.execute(items.insert(), [{"id": 1, "maker_id": 1}])
    finally:
        engine.dispose()
    return schema


# A table outside the default schema exists only where there is a second schema.
@pytest.mark.parametrize("dialect", ["postgresql", "mariadb"], indirect=True)
def test_display_column_configured_under_schema_dot_table_labels_the_references(empty_database_url, tmp_path):
    schema = _makers_and_items(empty_database_url)
    site = make_site(
        empty_database_url, tmp_path, SCHEMAS=[schema], TABLES={f"{schema}.makers": {"display_column": "code"}}
    )
    try:
        page = site.text(site.url("items"))
    finally:
        current_site(site.app).engine.dispose()
    assert "ACM-7" in page
    assert "Acme Tools" not in page  # the reflected choice (``name``) is overridden
