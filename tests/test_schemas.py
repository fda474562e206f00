"""The database fixtures hold what :mod:`tests.schemas` says, on every dialect."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from sqlalchemy import Engine, Inspector, create_engine, func, inspect, select, table
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from tests import databases
from tests import schemas as s


@pytest.fixture
def engine(hostile_database_url: str) -> Iterator[Engine]:
    engine = create_engine(hostile_database_url)
    yield engine
    engine.dispose()


def _unique_column_sets(inspector: Inspector, name: str) -> list[list[str | None]]:
    # Dialects report a UNIQUE constraint as a constraint, a unique index, or both.
    found = [c["column_names"] for c in inspector.get_unique_constraints(name)]
    return found + [i["column_names"] for i in inspector.get_indexes(name) if i["unique"]]


def test_every_relation_exists(engine: Engine, hostile_database_url: str) -> None:
    inspector = inspect(engine)
    assert sorted(inspector.get_table_names()) == sorted(s.TABLES)
    assert inspector.get_view_names() == list(s.VIEWS)
    schema = s.other_schema_name(hostile_database_url)
    if schema is not None:
        assert inspector.get_table_names(schema=schema) == [s.OTHER_TABLE]


def test_row_counts(engine: Engine, hostile_database_url: str) -> None:
    with engine.connect() as connection:
        counts = {name: connection.scalar(select(func.count()).select_from(table(name))) for name in s.ROW_COUNTS}
        schema = s.other_schema_name(hostile_database_url)
        if schema is not None:
            other = table(s.OTHER_TABLE, schema=schema)
            assert connection.scalar(select(func.count()).select_from(other)) == s.OTHER_ROW_COUNT
    assert counts == s.ROW_COUNTS


def test_keyless_tables_have_no_primary_key(engine: Engine) -> None:
    inspector = inspect(engine)
    for name in s.KEYLESS_TABLES:
        assert inspector.get_pk_constraint(name)["constrained_columns"] == [], name
    assert ["code"] in _unique_column_sets(inspector, s.UNIQUE_KEYED)
    assert _unique_column_sets(inspector, s.LOG_LINES) == []


def test_identical_log_lines_are_both_stored(engine: Engine, dialect: str) -> None:
    log_lines = s.hostile_metadata(dialect).tables[s.LOG_LINES]
    same = [log_lines.c[key] == value for key, value in s.DUPLICATE_LOG_LINE.items()]
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).where(*same)) == 2


def test_awkward_keys_round_trip(engine: Engine, dialect: str) -> None:
    tables = s.hostile_metadata(dialect).tables
    text_keys, composite = tables[s.TEXT_KEYS_TABLE], tables[s.COMPOSITE_KEYS_TABLE]
    with engine.connect() as connection:
        assert sorted(connection.scalars(select(text_keys.c.code))) == sorted(s.TEXT_KEYS)
        for code in s.TEXT_KEYS:  # each key addresses exactly its own row
            labels = connection.scalars(select(text_keys.c.label).where(text_keys.c.code == code))
            assert labels.all() == [f"label {code}"]
        pairs = connection.execute(select(composite.c.part_a, composite.c.part_b))
        assert sorted(tuple(pair) for pair in pairs) == sorted(s.COMPOSITE_KEYS)


def test_customers_keep_hostile_names_and_values(engine: Engine, dialect: str) -> None:
    customers = s.hostile_metadata(dialect).tables[s.CUSTOMERS]
    with engine.connect() as connection:
        rows = connection.execute(select(customers).order_by(customers.c.id)).mappings()
        assert [dict(row) for row in rows] == s.CUSTOMER_ROWS


def test_all_types_round_trip(engine: Engine, dialect: str) -> None:
    all_types = s.hostile_metadata(dialect).tables[s.ALL_TYPES]
    expected = s.all_types_row(dialect)
    with engine.connect() as connection:
        rows = connection.execute(select(all_types).order_by(all_types.c.id)).all()
    row, nulls = dict(rows[0]._mapping), rows[1]
    if dialect == "sqlite":  # SQLite keeps NUMERIC as a float
        assert float(row.pop("numeric_col")) == pytest.approx(float(expected.pop("numeric_col")))
    assert row == expected
    assert nulls.id == s.ALL_TYPES_NULL_ID
    assert nulls[1:] == (None,) * (len(nulls) - 1)


def test_empty_database_is_empty(empty_database_url: str) -> None:
    engine = create_engine(empty_database_url)
    try:
        inspector = inspect(engine)
        assert inspector.get_table_names() == [] and inspector.get_view_names() == []
    finally:
        engine.dispose()


def test_make_database_drops_everything_it_made(dialect: str) -> None:
    with databases.make_database(dialect) as url:
        s.create_hostile_schema(url)
        # Left open, mid-transaction, across the drop, as a careless test would leave it.
        careless = create_engine(url, poolclass=NullPool)
        connection = careless.connect()
        connection.execute(select(func.count()).select_from(table(s.CUSTOMERS)))
    assert databases.finish_drops() == []  # the drop runs on a background thread
    connection.invalidate()  # the drop killed it; rolling back would raise
    careless.dispose()
    made = [url]
    if dialect == "mariadb":  # the second schema is a sibling database there
        made.append(make_url(url).set(database=s.other_schema_name(url)).render_as_string(False))
    for gone in made:
        engine = create_engine(gone, poolclass=NullPool)
        with pytest.raises(OperationalError):
            engine.connect()
        engine.dispose()


def test_redis_url_starts_empty(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.dbsize() == 0
        client.set("left-behind", "flushed by the fixture afterwards")
    finally:
        client.close()


def test_each_parallel_worker_has_a_redis_database_of_its_own() -> None:
    url = "redis://:secret@127.0.0.1:6379/15"
    assert databases.worker_redis_url(url, "") == url
    assert databases.worker_redis_url(url, "gw0") == url
    assert databases.worker_redis_url(url, "gw1") == "redis://:secret@127.0.0.1:6379/14"
    with pytest.raises(pytest.fail.Exception, match="no Redis database of its own"):
        databases.worker_redis_url(url, "gw16")


def test_require_service_skips_or_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(databases, "service_problem", lambda name: "down")
    monkeypatch.delenv(databases.REQUIRE_SERVICES_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="needed here"):
        databases.require_service("redis", "needed here")
    monkeypatch.setenv(databases.REQUIRE_SERVICES_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="needed here"):
        databases.require_service("redis", "needed here")
