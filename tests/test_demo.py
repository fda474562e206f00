"""The demo shop database on SQLite, PostgreSQL and MariaDB, and the ``demo`` command.

PostgreSQL and MariaDB tests build into a throw-away database created through the admin
database of ``DASHBOARD_TEST_POSTGRESQL_URL`` / ``DASHBOARD_TEST_MARIADB_URL``; they are
skipped when the server is unreachable, unless ``DASHBOARD_TEST_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import secrets
import typing as t
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import MetaData, Table, create_engine, func, inspect, make_url, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from dashboard.cli.demo import demo_command
from dashboard.db.demo import (
    ORDER_STATUSES,
    VIEW_NAME,
    DemoError,
    DemoTargetNotEmpty,
    demo_sizes,
    write_demo_database,
)
from dashboard.db.engine import make_engine

ROWS = 200
TABLES = {"customers", "products", "orders", "order_lines", "tags", "product_tags", "event_log"}
SERVERS = {
    "postgresql": (
        "DASHBOARD_TEST_POSTGRESQL_URL",
        "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    ),
    "mariadb": ("DASHBOARD_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
}


def _server_unavailable(reason: str) -> t.NoReturn:
    if os.environ.get("DASHBOARD_TEST_REQUIRE_SERVICES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@contextlib.contextmanager
def scratch_database(backend: str) -> t.Iterator[str]:
    """Create an empty database on the ``backend`` server, yield its URL, drop it."""
    variable, default = SERVERS[backend]
    admin_url = make_url(os.environ.get(variable) or default)
    name = f"demo_test_{secrets.token_hex(6)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
    try:
        try:
            with admin.connect() as connection:
                connection.execute(text(f"CREATE DATABASE {name}"))
        except OperationalError as exc:
            where = admin_url.render_as_string(hide_password=True)
            _server_unavailable(f"{backend} at {where} is unreachable: {exc.orig}")
        try:
            yield admin_url.set(database=name).render_as_string(hide_password=False)
        finally:
            # FORCE: a connection some failed test left open must not keep the database.
            force = " WITH (FORCE)" if backend == "postgresql" else ""
            with admin.connect() as connection:
                connection.execute(text(f"DROP DATABASE IF EXISTS {name}{force}"))
    finally:
        admin.dispose()


@dataclasses.dataclass
class Demo:
    backend: str
    url: str
    counts: dict[str, int]
    engine: Engine
    metadata: MetaData


@pytest.fixture(scope="module", params=["sqlite", "postgresql", "mariadb"])
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Demo]:
    """A demo of ROWS orders, built once per backend for the whole module."""
    backend: str = request.param
    with contextlib.ExitStack() as stack:
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'shop.db'}"
        else:
            url = stack.enter_context(scratch_database(backend))
        counts = write_demo_database(url, ROWS)
        # make_engine: the dashboard's own engine (SQLite enforces foreign keys, MySQL is strict).
        engine = make_engine(url)
        stack.callback(engine.dispose)
        metadata = MetaData()
        metadata.reflect(engine)
        yield Demo(backend, url, counts, engine, metadata)


@pytest.fixture(scope="module")
def reference_rows(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[t.Any, ...]]]:
    """Orders and customers of a SQLite demo with the default seed, to compare backends."""
    path = tmp_path_factory.mktemp("reference") / "shop.db"
    write_demo_database(f"sqlite:///{path}", ROWS)
    engine = make_engine(f"sqlite:///{path}")
    try:
        return _fingerprint(engine)
    finally:
        engine.dispose()


def _fingerprint(engine: Engine) -> dict[str, list[tuple[t.Any, ...]]]:
    with engine.connect() as connection:
        return {
            "customers": [
                tuple(row)
                for row in connection.execute(text("SELECT id, name, email, country FROM customers ORDER BY id"))
            ],
            # Formatted: SQLite reads 12.5 back as a float, the servers as Decimal('12.50').
            "orders": [
                (row.id, row.customer_id, row.status, f"{Decimal(row.total):.2f}")
                for row in connection.execute(text("SELECT id, customer_id, status, total FROM orders ORDER BY id"))
            ],
            "order_lines": [
                tuple(row)
                for row in connection.execute(
                    text("SELECT order_id, line_no, product_id, quantity FROM order_lines ORDER BY order_id, line_no")
                )
            ],
        }


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


def _insert(connection: Connection, table: Table, **values: t.Any) -> t.Any:
    """Insert one row as the app would, without giving the id; return the new key."""
    key = connection.execute(table.insert().values(**values)).inserted_primary_key
    assert key is not None
    return key[0]


# --------------------------------------------------------------------------- every backend


def test_tables_and_view_exist(demo: Demo) -> None:
    inspector = inspect(demo.engine)
    assert set(inspector.get_table_names()) == TABLES
    assert inspector.get_view_names() == [VIEW_NAME]
    view_columns = [column["name"] for column in inspector.get_columns(VIEW_NAME)]
    assert view_columns == ["customer_id", "name", "order_count", "total_spent"]


def test_row_counts_follow_the_size(demo: Demo) -> None:
    sizes = demo_sizes(ROWS)
    assert sizes == {"customers": 50, "products": 50, "orders": ROWS, "tags": 12, "event_log": 20}
    actual = {table: _count(demo.engine, table) for table in TABLES}
    assert actual == demo.counts
    for table, size in sizes.items():
        assert actual[table] == size, table
    assert ROWS <= actual["order_lines"] <= 4 * ROWS
    assert 0 < actual["product_tags"] <= 3 * sizes["products"]
    assert _count(demo.engine, VIEW_NAME) == sizes["customers"]


def test_sizes_scale_with_rows() -> None:
    assert demo_sizes(1_000_000) == {
        "customers": 100_000,
        "products": 2000,
        "orders": 1_000_000,
        "tags": 12,
        "event_log": 100_000,
    }
    assert demo_sizes(5_000_000)["event_log"] == 100_000
    assert demo_sizes(50_000)["products"] == 500


def test_orders_are_consistent(demo: Demo) -> None:
    orders, lines = demo.metadata.tables["orders"], demo.metadata.tables["order_lines"]
    with demo.engine.connect() as connection:
        totals = dict(connection.execute(select(orders.c.id, orders.c.total)).all())
        per_order = connection.execute(
            select(
                lines.c.order_id,
                func.count(),
                func.min(lines.c.line_no),
                func.max(lines.c.line_no),
                func.count(lines.c.product_id.distinct()),
            ).group_by(lines.c.order_id)
        ).all()
        line_sums: dict[int, Decimal] = {}
        for order_id, quantity, unit_price in connection.execute(
            select(lines.c.order_id, lines.c.quantity, lines.c.unit_price)
        ):
            line_sums[order_id] = line_sums.get(order_id, Decimal(0)) + quantity * Decimal(unit_price)
        statuses = {row[0] for row in connection.execute(select(orders.c.status).distinct())}
        first, last = connection.execute(select(func.min(orders.c.ordered_at), func.max(orders.c.ordered_at))).one()
    assert len(per_order) == ROWS  # every order has lines
    for _order_id, count, first_line, last_line, products in per_order:
        assert 1 <= count <= 4 and (first_line, last_line) == (1, count) and products == count
    assert {order_id: Decimal(total) for order_id, total in totals.items()} == line_sums
    assert statuses <= set(ORDER_STATUSES) and "delivered" in statuses
    now = datetime.now(UTC).replace(tzinfo=None)  # the demo stores naive UTC
    assert now - timedelta(days=3 * 366) < first < last < now + timedelta(days=1)
    assert last - first > timedelta(days=2 * 365)  # spread over years, not crammed


def test_foreign_keys_hold(demo: Demo) -> None:
    # The loaders skip per-row foreign key checks, so check the result instead.
    references = [
        ("orders", "customer_id", "customers"),
        ("order_lines", "order_id", "orders"),
        ("order_lines", "product_id", "products"),
        ("product_tags", "product_id", "products"),
        ("product_tags", "tag_id", "tags"),
    ]
    with demo.engine.connect() as connection:
        for child, column, parent in references:
            orphans = connection.execute(
                text(f"SELECT COUNT(*) FROM {child} c LEFT JOIN {parent} p ON p.id = c.{column} WHERE p.id IS NULL")
            ).scalar_one()
            assert orphans == 0, f"{child}.{column}"
        late = connection.execute(
            text(
                "SELECT COUNT(*) FROM orders o JOIN customers c ON c.id = o.customer_id "
                "WHERE c.created_at > o.ordered_at"
            )
        ).scalar_one()
    assert late == 0  # nobody orders before signing up
    foreign_keys = {
        (fk["constrained_columns"][0], fk["referred_table"])
        for fk in inspect(demo.engine).get_foreign_keys("order_lines")
    }
    assert foreign_keys == {("order_id", "orders"), ("product_id", "products")}


def test_keys_as_specified(demo: Demo) -> None:
    inspector = inspect(demo.engine)
    primary_keys = {table: inspector.get_pk_constraint(table)["constrained_columns"] for table in TABLES}
    assert primary_keys == {
        "customers": ["id"],
        "products": ["id"],
        "orders": ["id"],
        "tags": ["id"],
        "order_lines": ["order_id", "line_no"],
        "product_tags": ["product_id", "tag_id"],
        "event_log": [],
    }
    indexed = {tuple(index["column_names"]) for index in inspector.get_indexes("orders")}
    assert {("customer_id",), ("status",), ("ordered_at",)} <= indexed
    unique = {
        table: [tuple(c["column_names"]) for c in inspector.get_unique_constraints(table)]
        + [tuple(i["column_names"]) for i in inspector.get_indexes(table) if i["unique"]]
        for table in ("customers", "products", "tags")
    }
    assert ("email",) in unique["customers"]
    assert ("sku",) in unique["products"]
    assert ("name",) in unique["tags"]


def test_event_log_has_no_key_and_duplicate_rows(demo: Demo) -> None:
    inspector = inspect(demo.engine)
    assert inspector.get_pk_constraint("event_log")["constrained_columns"] == []
    assert inspector.get_unique_constraints("event_log") == []
    assert not [index for index in inspector.get_indexes("event_log") if index["unique"]]
    with demo.engine.connect() as connection:
        duplicated = connection.execute(
            text(
                "SELECT happened_at, level, message, COUNT(*) FROM event_log "
                "GROUP BY happened_at, level, message HAVING COUNT(*) > 1"
            )
        ).all()
    assert duplicated


def test_check_constraint_rejects_unknown_status(demo: Demo) -> None:
    orders = demo.metadata.tables["orders"]
    with demo.engine.connect() as connection:
        # IntegrityError, except PyMySQL's OperationalError for MariaDB's error 4025.
        with pytest.raises(DBAPIError, match="ck_orders_status"):
            connection.execute(
                orders.insert().values(
                    customer_id=1,
                    status="lost",
                    ordered_at=datetime(2024, 5, 1),
                    total=Decimal("1.00"),
                )
            )
        connection.rollback()


def test_app_inserts_get_fresh_ids(demo: Demo) -> None:
    # COPY writes explicit ids; unless the sequences were moved on, this would hit id 1.
    customers, orders = demo.metadata.tables["customers"], demo.metadata.tables["orders"]
    lines, tags = demo.metadata.tables["order_lines"], demo.metadata.tables["tags"]
    with demo.engine.connect() as connection:
        now = datetime.now()
        customer_id = _insert(connection, customers, name="New Person", email="new@example.com", is_active=True)
        order_id = _insert(
            connection,
            orders,
            customer_id=customer_id,
            status="pending",
            ordered_at=now,
            total=Decimal("9.99"),
        )
        _insert(
            connection,
            lines,
            order_id=order_id,
            line_no=1,
            product_id=1,
            quantity=1,
            unit_price=Decimal("9.99"),
        )
        tag_id = _insert(connection, tags, name="brand new tag")
        connection.rollback()
    assert customer_id > demo_sizes(ROWS)["customers"]
    assert order_id > ROWS
    assert tag_id > demo_sizes(ROWS)["tags"]


def test_second_run_refuses_and_changes_nothing(demo: Demo) -> None:
    with pytest.raises(DemoTargetNotEmpty, match="already contains .* the demo only writes into an empty database"):
        write_demo_database(demo.url, 10)
    assert issubclass(DemoTargetNotEmpty, DemoError)
    assert _count(demo.engine, "orders") == ROWS


def test_same_seed_same_data_on_every_backend(demo: Demo, reference_rows: dict[str, list[tuple[t.Any, ...]]]) -> None:
    assert _fingerprint(demo.engine) == reference_rows


def test_view_sums_orders(demo: Demo) -> None:
    with demo.engine.connect() as connection:
        order_count, total_spent = connection.execute(
            text(f"SELECT SUM(order_count), SUM(total_spent) FROM {VIEW_NAME}")
        ).one()
        total = connection.execute(text("SELECT SUM(total) FROM orders")).scalar_one()
    assert order_count == ROWS
    assert round(Decimal(total_spent), 2) == round(Decimal(total), 2)


# --------------------------------------------------------------------------- SQLite only


def test_other_seed_other_data(tmp_path: Path) -> None:
    write_demo_database(f"sqlite:///{tmp_path / 'a.db'}", 50, seed=1)
    write_demo_database(f"sqlite:///{tmp_path / 'b.db'}", 50, seed=2)
    engines = [make_engine(f"sqlite:///{tmp_path / name}") for name in ("a.db", "b.db")]
    try:
        first, second = (_fingerprint(engine) for engine in engines)
    finally:
        for engine in engines:
            engine.dispose()
    assert first["customers"] != second["customers"]


def test_refuses_a_database_with_other_tables(tmp_path: Path) -> None:
    path = tmp_path / "mine.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE precious (id INTEGER PRIMARY KEY)"))
    engine.dispose()
    with pytest.raises(DemoTargetNotEmpty, match="precious"):
        write_demo_database(f"sqlite:///{path}", 10)
    engine = make_engine(f"sqlite:///{path}")
    assert inspect(engine).get_table_names() == ["precious"]
    engine.dispose()


def test_fills_an_existing_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    assert write_demo_database(f"sqlite:///{path}", 10)["orders"] == 10


@pytest.mark.parametrize("rows", [0, -5, 2.5, True])
def test_rejects_bad_row_counts(tmp_path: Path, rows: t.Any) -> None:
    with pytest.raises(DemoError, match="rows must be a positive whole number"):
        write_demo_database(f"sqlite:///{tmp_path / 'x.db'}", rows)
    assert not (tmp_path / "x.db").exists()


def test_missing_folder_is_an_error_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(DemoError, match="does not exist"):
        write_demo_database(f"sqlite:///{tmp_path / 'nowhere' / 'x.db'}", 10)
    assert not (tmp_path / "nowhere").exists()


def test_unreachable_server_is_a_demo_error() -> None:
    with pytest.raises(DemoError, match="cannot connect"):
        write_demo_database("postgresql+psycopg://postgres@127.0.0.1:1/nothing", 10)


# --------------------------------------------------------------------------- command


def _run(*args: str) -> t.Any:
    return CliRunner().invoke(demo_command, list(args))


def test_command_writes_and_reports(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    result = _run("--rows", "100", "--output", str(path))
    assert result.exit_code == 0, result.output
    for table in (*TABLES, VIEW_NAME):
        assert table in result.stdout
    assert "100 rows" in result.stdout  # orders
    assert f"wrote {path} in " in result.stdout
    assert path.is_file()


def test_command_defaults_to_demo_db_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = _run("--rows", "20")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "demo.db").is_file()


def test_command_refuses_an_existing_demo_without_force(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    assert _run("--rows", "20", "--output", str(path)).exit_code == 0
    before = path.read_bytes()
    result = _run("--rows", "30", "--output", str(path))
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert "already contains" in result.stderr and "--force" in result.stderr
    assert path.read_bytes() == before


def test_command_force_replaces_a_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    assert _run("--rows", "20", "--output", str(path)).exit_code == 0
    stale_wal = tmp_path / "shop.db-wal"
    stale_wal.write_bytes(b"left over from an old database")
    result = _run("--rows", "30", "--output", str(path), "--force")
    assert result.exit_code == 0, result.output
    assert not stale_wal.exists()
    engine = make_engine(f"sqlite:///{path}")
    assert _count(engine, "orders") == 30
    engine.dispose()


def test_command_force_never_deletes_other_files(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("not a database\n")
    for extra in ([], ["--force"]):
        result = _run("--rows", "20", "--output", str(path), *extra)
        assert result.exit_code == 2
        assert "is not a SQLite database" in result.stderr
    assert path.read_text() == "not a database\n"


def test_command_url_target(tmp_path: Path) -> None:
    path = tmp_path / "via-url.db"
    result = _run("--rows", "20", "--url", f"sqlite:///{path}")
    assert result.exit_code == 0, result.output
    assert _run("--rows", "20", "--url", f"sqlite:///{path}").exit_code == 2
    assert _run("--rows", "20", "--url", f"sqlite:///{path}", "--force").exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--output", "a.db", "--url", "sqlite:///b.db"], "not both"),
        (
            ["--url", "postgresql+psycopg://postgres@127.0.0.1:1/x", "--force"],
            "--force only replaces a SQLite file",
        ),
    ],
)
def test_command_usage_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str) -> None:
    monkeypatch.chdir(tmp_path)
    result = _run("--rows", "10", *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert not list(tmp_path.iterdir())  # nothing written


def test_command_rejects_zero_rows(tmp_path: Path) -> None:
    result = _run("--rows", "0", "--output", str(tmp_path / "x.db"))
    assert result.exit_code == 2
    assert not (tmp_path / "x.db").exists()
