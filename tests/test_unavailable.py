"""A database lost during a request: a 503 "nothing was saved" page, never a 500.

Connections are really cut: ``pg_terminate_backend`` on PostgreSQL, ``KILL`` on MariaDB,
the driver connection closed under SQLAlchemy on SQLite; between requests, and from a
``before_cursor_execute`` listener in the middle of a save. A server that is down is
played by redirecting new connections to a closed port (a missing file on SQLite), so the
driver raises its real "connection refused".

Test names carry the number of the case they cover in shared/SECURITY-CHECKLIST.md (35).
"""

from __future__ import annotations

import contextlib
import time
import typing as t
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from dashboard import clock, statedb
from dashboard.db import mysql_tls
from tests.databases import connect_sharing_tls
from tests.site import Site, make_site, rows

NOT_SAVED = "Nothing was saved; try again."


@pytest.fixture
def site(demo_site: Site) -> Site:
    return demo_site


def _admin_engine(url: str) -> sa.Engine:
    """An engine on the same server, outside the app's pool (another database on servers)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        parsed = parsed.set(database="postgres" if parsed.get_backend_name() == "postgresql" else "mysql")
    return sa.create_engine(parsed, poolclass=NullPool, isolation_level="AUTOCOMMIT")


def _server_sessions(admin: sa.Connection, database: str) -> list[int]:
    if admin.dialect.name == "postgresql":
        statement = sa.text("SELECT pid FROM pg_stat_activity WHERE datname = :db AND pid <> pg_backend_pid()")
    else:
        statement = sa.text(
            "SELECT id FROM information_schema.processlist "
            "WHERE db = :db AND id <> CONNECTION_ID() AND command <> 'Killed'"
        )
    return [int(pid) for pid in admin.execute(statement, {"db": database}).scalars()]


def _kill(admin: sa.Connection, session_id: int) -> None:
    """End one server session the way an operator or a restart would, and wait until it is gone."""
    if admin.dialect.name == "postgresql":
        admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": session_id})
        gone = sa.text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")
    else:
        admin.exec_driver_sql(f"KILL {int(session_id)}")
        gone = sa.text("SELECT count(*) FROM information_schema.processlist WHERE id = :pid")
    deadline = time.monotonic() + 10
    while admin.execute(gone, {"pid": session_id}).scalar_one() and time.monotonic() < deadline:
        time.sleep(0.05)


def _kill_every_session(url: str) -> int:
    """Kill every connection the app holds to its database; how many there were."""
    database = make_url(url).database
    assert database is not None
    admin = _admin_engine(url)
    try:
        with admin.connect() as connection:
            sessions = _server_sessions(connection, database)
            for session_id in sessions:
                _kill(connection, session_id)
            return len(sessions)
    finally:
        admin.dispose()


@contextlib.contextmanager
def killed_at(site: Site, url: str, prefix: str, occurrence: int = 1) -> Iterator[list[str]]:
    """Cut the app's connection just before its ``occurrence``-th statement starting with ``prefix``.

    Yields the statements that were cut (one, once it happened).
    """
    engine = site.state.engine
    seen: list[str] = []
    cut: list[str] = []
    admin = _admin_engine(url)

    def cut_connection(conn: t.Any, _cursor: t.Any, statement: str, *_args: t.Any) -> None:
        if not statement.lstrip().upper().startswith(prefix) or cut:
            return
        seen.append(statement)
        if len(seen) < occurrence:
            return
        cut.append(statement)
        driver_connection = conn.connection.dbapi_connection
        if engine.dialect.name == "sqlite":
            # SQLite has no server: closing the driver connection is what losing it looks like.
            driver_connection.close()
            return
        session_id = (
            driver_connection.info.backend_pid if engine.dialect.name == "postgresql" else driver_connection.thread_id()
        )
        with admin.connect() as connection:
            _kill(connection, session_id)

    sa.event.listen(engine, "before_cursor_execute", cut_connection)
    try:
        yield cut
    finally:
        sa.event.remove(engine, "before_cursor_execute", cut_connection)
        admin.dispose()


@contextlib.contextmanager
def server_down(site: Site) -> Iterator[None]:
    """Every new connection of the app fails as it would with the server down."""
    engine = site.state.engine

    def refuse(_dialect: t.Any, _record: t.Any, cargs: list[t.Any], cparams: dict[str, t.Any]) -> None:
        if engine.dialect.name == "sqlite":
            cargs[0] = "/nonexistent-dashboard-test/gone.db"
        else:
            cparams["host"], cparams["port"] = "127.0.0.1", 9  # the discard port: nothing listens

    # Before the handlers that open MariaDB connections (dashboard.db.mysql_tls): the app's,
    # listened for again after this one, and the one every test engine has, which would
    # come first of all (``insert=True`` does not put a handler before those).
    sa.event.remove(sa.Engine, "do_connect", connect_sharing_tls)
    sharing = sa.event.contains(engine, "do_connect", mysql_tls.connect)
    if sharing:
        sa.event.remove(engine, "do_connect", mysql_tls.connect)
    sa.event.listen(engine, "do_connect", refuse)
    if sharing:
        sa.event.listen(engine, "do_connect", mysql_tls.connect)
    engine.dispose()  # the pooled connections would outlive a real outage only as dead ones
    try:
        yield
    finally:
        sa.event.remove(engine, "do_connect", refuse)
        sa.event.listen(sa.Engine, "do_connect", connect_sharing_tls)


def _customer_name(url: str, customer_id: int) -> str:
    return {row[0]: row[1] for row in rows(url, "customers")}[customer_id]


def _unreferenced_customers(url: str) -> list[int]:
    referenced = {row[1] for row in rows(url, "orders")}
    return sorted(row[0] for row in rows(url, "customers") if row[0] not in referenced)


def _audit(site: Site) -> list[dict[str, t.Any]]:
    return statedb.get_store(site.app).audit_entries({})


def _assert_unavailable_page(response: t.Any) -> None:
    assert response.status_code == 503, response.status_code
    page = response.get_data(as_text=True)
    assert "The database is not reachable." in page and NOT_SAVED in page
    assert "dashboard-unavailable" in page  # drawn in the site's frame, menu and all
    assert response.headers["Retry-After"]
    assert "Traceback" not in page and "SELECT" not in page and "UPDATE" not in page


# -- between requests ------------------------------------------------------------------------


@pytest.mark.parametrize("dialect", ["postgresql", "mariadb"], indirect=True)
def test_35_connections_killed_between_requests_are_replaced(site, demo_url):
    assert site.get(site.url("customers")).status_code == 200
    assert _kill_every_session(demo_url) >= 1
    # pool_pre_ping finds the dead connections and opens new ones: no error at all.
    assert site.get(site.url("customers")).status_code == 200
    edit_url = site.url("customers", "edit", "1")
    values = site.form_values(edit_url)
    _kill_every_session(demo_url)
    values["name"] = "after the kill"
    assert site.post(edit_url, values).status_code == 302
    assert _customer_name(demo_url, 1) == "after the kill"


# -- during a request --------------------------------------------------------------------------


def test_35_connection_killed_during_a_save_answers_503_and_saves_nothing(site, demo_url):
    edit_url = site.url("customers", "edit", "1")
    values = site.form_values(edit_url)
    before = rows(demo_url, "customers", "id")
    values["name"] = "never saved"
    with killed_at(site, demo_url, "UPDATE") as cut:
        response = site.post(edit_url, values)
    assert cut, "the UPDATE never ran"
    _assert_unavailable_page(response)
    assert rows(demo_url, "customers", "id") == before
    failed = _audit(site)[0]
    assert (failed["action"], failed["outcome"], failed["row_key"]) == ("edit", "failed", "1")
    assert "Nothing was saved" in failed["message"]
    assert failed["changes"]["name"]["new"] == "never saved"
    # The next requests work, and the same form saves once the connection is back.
    assert site.get(site.url("customers")).status_code == 200
    assert site.post(edit_url, values).status_code == 302
    assert _customer_name(demo_url, 1) == "never saved"
    assert _audit(site)[0]["outcome"] == "ok"


def test_35_bulk_delete_cut_after_its_first_row_deletes_none(site, demo_url):
    first, second = _unreferenced_customers(demo_url)[:2]
    before = rows(demo_url, "customers", "id")
    with killed_at(site, demo_url, "DELETE", occurrence=2) as cut:
        response = site.post(
            site.url("customers", "action"),
            {"action": "delete", "rowid": [str(first), str(second)]},
            token_from=site.url("customers"),
        )
    assert cut, "the second DELETE never ran"
    _assert_unavailable_page(response)
    # The first DELETE had run in the same transaction: it died with the connection.
    assert rows(demo_url, "customers", "id") == before
    assert [(e["action"], e["outcome"]) for e in _audit(site)] == [("bulk_delete", "failed")]
    assert site.get(site.url("customers")).status_code == 200


def test_35_connection_killed_during_a_read_answers_503(site, demo_url):
    site.get(site.url("customers"))
    with killed_at(site, demo_url, "SELECT") as cut:
        response = site.get(site.url("customers", "details", "1"))
    assert cut
    _assert_unavailable_page(response)
    assert 'href="/admin/customers/details/?id=1"' in response.get_data(as_text=True)  # "Try again"
    assert site.get(site.url("customers", "details", "1")).status_code == 200


def test_35_server_down_answers_503_until_it_is_back(site, demo_url):
    edit_url = site.url("customers", "edit", "1")
    values = site.form_values(edit_url)
    values["name"] = "while down"
    before = rows(demo_url, "customers", "id")
    with server_down(site):
        for url in (site.url("customers"), site.url("customers", "details", "1"), edit_url):
            _assert_unavailable_page(site.get(url))
        _assert_unavailable_page(site.client.post(edit_url, data=values))  # the form's own token
        assert site.get("/healthz").status_code == 503
        # The dashboard's own pages need only the state database.
        assert site.get("/admin/-/audit/").status_code == 200
    assert rows(demo_url, "customers", "id") == before
    assert site.get(site.url("customers")).status_code == 200
    assert site.get("/healthz").status_code == 200
    assert site.post(edit_url, values).status_code == 302
    assert _customer_name(demo_url, 1) == "while down"


def test_35_state_database_lost_answers_a_plain_503(small_database_url, tmp_path):
    """Without the state database no operator can be loaded: still a 503, on a plain page."""
    site = make_site(small_database_url, tmp_path)
    engine = statedb.get_store(site.app).engine
    assert site.get("/admin/parent/").status_code == 200
    # The operator was loaded just now: lose the state database for longer than the identity
    # recheck (dashboard.security.identity), with no pooled connection left to reuse.
    moved = time.time() + float(site.app.config["IDENTITY_RECHECK_SECONDS"]) + 1
    clock.set_clock(site.app, lambda: moved)
    engine.dispose()

    def refuse(_dialect: t.Any, _record: t.Any, cargs: list[t.Any], _cparams: t.Any) -> None:
        cargs[0] = "/nonexistent-dashboard-test/state.db"

    sa.event.listen(engine, "do_connect", refuse)
    try:
        response = site.get("/admin/parent/")
    finally:
        sa.event.remove(engine, "do_connect", refuse)
        engine.dispose()
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert NOT_SAVED in page and "dashboard-unavailable" not in page
    assert site.get("/admin/parent/").status_code == 200
    site.state.engine.dispose()


def test_35_other_database_errors_stay_server_errors(site):
    """Only a lost database is a 503: a statement the database refuses is a bug, shown as a 500."""
    site.app.config["PROPAGATE_EXCEPTIONS"] = False
    engine = site.state.engine

    def garble(_conn: t.Any, _cursor: t.Any, statement: str, parameters: t.Any, *_args: t.Any) -> t.Any:
        return ("SELEC broken" if "customers" in statement else statement), parameters

    sa.event.listen(engine, "before_cursor_execute", garble, retval=True)
    try:
        response = site.get(site.url("customers", "details", "1") + "&x=1")
        listing = site.get(site.url("customers") + "?refresh=1")
    finally:
        sa.event.remove(engine, "before_cursor_execute", garble)
    assert response.status_code == 302  # get_one: "Record does not exist", as before
    assert listing.status_code == 500
    assert site.get(site.url("customers")).status_code == 200
