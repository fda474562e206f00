"""Building dashboard apps for tests, with operators who log in like a browser would.

``make_app`` builds an app on a target database with its own instance folder (so its own
state database); ``add_user`` creates an operator there; ``login`` posts the login form with
its CSRF token; ``csrf_token`` reads the token a page's forms carry. ``make_small_database``
writes a little SQLite target with a key and a foreign key.
"""

from __future__ import annotations

import functools
import html
import re
import shutil
import tempfile
import typing as t
from pathlib import Path

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from dashboard import statedb as state
from dashboard.app import create_app
from dashboard.security import auth

#: Long enough for the password rule; used when a test does not care which password.
PASSWORD = "correct horse battery"
#: The suite's ``PASSWORD_HASH_METHOD``: one PBKDF2 round instead of scrypt's ~70 ms, paid
#: twice per logged-in client (hashing the password, checking it at login).
#: tests/test_auth.py keeps the real scrypt where hashing itself is tested.
FAST_HASH_METHOD = "pbkdf2:sha256:1"

_INPUT = re.compile(r"<input\b[^>]*>", re.IGNORECASE)
_NAME_CSRF = re.compile(r'\bname="csrf_token"')
_VALUE = re.compile(r'\bvalue="([^"]*)"')


def make_app(database_url: str, instance_path: str | Path, **settings: t.Any) -> Flask:
    """A dashboard app on ``database_url`` keeping its own files in ``instance_path``.

    :param settings: further settings (``TABLES=...``, ``HTTPS=True``...); they win over all,
        ``PASSWORD_HASH_METHOD`` (default :data:`FAST_HASH_METHOD`) and ``AUDIT_LOGINS`` (default off) included.
    """
    config = {
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(instance_path),
        "PASSWORD_HASH_METHOD": FAST_HASH_METHOD,
        # Tests count the audit entries their writes make; tests/test_sso_users.py turns this on.
        "AUDIT_LOGINS": False,
        **settings,
    }
    if not config.get("STATE_DATABASE_URL"):
        _start_with_empty_state(Path(instance_path))
    app = create_app(config)
    app.testing = True
    return app


@functools.cache
def _empty_state_file() -> Path:
    """A state database with every table and no row, made once per test process."""
    folder = Path(tempfile.mkdtemp(prefix="dashboard-state-template-"))
    store = state.make_state_store(state.state_database_url({}, folder))
    store.engine.dispose()  # closed: its write-ahead log is checkpointed into the file
    return folder / "state.db"


def _start_with_empty_state(instance_path: Path) -> None:
    """Copy an empty state database into a new instance folder.

    Creating its tables costs a test app about 15 ms of CPU (the DDL of every table and
    index compiled and run), and a run builds a few thousand apps; ``create_tables`` then
    finds them all and adds nothing. Tests of creating and upgrading the state database
    itself (tests/test_instance.py) pass their own ``STATE_DATABASE_URL`` or build no app.
    """
    target = instance_path / "state.db"
    if not target.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(_empty_state_file(), target)


def add_user(app: Flask, username: str, role: str, password: str = PASSWORD) -> state.UserRecord:
    """Create operator ``username`` with ``role`` in ``app``'s state database, hashed as the app would."""
    hashed = auth.hash_password(password, app.config["PASSWORD_HASH_METHOD"])
    return state.get_store(app).add_user(username, hashed, role)


def csrf_token(client: FlaskClient, url: str = "/admin/") -> str:
    """The CSRF token carried by the forms of the page at ``url`` (fails when there is none)."""
    response = client.get(url)
    page = response.get_data(as_text=True)
    for tag in _INPUT.findall(page):
        if _NAME_CSRF.search(tag):
            value = _VALUE.search(tag)
            if value:
                return html.unescape(value.group(1))
    raise AssertionError(f"no CSRF token on {url} (status {response.status_code})")


def login(
    client: FlaskClient, username: str, password: str = PASSWORD, *, next_url: str | None = None, **kwargs: t.Any
) -> t.Any:
    """Post the login form as a browser would; returns the response (a redirect on success).

    :param kwargs: passed to ``client.post`` (``environ_base=...`` for another address).
    """
    token = csrf_token(client, "/login")
    query = {"next": next_url} if next_url is not None else None
    return client.post(
        "/login", query_string=query, data={"username": username, "password": password, "csrf_token": token}, **kwargs
    )


def logged_in(app: Flask, role: str = "admin", username: str | None = None, password: str = PASSWORD) -> FlaskClient:
    """A test client of ``app`` logged in as a new user with ``role``."""
    username = username or f"{role}-user"
    add_user(app, username, role, password)
    client = app.test_client()
    response = login(client, username, password)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def make_small_database(path: str | Path) -> str:
    """Write an SQLite target at ``path`` and return its URL.

    ``parent`` (id key, name), ``child`` (id key, parent_id -> parent.id, note) and
    ``payments`` (id key, amount), with two parents, one child and one payment.
    """
    url = f"sqlite:///{path}"
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
            connection.exec_driver_sql(
                "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id), note TEXT)"
            )
            connection.exec_driver_sql("CREATE TABLE payments (id INTEGER PRIMARY KEY, amount INTEGER NOT NULL)")
            connection.exec_driver_sql("INSERT INTO parent (id, name) VALUES (1, 'first'), (2, 'second')")
            connection.exec_driver_sql("INSERT INTO child (id, parent_id, note) VALUES (1, 1, 'a note')")
            connection.exec_driver_sql("INSERT INTO payments (id, amount) VALUES (1, 100)")
    finally:
        engine.dispose()
    return url


def table_rows(database_url: str, table: str) -> list[tuple[t.Any, ...]]:
    """Every row of ``table``, ordered by its first column, read outside the dashboard."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            relation = sa.Table(table, sa.MetaData(), autoload_with=connection)
            statement = sa.select(relation).order_by(next(iter(relation.c)))
            return [tuple(row) for row in connection.execute(statement)]
    finally:
        engine.dispose()
