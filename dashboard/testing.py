"""Testing a plugin with pytest: a dashboard built around your plugins folder, with operators
who log in and post forms as a browser would.

Load it in your tests' ``conftest.py`` (it is not loaded into every pytest run)::

    pytest_plugins = ["dashboard.testing"]

and ask for the :func:`dashboard_site` fixture::

    PLUGIN = Path(__file__).resolve().parent.parent     # the plugin's package folder

    def test_the_page_greets(dashboard_site):
        site = dashboard_site(plugin=PLUGIN, settings={"PLUGINS": {"hello": {"greeting": "Hi"}}})
        editor = site.client("editor")                  # also "admin", "viewer"
        assert "Hi" in editor.text(site.page_url("hello"))
        response = editor.post(site.page_url("hello"), {"note": "x"})   # with the form's CSRF token
        assert response.status_code == 302

Each site has a database of its own: a fresh copy of the demo shop (customers, orders,
products...) unless you pass ``database_url`` (any SQLAlchemy URL, e.g. a PostgreSQL
database of your tests) or ``sql`` (a script that fills a fresh SQLite database). Its
users, sessions and audit log live in a temporary instance folder. Outside the fixture,
:func:`build_site` does the same for a folder you choose (a module-scoped fixture of yours).
"""

from __future__ import annotations

import html
import re
import shutil
import sqlite3
import typing as t
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from dashboard import statedb
from dashboard.app import create_app
from dashboard.db.demo import write_demo_database
from dashboard.plugins.loader import registry
from dashboard.security import auth
from dashboard.site_state import current_site
from dashboard.urls import own_url

__all__ = ["DashboardClient", "DashboardSite", "build_site", "dashboard_site"]

#: The password of every operator :meth:`DashboardSite.client` creates.
PASSWORD = "a long test password"  # nosec B105 -- for throw-away test users only
#: One PBKDF2 round: logging a test operator in costs nothing. Never a site's real setting.
FAST_HASH_METHOD = "pbkdf2:sha256:1"
#: Orders in the demo shop a site gets by default (customers, products... in proportion).
DEMO_ROWS = 50

_CSRF_INPUT = re.compile(r"<input\b[^>]*\bname=\"csrf_token\"[^>]*>", re.IGNORECASE)
_VALUE = re.compile(r'\bvalue="([^"]*)"')
_FLASH = re.compile(r'class="alert alert-[a-z]+[^"]*"[^>]*>(.*?)</div>', re.S)


class DashboardClient:
    """One logged-in operator: Flask's test client plus the CSRF token forms carry.

    ``get``, ``post`` and the rest return Werkzeug's test responses (``.status_code``,
    ``.text``, ``.headers``). :attr:`flask_client` is the plain Flask test client.
    """

    def __init__(self, flask_client: FlaskClient, role: str, username: str, site: DashboardSite | None = None) -> None:
        self.flask_client = flask_client
        self.role = role
        self.username = username
        self.site = site

    def get(self, url: str, **kwargs: t.Any) -> TestResponse:
        """GET ``url`` (``follow_redirects=True``, ``query_string={...}`` as Flask's client takes them)."""
        return self.flask_client.get(url, **kwargs)

    def text(self, url: str) -> str:
        """The page at ``url`` as text; fails the test unless it answers 200."""
        response = self.get(url)
        # A pytest helper (pytest_plugins rewrites its asserts): a failed assert is the test's failure.
        status = response.status_code
        problems = "".join(f"\n  {problem}" for problem in self.site.problems()) if self.site else ""
        assert status == 200, f"GET {url} answered {status}{problems}"  # nosec B101 -- a pytest helper's check
        return response.get_data(as_text=True)

    def csrf_token(self, url: str = "/admin/") -> str:
        """The CSRF token the forms of the page at ``url`` carry (fails when it has none)."""
        page = self.get(url).get_data(as_text=True)
        for tag in _CSRF_INPUT.findall(page):
            value = _VALUE.search(tag)
            if value:
                return html.unescape(value.group(1))
        raise AssertionError(f"no form with a CSRF token on {url}")

    def post(
        self, url: str, data: t.Mapping[str, t.Any] | None = None, *, token_from: str | None = None, **kwargs: t.Any
    ) -> TestResponse:
        """POST form ``data`` to ``url`` as the browser would, with the CSRF token.

        :param token_from: the page whose form posts here (default: ``url`` itself); its
            token is read from it, as a browser sends the one of the page it shows.
        :param kwargs: passed to Flask's client (``follow_redirects=True``...).
        """
        payload = dict(data or {})
        payload.setdefault("csrf_token", self.csrf_token(token_from or url))
        return self.flask_client.post(url, data=payload, **kwargs)

    def messages(self, page: str | TestResponse) -> list[str]:
        """The flashed messages (and alerts) shown on ``page``, as text."""
        text = page if isinstance(page, str) else page.get_data(as_text=True)
        return [html.unescape(re.sub(r"<[^>]+>|&times;", "", found)).strip() for found in _FLASH.findall(text)]


