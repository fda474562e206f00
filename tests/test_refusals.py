"""Writes and reads the database refuses, told for what they are (dashboard/db/errors.py).

A refused privilege says which one ("The database user may not update parent"), never
blames a foreign key or "the types and lengths"; a row-level security policy, a
trigger's table, a serial column's sequence, an unpopulated materialized view and a value
out of range each get their own words; the audit log records the failed write with its
kind. The capability probe at start hides writes the user may not make; these tests take
the privilege away after the start (as a DBA would while the dashboard serves), so the
database itself refuses and the server must still answer cleanly: posts go straight to the
write routes. SQLite has no users: its connection turns read-only (``PRAGMA query_only``).
"""

from __future__ import annotations

import contextlib
import typing as t
from dataclasses import dataclass
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from dashboard import statedb
from tests.roles import restricted_url
from tests.site import Site, form_values, make_site, rows

metadata = sa.MetaData()
parent = sa.Table(
    "parent",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(50), nullable=False),
    sa.Column("price", sa.Numeric(5, 2)),
)
child = sa.Table(
    "child",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("parent_id", sa.ForeignKey("parent.id", name="child_parent_fk"), nullable=False),
)
ALL = {"SELECT", "INSERT", "UPDATE", "DELETE"}


@dataclass
class Refusing:
    """A dashboard connected as a user who held every privilege at start, and the admin URL
    to take them away."""

    site: Site
    admin_url: str
    url: str
    dialect: str

    def revoke(self, privilege: str, table: str = "parent") -> None:
        """Take ``privilege`` on ``table`` away from the dashboard's database user, now."""
        if self.dialect == "sqlite":
            # No users: the dashboard's connections turn read-only instead.
            engine = self.site.state.engine
            sa.event.listen(engine, "connect", lambda connection, _record: connection.execute("PRAGMA query_only=ON"))
            engine.dispose()
            return
        user = make_url(self.url).username
        if self.dialect == "postgresql":
            self.admin(f'REVOKE {privilege} ON TABLE "{table}" FROM "{user}"')
        else:
            database = make_url(self.url).database
            for host in ("%", "localhost"):
                self.admin(
                    sa.text(f"REVOKE {privilege} ON `{database}`.`{table}` FROM :user@:host"),
                    {"user": user, "host": host},
                )

    def admin(self, statement: t.Any, parameters: dict[str, t.Any] | None = None) -> None:
        engine = sa.create_engine(self.admin_url)
        try:
            with engine.begin() as connection:
                if isinstance(statement, str):
                    connection.exec_driver_sql(statement)
                else:
                    connection.execute(statement, parameters or {})
        finally:
            engine.dispose()

    def refusal(self, privilege: str) -> str:
        """The message of a refused ``privilege`` on parent on this dialect."""
        if self.dialect == "sqlite":
            return (
                "Nothing was deleted: the database connection is read-only."
                if privilege == "DELETE"
                else "Not saved: the database connection is read-only."
            )
        return {
            "INSERT": "The database user may not insert into parent. Nothing was saved.",
            "UPDATE": "The database user may not update parent. Nothing was saved.",
            "DELETE": "The database user may not delete from parent. Nothing was deleted.",
        }[privilege]


@pytest.fixture
def refusing(empty_database_url: str, dialect: str, tmp_path: t.Any) -> t.Iterator[Refusing]:
    engine = sa.create_engine(empty_database_url)
    try:
        metadata.create_all(engine)
        with engine.begin() as connection:
            connection.execute(parent.insert(), [{"name": "referenced"}, {"name": "free"}])
            connection.execute(child.insert(), [{"parent_id": 1}])
    finally:
        engine.dispose()
    grants = {"parent": ALL, "child": ALL}
    restricted = (
        contextlib.nullcontext(empty_database_url)
        if dialect == "sqlite"
        else restricted_url(empty_database_url, grants)
    )
    with restricted as url:
        site = make_site(url, tmp_path)
        try:
            yield Refusing(site, empty_database_url, url, dialect)
        finally:
            site.state.engine.dispose()


def _failed_entries(site: Site) -> list[dict[str, t.Any]]:
    return [e for e in statedb.get_store(site.app).audit_entries({}, limit=100) if e["outcome"] == "failed"]


def _assert_not_misblamed(page: str) -> None:
    assert "types and lengths" not in page
    assert "foreign key" not in page and "referred to" not in page


