"""A least-privilege database user: what it may not read is listed as such and never queried,
and no write it may not make is offered (dashboard.db.privileges).

The demo shop is served through users made by :mod:`tests.roles`: SELECT on a few tables,
SELECT everywhere but no writes (on SQLite: the file opened read-only), and some writes
on some tables. Every statement the dashboard sends is recorded, so "never queried" is
checked, not assumed.
"""

from __future__ import annotations

import html
import json
import re
import typing as t
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from dashboard.cli import main
from dashboard.db.demo import write_demo_database
from dashboard.db.privileges import probe
from tests.databases import make_database, require_database
from tests.plugin_kit import error_panels, plugin_site
from tests.roles import restricted_url
from tests.site import Site, make_site, rows

#: Tables of the demo shop that the "few tables" user may not read, and the view.
UNREADABLE = ("customers", "order_lines", "product_tags", "event_log", "customer_order_totals")
#: SELECT on three tables; UPDATE on orders (whose customer is unreadable), INSERT on tags.
FEW_TABLES = {"orders": {"SELECT", "UPDATE"}, "products": {"SELECT"}, "tags": {"SELECT", "INSERT"}}
SERVERS = ("postgresql", "mariadb")
NOT_READABLE = "Not readable by this database user."
NO_WRITES = "Read-only: this database user may not insert, update or delete."


@pytest.fixture(scope="module")
def shop(dialect: str) -> Iterator[str]:
    """The demo shop, one database per dialect for the module (the tests write only to tags)."""
    with make_database(dialect) as url:
        write_demo_database(url, rows=30)
        yield url


class Recorder:
    """Every statement an engine sends, to show which tables were queried."""

    def __init__(self, engine: sa.Engine) -> None:
        self.statements: list[str] = []
        sa.event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, _connection: t.Any, _cursor: t.Any, statement: str, *_args: t.Any) -> None:
        self.statements.append(statement)

    def touching(self, tables: t.Iterable[str]) -> list[str]:
        """The statements naming any of ``tables`` (quoted or not)."""
        pattern = re.compile(
            r"[\s`\"(.,]({})[\s`\".,)]|[\s`\"(.,]({})$".format(
                "|".join(map(re.escape, tables)), "|".join(map(re.escape, tables))
            )
        )
        return [s for s in self.statements if pattern.search(s)]


@pytest.fixture
def site_as(tmp_path: t.Any) -> Iterator[t.Callable[..., tuple[Site, Recorder]]]:
    """Factory: ``site_as(url, role="admin")`` -> an operator's session on ``url`` and its statement recorder."""
    sites: list[Site] = []

    def make(url: str, role: str = "admin") -> tuple[Site, Recorder]:
        site = make_site(url, tmp_path / f"instance{len(sites)}", role)
        sites.append(site)
        return site, Recorder(site.state.engine)

    yield make
    for site in sites:
        site.state.engine.dispose()


