"""Reflection of the hostile schema on every dialect: nothing skipped, keys chosen safely."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from dashboard.db.engine import make_engine
from dashboard.db.reflection import reflect_schema, safe_key
from dashboard.urls import make_slug
from tests import schemas


@pytest.fixture
def reflected(hostile_database_url: str):
    engine = make_engine(hostile_database_url)
    other = schemas.other_schema_name(hostile_database_url)
    info = reflect_schema(engine, [other] if other else [])
    yield info
    engine.dispose()


def test_every_relation_is_reflected(reflected, hostile_database_url):
    names = {(t.schema, t.name) for t in reflected.tables}
    expected = {(None, name) for name in (*schemas.TABLES, *schemas.VIEWS)}
    other = schemas.other_schema_name(hostile_database_url)
    if other:
        expected.add((other, schemas.OTHER_TABLE))
    assert names == expected


def test_views_are_read_only_with_a_reason(reflected):
    view = reflected.by_id(schemas.CUSTOMER_NAMES)
    assert view.kind == "view"
    assert not view.editable
    assert "view" in view.read_only_reason


def test_table_with_only_a_unique_key_is_addressed_by_it(reflected):
    table = reflected.by_id(schemas.UNIQUE_KEYED)
    assert table.primary_key == ()
    assert table.row_key == ("code",)
    assert table.row_key_source == "unique"
    assert table.editable
    assert any("unique key" in note for note in table.notes)


def test_table_without_any_key_is_read_only_and_says_why(reflected):
    table = reflected.by_id(schemas.LOG_LINES)
    assert not table.editable
    assert "no primary key" in table.read_only_reason
    if reflected.dialect == "sqlite":
        assert table.row_key_source == "rowid"
    else:
        assert table.row_key == ()


def test_composite_and_text_keys(reflected):
    assert reflected.by_id(schemas.COMPOSITE_KEYS_TABLE).row_key == ("part_a", "part_b")
    assert reflected.by_id(schemas.TEXT_KEYS_TABLE).row_key == ("code",)


def test_association_table_is_recognised(reflected):
    assert reflected.by_id(schemas.CUSTOMER_TAGS).is_association
    assert not reflected.by_id(schemas.ORDER).is_association


def test_foreign_keys_link_both_ways(reflected):
    order = reflected.by_id(schemas.ORDER)
    assert [(fk.columns, fk.target_id) for fk in order.foreign_keys] == [(("customer_id",), schemas.CUSTOMERS)]
    referencing = {child for child, _fk in reflected.by_id(schemas.CUSTOMERS).referenced_by}
    assert {schemas.ORDER, schemas.CUSTOMER_TAGS} <= referencing
    employees = reflected.by_id(schemas.EMPLOYEES)
    assert employees.foreign_keys[0].target_id == schemas.EMPLOYEES


def test_hostile_column_names_get_safe_keys(reflected):
    customers = reflected.by_id(schemas.CUSTOMERS)
    keys = [c.key for c in customers.columns]
    assert len(set(keys)) == len(keys)
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", key) for key in keys)
    assert customers.column("name").key == "name"
    assert {c.name for c in customers.columns} >= set(schemas.HOSTILE_COLUMNS)


def test_endpoints_are_unique_url_safe_and_readable(reflected):
    endpoints = [t.endpoint for t in reflected.tables]
    assert len(set(endpoints)) == len(endpoints)
    assert all(re.fullmatch(r"[A-Za-z0-9_\-]+", e) for e in endpoints)
    assert reflected.by_id(schemas.ORDER).endpoint == "order"
    weird = reflected.by_id(schemas.WEIRD_TABLE)
    assert weird.endpoint.startswith("we_ird_table-")


def test_other_schema_table_is_served_under_schema_dot_table(reflected, hostile_database_url):
    other = schemas.other_schema_name(hostile_database_url)
    if other is None:  # SQLite: one schema per file, so every relation is in the default one
        assert all(t.schema is None for t in reflected.tables)
        return
    table = reflected.by_id(f"{other}.{schemas.OTHER_TABLE}")
    assert table.url_path == f"{make_slug(other)}.{schemas.OTHER_TABLE}"
    assert table.editable


def test_display_column_prefers_name_then_unique_text(reflected):
    assert reflected.by_id(schemas.CUSTOMERS).display_column == "name"
    assert reflected.by_id(schemas.TAGS).display_column == "name"


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("orders", "orders"),
        ("data", "col_0"),
        ("class", "col_0"),
        ("a b", "col_0"),
        ("_private", "col_0"),
        ("fingerprint", "col_0"),
        ("ünï", "col_0"),
    ],
)
def test_safe_key(name, expected):
    assert safe_key(name, 0, set()) == expected


def test_slugs_are_stable_and_distinct():
    assert make_slug('we"ird table') == make_slug('we"ird table')
    assert make_slug('we"ird table') != make_slug("we'ird table")


def test_reflection_writes_nothing(empty_database_url):
    setup = sa.create_engine(empty_database_url)
    with setup.begin() as connection:
        connection.execute(sa.text("CREATE TABLE only_one (id INTEGER PRIMARY KEY)"))
    setup.dispose()
    engine = make_engine(empty_database_url)
    reflect_schema(engine)
    assert sa.inspect(engine).get_table_names() == ["only_one"]
    engine.dispose()


@pytest.mark.parametrize(
    "sqltext",
    [
        "status IN ('pending', 'paid')",
        "`status` in ('pending','paid')",
        "(status)::text = ANY ((ARRAY['pending'::character varying, 'paid'::character varying])::text[])",
        "status::text = ANY (ARRAY['pending'::character varying, 'paid'::character varying]::text[])",
    ],
)
def test_check_constraint_lists_become_choices(sqltext):
    from dashboard.db.checks import choices_from_check

    assert choices_from_check(sqltext) == ("status", ("pending", "paid"))


@pytest.mark.parametrize("sqltext", ["amount > 0", "status IN (1, 2)", "lower(a) IN ('x')", ""])
def test_other_check_constraints_are_left_alone(sqltext):
    from dashboard.db.checks import choices_from_check

    assert choices_from_check(sqltext) is None


def test_demo_status_is_a_pick_list_on_every_dialect(empty_database_url):
    from dashboard.db.demo import write_demo_database

    write_demo_database(empty_database_url, rows=20)
    engine = make_engine(empty_database_url)
    orders = reflect_schema(engine).by_id("orders")
    assert orders.column("status").choices == ("pending", "paid", "shipped", "delivered", "cancelled")
    engine.dispose()