class DashboardSite:
    """A dashboard app on a database of its own, for tests.

    :attr:`app` is the Flask app and :attr:`database_url` the database it serves.
    """

    def __init__(self, app: Flask, database_url: str) -> None:
        self.app = app
        self.database_url = database_url
        self._users = 0

    def client(self, role: str = "admin", username: str | None = None) -> DashboardClient:
        """A new operator with ``role`` (``admin``, ``editor`` or ``viewer``), logged in.

        :param username: their user name (default: ``<role>-<n>``).
        """
        self._users += 1
        username = username or f"{role}-{self._users}"
        hashed = auth.hash_password(PASSWORD, self.app.config["PASSWORD_HASH_METHOD"])
        statedb.get_store(self.app).add_user(username, hashed, role)
        client = DashboardClient(self.app.test_client(), role, username, self)
        response = client.post("/login", {"username": username, "password": PASSWORD})
        status = response.status_code
        assert status == 302, f"{username} could not log in: {status}"  # nosec B101 -- a pytest helper's check
        return client

    def anonymous(self) -> DashboardClient:
        """A client that has not logged in (every page sends it to the login page)."""
        return DashboardClient(self.app.test_client(), "", "", self)

    def problems(self) -> list[str]:
        """What went wrong in plugins so far, as ``dashboard plugins`` lists it: ``"plugin · part:
        message"`` (an import, a hook, a chart, a page that raised...); empty when nothing did."""
        return [f"{problem.plugin} · {problem.part}: {problem.message}" for problem in registry(self.app).problems]

    def page_url(self, slug: str) -> str:
        """The path of a plugin page: ``/admin/-/pages/<slug>/``."""
        return own_url(f"pages/{slug}/")

    def table_rows(self, table: str) -> list[dict[str, t.Any]]:
        """Every row of ``table`` as the database holds it now, read outside the dashboard, by
        its first column."""
        engine = sa.create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                relation = sa.Table(table, sa.MetaData(), autoload_with=connection)
                statement = sa.select(relation).order_by(*relation.primary_key.columns or [next(iter(relation.c))])
                return [dict(row._mapping) for row in connection.execute(statement)]
        finally:
            engine.dispose()

    def close(self) -> None:
        """Close the app's database connections (before the database itself is dropped)."""
        current_site(self.app).engine.dispose()


def build_site(
    folder: str | Path,
    *,
    plugin: str | Path | None = None,
    plugins: str | Path | None = None,
    database_url: str | None = None,
    sql: str | None = None,
    settings: t.Mapping[str, t.Any] | None = None,
    config_file: str | Path | None = None,
) -> DashboardSite:
    """Build a dashboard for a test, its files in ``folder``.

    :param folder: an empty folder of the test's (``tmp_path``): the instance folder
        (users, audit log) and the default database go there.
    :param plugin: one plugin package (its folder, holding ``__init__.py``): the site loads it
        and no other of the folder it sits in (it is linked into a plugins folder of its own).
    :param plugins: a plugins folder (the folder *holding* plugin packages): the site loads
        every package in it. With neither, only the built-in and installed plugins load.
    :param database_url: the database to serve; none: a fresh demo shop in SQLite
        (``customers``, ``orders``, ``order_lines``, ``products``...), or ``sql``'s database.
    :param sql: a script of statements that fills a fresh SQLite database to serve instead.
    :param settings: settings by name (``{"READ_ONLY": True, "PLUGINS": {"hello": {...}}}``);
        they win over ``config_file`` and the environment.
    :param config_file: a TOML settings file, read as ``dashboard serve --config`` reads it.
    """
    base = Path(folder)
    base.mkdir(parents=True, exist_ok=True)
    if database_url is None:
        database_url = _fresh_database(base, sql)
    elif sql is not None:
        raise ValueError("give database_url or sql, not both")
    if plugin is not None and plugins is not None:
        raise ValueError("give plugin or plugins, not both")
    if plugins is None:
        plugins = base / "plugins"
        plugins.mkdir(exist_ok=True)
        if plugin is not None:
            _link_package(Path(plugin).resolve(), plugins)
    config = {
        "DATABASE_URL": database_url,
        "INSTANCE_PATH": str(base / "instance"),
        "PLUGINS_DIR": str(Path(plugins).resolve()),
        "PASSWORD_HASH_METHOD": FAST_HASH_METHOD,
        # Logins are not what a plugin's test counts in the audit log.
        "AUDIT_LOGINS": False,
        **(settings or {}),
    }
    app = create_app(config, config_file=str(config_file) if config_file else None)
    app.testing = True
    # A plugin's error fails the test with its traceback instead of a 500 page to read.
    app.config["PROPAGATE_EXCEPTIONS"] = True
    return DashboardSite(app, database_url)


def _link_package(package: Path, folder: Path) -> None:
    if not (package / "__init__.py").is_file():
        raise ValueError(f"{package} is not a plugin package (no __init__.py)")
    try:
        (folder / package.name).symlink_to(package, target_is_directory=True)
    except OSError:  # no symbolic links for this user (Windows without developer mode)
        shutil.copytree(package, folder / package.name)


def _fresh_database(folder: Path, sql: str | None) -> str:
    path = folder / "database.db"
    if path.exists():
        raise ValueError(f"{folder} already holds a database: give each site a folder of its own")
    if sql is None:
        write_demo_database(f"sqlite:///{path}", rows=DEMO_ROWS)
    else:
        connection = sqlite3.connect(path)
        try:
            connection.executescript(sql)
        finally:
            connection.close()
    return f"sqlite:///{path}"


@pytest.fixture
def dashboard_site(tmp_path: Path) -> Iterator[Callable[..., DashboardSite]]:
    """Factory fixture: ``dashboard_site(plugin=..., plugins=..., database_url=..., sql=...,
    settings=..., config_file=...)`` builds a :class:`DashboardSite` (see :func:`build_site`) in the test's
    temporary folder; call it more than once for several sites. Their connections are closed
    after the test."""
    built: list[DashboardSite] = []

    def make(**options: t.Any) -> DashboardSite:
        site = build_site(tmp_path / f"site-{len(built) + 1}", **options)
        built.append(site)
        return site

    yield make
    for site in built:
        site.close()