def _text(response: t.Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def _first_key(site: Site, table: str) -> str:
    """The key of a row of ``table`` as its list page links it."""
    found = re.search(r"(?:^|[\"/])details/\?id=([^&\"]+)", site.text(site.url(table)))
    assert found, f"no row of {table} is linked from its list"
    return html.unescape(found.group(1))


# -- SELECT on a few tables ------------------------------------------------------------------


@pytest.mark.parametrize("server", SERVERS)
def test_a_user_reading_a_few_tables_gets_every_page_and_never_queries_the_others(
    server: str, restricted: t.Any, site_as: t.Any
) -> None:
    require_database(server)
    with make_database(server) as url:
        write_demo_database(url, rows=30)
        site, recorder = site_as(restricted(url, FEW_TABLES))
        served = set(site.state.views)
        if server == "postgresql":
            # PostgreSQL describes every relation to every user: all are listed.
            assert set(UNREADABLE) <= served
        else:
            # MariaDB shows a user only the tables it holds some privilege on.
            assert not served & set(UNREADABLE)
        home = _text(site.get("/admin/"))
        for table in served - set(FEW_TABLES):
            response = site.get(site.url(table))
            assert response.status_code == 403, table
            assert f"{table} is not readable by this database user" in _text(response)
            assert f'href="{site.url(table)}"' not in home, f"home links the unreadable {table}"
        if server == "postgresql":
            assert home.count(NOT_READABLE) == len(UNREADABLE)
        assert "could not be shown" not in home
        for table in FEW_TABLES:
            assert site.get(site.url(table)).status_code == 200
            assert site.get(site.url(table, "details", _first_key(site, table))).status_code == 200
        # orders may be edited; its customer is shown by its key, not looked up.
        key = _first_key(site, "orders")
        edit = site.get(site.url("orders", "edit", key))
        assert edit.status_code == 200
        lookup = site.get(site.url("orders", "ajax/lookup") + "?name=customer_id&query=1")
        if server == "postgresql":
            assert lookup.status_code == 200 and json.loads(lookup.get_data(as_text=True)) == []
        else:
            assert lookup.status_code == 404  # the foreign key's target is not even known
        # The table finder's data, wherever the dashboard's own pages live.
        navigation_url = next(
            rule.rule for rule in site.app.url_map.iter_rules() if rule.endpoint.endswith("navigation.tables_json")
        )
        navigation = json.loads(site.get(navigation_url).get_data(as_text=True))
        notes = {entry["id"]: entry.get("note") for entry in navigation["tables"]}
        assert all(notes[table] == NOT_READABLE for table in served - set(FEW_TABLES))
        assert not any(notes[table] for table in FEW_TABLES)
        assert recorder.touching(UNREADABLE) == []
        assert recorder.statements, "the pages were read from the database"


@pytest.mark.parametrize("server", SERVERS)
def test_pages_of_an_unreadable_table_answer_its_message_without_a_query(
    server: str, restricted: t.Any, site_as: t.Any
) -> None:
    require_database(server)
    with make_database(server) as url:
        write_demo_database(url, rows=30)
        # INSERT without SELECT: MariaDB then lists customers too.
        site, recorder = site_as(restricted(url, {**FEW_TABLES, "customers": {"INSERT"}}))
        assert not site.state.views["customers"].info.readable
        for page in ("", "details", "edit", "new", "export/csv"):
            response = site.get(site.url("customers", page, "1" if page in ("details", "edit") else None))
            assert response.status_code == 403, page
            assert "customers is not readable by this database user" in _text(response)
        response = site.post(
            site.url("customers", "new"),
            {"name": "x", "email": "x@example.org", "is_active": "y"},
            token_from="/admin/",
        )
        assert response.status_code == 403
        assert recorder.touching(["customers"]) == []


# -- SELECT everywhere, no writes ------------------------------------------------------------


def _read_only_url(shop: str, restricted: t.Any) -> str:
    return restricted(shop, {"*": {"SELECT"}})


def test_a_user_without_writes_sees_every_page_and_no_write(shop: str, restricted: t.Any, site_as: t.Any) -> None:
    site, recorder = site_as(_read_only_url(shop, restricted))
    home = _text(site.get("/admin/"))
    editable = [view for view in site.state.views.values() if view.info.editable]
    assert editable, "the demo shop has tables that could be edited"
    assert home.count(NO_WRITES) == len(editable)
    assert NOT_READABLE not in home and "could not be shown" not in home
    for table_id, view in site.state.views.items():
        listing = _text(site.get(site.url(table_id)))
        assert f'href="{site.url(table_id, "new")}' not in listing, f"{table_id} offers to create"
        assert "edit/?id=" not in listing and "/delete/" not in listing, f"{table_id} offers to change rows"
        if view.info.has_row_identity:
            key = _first_key(site, table_id)
            assert site.get(site.url(table_id, "details", key)).status_code == 200
        if view.info.editable:
            assert NO_WRITES in listing
    assert not any(re.match(r"\s*(INSERT|UPDATE|DELETE)\b", s, re.I) for s in recorder.statements)


def test_write_routes_are_refused_with_the_privilege_and_change_nothing(
    shop: str, restricted: t.Any, site_as: t.Any
) -> None:
    site, recorder = site_as(_read_only_url(shop, restricted))
    before = rows(shop, "products", "id")
    key = _first_key(site, "products")
    for page, privilege in (("new", "INSERT"), ("edit", "UPDATE")):
        response = site.get(site.url("products", page, key if page == "edit" else None))
        assert response.status_code == 403
        assert f"this database user lacks the {privilege} privilege on products" in _text(response)
    token = site.token()
    posts = [
        (site.url("products", "new"), {"sku": "X-1", "name": "x", "price": "1", "stock": "1"}),
        (site.url("products", "edit", key), {"name": "renamed", "price": "1", "stock": "1"}),
        (site.url("products", "delete"), {"id": key}),
        (site.url("products", "action"), {"action": "delete", "rowid": key}),
    ]
    for url, data in posts:
        response = site.client.post(url, data={**data, "csrf_token": token})
        assert response.status_code == 403, url
    assert rows(shop, "products", "id") == before
    assert not any(re.match(r"\s*(INSERT|UPDATE|DELETE)\b", s, re.I) for s in recorder.statements)


def test_inspect_says_what_the_database_user_may_not_do(dialect: str, shop: str, restricted: t.Any) -> None:
    output = CliRunner().invoke(main, ["inspect", _read_only_url(shop, restricted)])
    assert output.exit_code == 0, output.output
    lines = {
        re.search(r"'([^']+)'", line).group(1): line  # type: ignore[union-attr]
        for line in output.output.splitlines()
        if re.match(r"\S", line)
    }
    assert "read-only: this database user may not insert, update or delete" in lines["orders"]
    assert "editable" not in lines["orders"]
    assert "view" in lines["customer_order_totals"]
    if dialect != "sqlite":
        few = CliRunner().invoke(main, ["inspect", restricted(shop, FEW_TABLES)])
        assert few.exit_code == 0, few.output
        assert re.search(r"'orders'.*editable", few.output)
        assert "Partly read-only: this database user lacks INSERT, DELETE on it." in few.output
        if dialect == "postgresql":
            assert re.search(r"'customers'.*not readable by this database user", few.output)


def test_sqlite_has_no_users_to_grant_writes_to(tmp_path: t.Any) -> None:
    url = f"sqlite:///{tmp_path}/shop.db"
    write_demo_database(url, rows=5)
    with pytest.raises(ValueError, match="read-only"), restricted_url(url, {"tags": {"INSERT"}}):
        pass


# -- some writes on some tables --------------------------------------------------------------


@pytest.mark.parametrize("server", SERVERS)
def test_buttons_and_routes_follow_each_privilege(server: str, restricted: t.Any, site_as: t.Any) -> None:
    require_database(server)
    with make_database(server) as url:
        write_demo_database(url, rows=30)
        site, _recorder = site_as(restricted(url, FEW_TABLES))
        tags = _text(site.get(site.url("tags")))
        assert f'href="{site.url("tags", "new")}' in tags
        assert "edit/?id=" not in tags and "/delete/" not in tags
        assert "Partly read-only: this database user lacks UPDATE, DELETE on it." in tags
        orders = _text(site.get(site.url("orders")))
        assert f'href="{site.url("orders", "new")}' not in orders and 'href="edit/?id=' in orders
        assert "/delete/" not in orders
        # Allowed: a tag is created.
        response = site.post(site.url("tags", "new"), {"name": "least-privilege"})
        assert response.status_code == 302, _text(response)
        assert ("least-privilege",) in [(r[1],) for r in rows(url, "tags")]
        # Refused: deleting it, editing it, creating an order.
        tag_id = next(str(r[0]) for r in rows(url, "tags") if r[1] == "least-privilege")
        for target, data in (
            (site.url("tags", "delete"), {"id": tag_id}),
            (site.url("tags", "edit", tag_id), {"name": "renamed"}),
            (site.url("orders", "new"), {"status": "new"}),
        ):
            assert site.post(target, data, token_from="/admin/").status_code == 403, target
        assert ("least-privilege",) in [(r[1],) for r in rows(url, "tags")]


@pytest.mark.parametrize("server", SERVERS)
def test_app_roles_still_apply_on_top_of_the_privileges(server: str, restricted: t.Any, site_as: t.Any) -> None:
    require_database(server)
    with make_database(server) as url:
        write_demo_database(url, rows=5)
        site, _recorder = site_as(restricted(url, {"*": {"SELECT", "INSERT", "UPDATE", "DELETE"}}), role="viewer")
        refused = site.get(site.url("tags", "new"))
        assert refused.status_code == 403
        assert "Permission denied." in _text(refused) and "privilege" not in _text(refused)


# -- the probe -------------------------------------------------------------------------------


def test_postgresql_column_grants_and_schema_usage_are_not_the_table(restricted: t.Any) -> None:
    require_database("postgresql")
    with make_database("postgresql") as url:
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE a (id int PRIMARY KEY, secret text)")
            connection.exec_driver_sql("CREATE SCHEMA hidden")
            connection.exec_driver_sql("CREATE TABLE hidden.b (id int PRIMARY KEY)")
        engine.dispose()
        user_url = restricted(url, {"a": {"SELECT"}})
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        user = sa.engine.make_url(user_url).username
        with admin.connect() as connection:
            connection.exec_driver_sql(f'REVOKE SELECT ON a FROM "{user}"')
            connection.exec_driver_sql(f'GRANT SELECT (id), UPDATE (id) ON a TO "{user}"')
            connection.exec_driver_sql(f'GRANT SELECT ON hidden.b TO "{user}"')  # no USAGE on hidden
        admin.dispose()
        engine = sa.create_engine(user_url)
        try:
            assert probe(engine, None, ["a"]) == {"a": frozenset()}
            assert probe(engine, "hidden", ["b"]) == {"b": frozenset()}
        finally:
            engine.dispose()


def test_mariadb_privileges_through_a_role_and_a_schema_pattern(restricted: t.Any) -> None:
    require_database("mariadb")
    with make_database("mariadb") as url:
        database = str(sa.engine.make_url(url).database)
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            for name in ("a", "b", "c"):
                connection.exec_driver_sql(f"CREATE TABLE {name} (id int PRIMARY KEY)")
        engine.dispose()
        user_url = restricted(url, {"c": {"SELECT"}})
        user = sa.engine.make_url(user_url).username
        role = f"{user}_role"
        admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                connection.exec_driver_sql(f"CREATE ROLE `{role}`")
                connection.exec_driver_sql(f"GRANT SELECT, UPDATE ON `{database}`.`a` TO `{role}`")
                connection.exec_driver_sql(f"GRANT SELECT (id) ON `{database}`.`b` TO `{role}`")
                for host in ("%", "localhost"):
                    connection.execute(sa.text(f"GRANT `{role}` TO :user@:host"), {"user": user, "host": host})
                    connection.execute(
                        sa.text(f"SET DEFAULT ROLE `{role}` FOR :user@:host"), {"user": user, "host": host}
                    )
                # A schema-level grant names a pattern: _ matches any one character.
                pattern = database.replace("dash_", "dash\\_")[:-1] + "_"
                connection.exec_driver_sql(f"GRANT DELETE ON `{pattern}`.* TO `{role}`")
            engine = sa.create_engine(user_url)
            try:
                found = probe(engine, None, ["a", "b", "c"])
            finally:
                engine.dispose()
            assert found == {
                "a": frozenset({"SELECT", "UPDATE", "DELETE"}),
                "b": frozenset({"DELETE"}),
                "c": frozenset({"SELECT", "DELETE"}),
            }
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(f"DROP ROLE IF EXISTS `{role}`")
            admin.dispose()


def test_sqlite_read_only_file_modes(tmp_path: t.Any) -> None:
    path = tmp_path / "ro.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE a (id integer PRIMARY KEY)")
    assert probe(engine, None, ["a"]) == {"a": frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"})}
    engine.dispose()
    for url in (f"sqlite:///file:{path}?mode=ro&uri=true", f"sqlite:///file:{path}?immutable=1&uri=true"):
        engine = sa.create_engine(url)
        assert probe(engine, None, ["a"]) == {"a": frozenset({"SELECT"})}, url
        engine.dispose()
    path.chmod(0o444)
    try:
        engine = sa.create_engine(f"sqlite:///{path}")
        found = probe(engine, None, ["a"])
        # The probe must agree with SQLite itself (which lets root write a 0444 file anyway).
        try:
            with engine.begin() as connection:
                connection.exec_driver_sql("INSERT INTO a VALUES (1)")
            writable = True
        except sa.exc.OperationalError:
            writable = False
        engine.dispose()
        assert found == {"a": frozenset({"SELECT", "INSERT", "UPDATE", "DELETE"} if writable else {"SELECT"})}
    finally:
        path.chmod(0o644)


# -- materialized views (PostgreSQL) ---------------------------------------------------------


def test_materialized_views_are_served_read_only_and_say_when_not_populated(restricted: t.Any, site_as: t.Any) -> None:
    require_database("postgresql")
    with make_database("postgresql") as url:
        write_demo_database(url, rows=30)
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "CREATE MATERIALIZED VIEW order_totals AS "
                "SELECT customer_id, sum(total) AS total FROM orders GROUP BY customer_id"
            )
            connection.exec_driver_sql(
                "CREATE MATERIALIZED VIEW empty_totals AS "
                "SELECT customer_id, count(*) AS orders FROM orders GROUP BY customer_id "
                "WITH NO DATA"
            )
        site, _recorder = site_as(restricted(url, {"*": {"SELECT", "INSERT", "UPDATE", "DELETE"}}))
        for name in ("order_totals", "empty_totals"):
            info = site.state.views[name].info
            assert info.kind == "materialized view"
            listing = _text(site.get(site.url(name)))
            assert "This is a materialized view: it is served read-only" in listing
            assert f'href="{site.url(name, "new")}' not in listing
            assert site.get(site.url(name, "new")).status_code == 403
        populated = site.get(site.url("order_totals"))
        assert populated.status_code == 200
        assert len(re.findall(r'<td class="col-customer_id', _text(populated))) == len(
            {r[1] for r in rows(url, "orders")}
        )
        empty = site.get(site.url("empty_totals"))
        assert empty.status_code == 200
        assert "has not been populated yet" in _text(empty) and "REFRESH MATERIALIZED VIEW" in _text(empty)
        # The home page lists materialized views with the views, not among the tables.
        home = _text(site.get("/admin/"))
        views_group = home.split('data-group="views"', 1)[1].split("</details>", 1)[0]
        assert "order_totals" in views_group and "empty_totals" in views_group
        with engine.begin() as connection:
            connection.exec_driver_sql("REFRESH MATERIALIZED VIEW empty_totals")
        engine.dispose()
        refreshed = _text(site.get(site.url("empty_totals") + "?refresh=1"))
        assert "has not been populated" not in refreshed and '<td class="col-customer_id' in refreshed
        inspect = CliRunner().invoke(main, ["inspect", url])
        assert re.search(r"materialized view\s+'empty_totals'.*read-only", inspect.output), inspect.output
        assert "Not populated yet" not in inspect.output  # refreshed above
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE MATERIALIZED VIEW later AS SELECT 1 AS one WITH NO DATA")
        engine.dispose()
        inspect = CliRunner().invoke(main, ["inspect", url])
        later = inspect.output.split("'later'", 1)[1].split("'order_totals'", 1)[0]
        assert "Not populated yet: it has no rows until its owner runs REFRESH MATERIALIZED VIEW." in later


# -- charts -----------------------------------------------------------------------------------

CHART_PLUGIN = """
from dashboard.charts import Chart
from dashboard.hookspecs import hookimpl

@hookimpl
def register_charts(app):
    return [Chart(name="t.customers", title="Customers by country", table="customers", group_by="country", home=True),
            Chart(name="t.orders", title="Orders by status", table="orders", group_by="status", home=True)]
"""


def test_a_chart_of_an_unreadable_table_says_so_and_never_queries_it(restricted: t.Any, tmp_path: t.Any) -> None:
    require_database("postgresql")
    with make_database("postgresql") as url:
        write_demo_database(url, rows=30)
        site = plugin_site(restricted(url, FEW_TABLES), tmp_path, {"privilege_charts": CHART_PLUGIN})
        recorder = Recorder(site.state.engine)
        try:
            home = site.text("/admin/")
            assert error_panels(home) == [
                "This chart could not be shown: its table is not readable by this database user."
            ]
            assert 'data-chart-name="t.orders"' in home
            # The built-in "per month" charts leave out customers (created_at) too.
            assert "customers per month" not in home and "orders per month" in home
            assert recorder.touching(["customers"]) == []
        finally:
            site.state.engine.dispose()