def test_a_refused_update_names_the_privilege(refusing):
    site = refusing.site
    edit_url = site.url("parent", "edit", "2")
    values = site.form_values(edit_url)
    refusing.revoke("UPDATE")
    response = site.post(edit_url, {**values, "name": "renamed"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert any(refusing.refusal("UPDATE") in f for f in site.flashes(page)), site.flashes(page)
    _assert_not_misblamed(page)
    assert form_values(page)["name"] == "renamed"  # what was typed comes back
    assert [row[1] for row in rows(refusing.admin_url, "parent", "id")] == ["referenced", "free"]
    [entry] = _failed_entries(site)
    assert (entry["action"], entry["row_key"]) == ("edit", "2")
    assert entry["message"].startswith("[permission] ") and refusing.refusal("UPDATE") in entry["message"]
    assert entry["changes"]["name"] == {"old": "free", "new": "renamed"}


def test_a_refused_delete_of_a_referenced_row_does_not_blame_the_foreign_key(refusing):
    site = refusing.site
    token_from = site.url("parent")
    refusing.revoke("DELETE")
    single = site.post(site.url("parent", "delete"), {"id": "1"}, token_from=token_from, follow=True)
    assert single.status_code == 200
    page = single.get_data(as_text=True)
    assert any(refusing.refusal("DELETE") in f for f in site.flashes(page)), site.flashes(page)
    _assert_not_misblamed(page)
    bulk = site.post(
        site.url("parent", "action"), {"action": "delete", "rowid": ["1", "2"]}, token_from=token_from, follow=True
    )
    assert bulk.status_code == 200
    page = bulk.get_data(as_text=True)
    assert any(refusing.refusal("DELETE") in f for f in site.flashes(page)), site.flashes(page)
    _assert_not_misblamed(page)
    assert [row[0] for row in rows(refusing.admin_url, "parent", "id")] == [1, 2]
    entries = _failed_entries(site)
    assert [e["action"] for e in entries] == ["bulk_delete", "delete"]
    assert all(e["message"].startswith("[permission] ") for e in entries)


def test_a_refused_insert_names_the_privilege(refusing):
    site = refusing.site
    new_url = site.url("parent", "new")
    token = site.token(new_url)
    refusing.revoke("INSERT")
    response = site.post(new_url, {"name": "third", "csrf_token": token})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert any(refusing.refusal("INSERT") in f for f in site.flashes(page)), site.flashes(page)
    _assert_not_misblamed(page)
    assert len(rows(refusing.admin_url, "parent")) == 2
    [entry] = _failed_entries(site)
    assert (entry["action"], entry["message"].split("] ")[0]) == ("create", "[permission")


def test_the_audit_log_names_the_kind_of_a_failed_write(refusing):
    site = refusing.site
    edit_url = site.url("parent", "edit", "2")
    values = site.form_values(edit_url)
    refusing.revoke("UPDATE")
    site.post(edit_url, {**values, "name": "renamed"})
    page = site.text("/admin/-/audit/")
    assert f"permission: {refusing.refusal('UPDATE')}" in page


@pytest.mark.parametrize("dialect", ["postgresql"], indirect=True)
def test_a_row_level_security_policy_is_named(refusing, dialect):
    site = refusing.site
    edit_url = site.url("parent", "edit", "2")
    values = site.form_values(edit_url)
    refusing.admin("ALTER TABLE parent ENABLE ROW LEVEL SECURITY")
    refusing.admin("CREATE POLICY short_names ON parent USING (true) WITH CHECK (length(name) < 10)")
    page = site.post(edit_url, {**values, "name": "a name far too long"}).get_data(as_text=True)
    assert any(
        "A row-level security policy of the database refused this change to parent. Nothing was saved." in f
        for f in site.flashes(page)
    ), site.flashes(page)
    _assert_not_misblamed(page)
    assert [row[1] for row in rows(refusing.admin_url, "parent", "id")] == ["referenced", "free"]


@pytest.mark.parametrize("dialect", ["postgresql"], indirect=True)
def test_a_trigger_writing_where_the_user_may_not_names_that_table(refusing, dialect):
    site = refusing.site
    edit_url = site.url("parent", "edit", "2")
    values = site.form_values(edit_url)
    refusing.admin("CREATE TABLE changes (parent_id integer)")
    refusing.admin(
        "CREATE FUNCTION note_change() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN INSERT INTO changes VALUES (NEW.id); RETURN NEW; END $$"
    )
    refusing.admin("CREATE TRIGGER noted AFTER UPDATE ON parent FOR EACH ROW EXECUTE FUNCTION note_change()")
    page = site.post(edit_url, {**values, "name": "renamed"}).get_data(as_text=True)
    assert any(
        "The database user lacks a privilege on changes that this change to parent needs. Nothing was saved." in f
        for f in site.flashes(page)
    ), site.flashes(page)
    assert [row[1] for row in rows(refusing.admin_url, "parent", "id")] == ["referenced", "free"]


@pytest.mark.parametrize("dialect", ["postgresql"], indirect=True)
def test_a_sequence_the_user_may_not_use_is_named(refusing, dialect):
    site = refusing.site
    new_url = site.url("parent", "new")
    token = site.token(new_url)
    refusing.revoke("USAGE", "parent_id_seq")
    page = site.post(new_url, {"name": "third", "csrf_token": token}).get_data(as_text=True)
    assert any(
        "The database user may not use the sequence parent_id_seq, which numbers new rows of parent." in f
        for f in site.flashes(page)
    ), site.flashes(page)
    assert len(rows(refusing.admin_url, "parent")) == 2


# SQLite has no privilege to read.
@pytest.mark.parametrize("dialect", ["postgresql", "mariadb"], indirect=True)
def test_a_read_the_database_refuses_is_a_message_on_the_page(refusing, dialect):
    site = refusing.site
    refusing.revoke("SELECT")
    listing = site.get(site.url("parent") + "?refresh=1")
    assert listing.status_code == 200
    assert "The database user may not read parent." in site.flashes(listing.get_data(as_text=True))
    export = site.client.get(site.url("parent") + "export/csv/", follow_redirects=True)
    assert export.status_code == 200 and export.mimetype == "text/html"
    assert "The database user may not read parent." in site.flashes(export.get_data(as_text=True))


@pytest.mark.parametrize("dialect", ["postgresql"], indirect=True)
def test_a_materialized_view_emptied_after_the_start_says_it_is_not_populated(empty_database_url, dialect, tmp_path):
    engine = sa.create_engine(empty_database_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE MATERIALIZED VIEW totals AS SELECT 1 AS id, 42 AS total")
    site = make_site(empty_database_url, tmp_path)
    try:
        assert "42" in site.text(site.url("totals"))
        with engine.begin() as connection:
            connection.exec_driver_sql("REFRESH MATERIALIZED VIEW totals WITH NO DATA")
        response = site.get(site.url("totals") + "?refresh=1")
        assert response.status_code == 200
        assert any(
            "totals is a materialized view that has not been populated yet" in f
            for f in site.flashes(response.get_data(as_text=True))
        )
    finally:
        site.state.engine.dispose()
        engine.dispose()


@pytest.mark.parametrize("dialect", ["postgresql", "mariadb"], indirect=True)
def test_a_value_out_of_the_column_range_is_named(refusing, dialect):
    site = refusing.site
    edit_url = site.url("parent", "edit", "2")
    page = site.post(edit_url, {**site.form_values(edit_url), "price": "12345.67"}).get_data(as_text=True)
    flashes = site.flashes(page)
    assert any("is too long or out of range for its column" in f for f in flashes), flashes
    _assert_not_misblamed(page)
    [entry] = _failed_entries(site)
    assert entry["message"].startswith("[out_of_range] ")


# SQLite has no privilege to read.
@pytest.mark.parametrize("dialect", ["postgresql", "mariadb"], indirect=True)
def test_a_referenced_table_no_longer_readable_leaves_the_referring_pages_working(refusing, dialect):
    site = refusing.site
    refusing.revoke("SELECT")
    for url in (site.url("child") + "?refresh=1", site.url("child", "details", "1"), site.url("child", "edit", "1")):
        response = site.get(url)
        assert response.status_code == 200, url
        assert "1" in response.get_data(as_text=True)
    lookup = site.get(site.url("child") + "ajax/lookup/?name=parent_id&query=")
    assert (lookup.status_code, lookup.get_json()) == (200, [])


@pytest.mark.parametrize("dialect", ["postgresql", "mariadb"], indirect=True)
def test_an_update_of_a_column_outside_a_column_grant_is_refused_by_name(refusing, dialect):
    site = refusing.site
    edit_url = site.url("parent", "edit", "2")
    values = site.form_values(edit_url)
    refusing.revoke("UPDATE")
    user = make_url(refusing.url).username
    if dialect == "postgresql":
        refusing.admin(f'GRANT UPDATE (price) ON TABLE parent TO "{user}"')
    else:
        for host in ("%", "localhost"):
            refusing.admin(
                sa.text(f"GRANT UPDATE (price) ON `{make_url(refusing.url).database}`.parent TO :user@:host"),
                {"user": user, "host": host},
            )
    page = site.post(edit_url, {**values, "name": "renamed"}).get_data(as_text=True)
    # MariaDB names the column; PostgreSQL names the table only.
    expected = (
        "The database user may not update column name of parent. Nothing was saved."
        if dialect == "mariadb"
        else "The database user may not update parent. Nothing was saved."
    )
    assert any(expected in f for f in site.flashes(page)), site.flashes(page)
    _assert_not_misblamed(page)
    # The column the grant covers still saves.
    assert site.post(edit_url, {**site.form_values(edit_url), "price": "9.50"}).status_code == 302
    assert rows(refusing.admin_url, "parent", "id")[1][1:] == ("free", Decimal("9.50"))
