"""Throw-away databases on every supported dialect, and the fixtures that hand them out.

Tests that take :func:`empty_database_url` or :func:`hostile_database_url` run once per
dialect in :data:`DIALECTS`, each time against a database made for that test alone and
dropped after it. PostgreSQL, MariaDB and Redis are found through the URLs in
``DASHBOARD_TEST_POSTGRESQL_URL``, ``DASHBOARD_TEST_MARIADB_URL`` and
``DASHBOARD_TEST_REDIS_URL`` (an account that may create databases). A service that does
not answer skips the tests that need it, or fails them when
``DASHBOARD_TEST_REQUIRE_SERVICES=1`` (as in CI, where a skip would hide a broken setup).
"""

from __future__ import annotations

import contextlib
import functools
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import typing as t
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis
from sqlalchemy import Engine, bindparam, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from dashboard.db import mysql_tls
from tests.schemas import create_hostile_schema, other_schema_name


def connect_sharing_tls(dialect: t.Any, record: t.Any, cargs: t.Any, cparams: dict[str, t.Any]) -> t.Any:
    """The tests' own engines (building, copying, reading back databases) connect to MariaDB
    as the dashboard's do: one TLS context per process instead of one per connection (~45 ms
    each). Listened for on every engine; a test that must rewrite connection parameters before
    any handler opens the connection removes it for that time."""
    return mysql_tls.connect(dialect, record, cargs, cparams)


event.listen(Engine, "do_connect", connect_sharing_tls)

__all__ = [
    "DIALECTS",
    "REQUIRE_SERVICES_ENV",
    "dialect",
    "empty_database_url",
    "hostile_database_url",
    "database_with",
    "drop_templates",
    "finish_drops",
    "connect_sharing_tls",
    "make_database",
    "module_hostile_database_url",
    "redis_url",
    "require_database",
    "require_service",
    "service_problem",
    "service_url",
]

DIALECTS: tuple[str, ...] = ("sqlite", "postgresql", "mariadb")
REQUIRE_SERVICES_ENV = "DASHBOARD_TEST_REQUIRE_SERVICES"

# Service name -> (environment variable, default URL).
_SERVICE_URLS: dict[str, tuple[str, str]] = {
    "postgresql": (
        "DASHBOARD_TEST_POSTGRESQL_URL",
        "postgresql+psycopg://postgres@127.0.0.1:5432/test",
    ),
    "mariadb": ("DASHBOARD_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test"),
    "redis": ("DASHBOARD_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
}
# Long enough for a loaded machine, short enough that a dead service costs seconds.
_CONNECT_TIMEOUT_S = 5


def service_url(name: str) -> str:
    """The URL of service ``name`` (``postgresql``, ``mariadb`` or ``redis``).

    :param name: a key of the service table; its environment variable wins over the default.
    """
    variable, default = _SERVICE_URLS[name]
    return os.environ.get(variable) or default


# -- reachability --------------------------------------------------------------------------


def _probe_database(name: str) -> None:
    engine = create_engine(service_url(name), poolclass=NullPool, connect_args={"connect_timeout": _CONNECT_TIMEOUT_S})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    finally:
        engine.dispose()


def _probe_redis() -> None:
    client = redis.Redis.from_url(
        service_url("redis"),
        socket_connect_timeout=_CONNECT_TIMEOUT_S,
        socket_timeout=_CONNECT_TIMEOUT_S,
    )
    try:
        client.ping()
    finally:
        client.close()


def _probe_package_index() -> None:
    # Ask pip itself, so whatever index it is configured with is the one checked, and skip
    # its cache so a recent success cannot mask a lost network.
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--no-cache-dir",
                "--disable-pip-version-check",
                "--quiet",
                "--dest",
                folder,
                "hatchling",
            ],
            check=True,
            capture_output=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )


_PROBES: dict[str, Callable[[], None]] = {
    "postgresql": functools.partial(_probe_database, "postgresql"),
    "mariadb": functools.partial(_probe_database, "mariadb"),
    "redis": _probe_redis,
    "package index": _probe_package_index,
}


def _describe(exc: BaseException) -> str:
    if isinstance(exc, subprocess.CalledProcessError):
        output = (exc.stderr or b"").decode(errors="replace").strip()
        return output.splitlines()[-1] if output else f"exit status {exc.returncode}"
    message = str(getattr(exc, "orig", None) or exc).strip()
    return f"{type(exc).__name__}: {message.splitlines()[0] if message else ''}"


@functools.cache
def service_problem(name: str) -> str | None:
    """Why service ``name`` cannot be used, or ``None`` when it answers.

    Probed once per test session: a service that is down stays down for the run, and
    probing a dead host per test would cost a time-out each time.

    :param name: ``postgresql``, ``mariadb``, ``redis`` or ``package index``.
    """
    try:
        _PROBES[name]()
    except Exception as exc:  # noqa: BLE001 -- any failure means "not usable"; the message says which
        return _describe(exc)
    return None


def require_service(name: str, reason: str) -> None:
    """Skip the current test when service ``name`` does not answer.

    Fails it instead when ``DASHBOARD_TEST_REQUIRE_SERVICES=1``.

    :param name: a service known to :func:`service_problem`.
    :param reason: what cannot be tested without it; the probe's error is appended.
    """
    problem = service_problem(name)
    if problem is None:
        return
    message = f"{reason} ({problem})"
    if os.environ.get(REQUIRE_SERVICES_ENV) == "1":
        pytest.fail(f"{message}; {REQUIRE_SERVICES_ENV}=1 forbids skipping", pytrace=False)
    pytest.skip(message)


def require_database(dialect: str) -> None:
    """Skip (or fail) unless the server for ``dialect`` answers; SQLite always does.

    :param dialect: one of :data:`DIALECTS`.
    """
    if dialect != "sqlite":
        variable = _SERVICE_URLS[dialect][0]
        require_service(dialect, f"{dialect} is not reachable at {service_url(dialect)} (set {variable})")


# -- throw-away databases ------------------------------------------------------------------


def _admin_engine(dialect: str) -> Engine:
    # CREATE/DROP DATABASE cannot run inside a transaction on PostgreSQL.
    return create_engine(
        service_url(dialect),
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
        connect_args={"connect_timeout": _CONNECT_TIMEOUT_S},
    )


def _create_database(admin: Engine, name: str, template: str | None = None) -> None:
    """Create database ``name``; on PostgreSQL a copy of database ``template`` when one is named."""
    quoted = admin.dialect.identifier_preparer.quote(name)
    if admin.dialect.name == "postgresql" and template is not None:
        statement = f"CREATE DATABASE {quoted} TEMPLATE {admin.dialect.identifier_preparer.quote(template)}"
    elif admin.dialect.name == "postgresql":
        # template0 takes no connections, so a session parked on template1 cannot make
        # CREATE DATABASE fail, and it lets us insist on UTF-8.
        statement = f"CREATE DATABASE {quoted} TEMPLATE template0 ENCODING 'UTF8'"
    else:
        statement = f"CREATE DATABASE {quoted} CHARACTER SET utf8mb4"
    with admin.connect() as connection:
        connection.exec_driver_sql(statement)
        if admin.dialect.name == "postgresql":
            _commit_without_waiting_for_the_disk(connection, quoted)


def _commit_without_waiting_for_the_disk(connection: t.Any, quoted_name: str) -> None:
    # A throw-away database's commits need not wait for the WAL to reach the disk: a
    # setting of this database alone (MariaDB has no such per-database switch).
    connection.exec_driver_sql(f"ALTER DATABASE {quoted_name} SET synchronous_commit = off")


def _drop_postgresql(admin: Engine, name: str) -> None:
    quoted = admin.dialect.identifier_preparer.quote(name)
    with admin.connect() as connection:
        if connection.dialect.server_version_info >= (13,):
            # Disconnects whatever the test left open, atomically with the drop.
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
            return
        connection.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted}")


def _drop_mariadb(admin: Engine, names: list[str]) -> None:
    with admin.connect() as connection:
        # A connection left open with a transaction holds metadata locks, and DROP
        # DATABASE would wait for it forever.
        processes = (
            connection.execute(
                text(
                    "SELECT id FROM information_schema.processlist WHERE db IN :names AND id <> CONNECTION_ID()"
                ).bindparams(bindparam("names", expanding=True)),
                {"names": names},
            )
            .scalars()
            .all()
        )
        for process_id in processes:
            with contextlib.suppress(Exception):  # it may have ended by itself meanwhile
                connection.exec_driver_sql(f"KILL CONNECTION {int(process_id)}")
        for name in names:
            quoted = admin.dialect.identifier_preparer.quote(name)
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {quoted}")


def _drop_database(admin: Engine, dialect: str, url: str) -> None:
    name = make_url(url).database
    assert name is not None
    if dialect == "postgresql":
        _drop_postgresql(admin, name)
        return
    # On MariaDB the hostile schema's second schema is a sibling database.
    _drop_mariadb(admin, [name, t.cast(str, other_schema_name(url))])


class _BackgroundDrops:
    """Drops databases on a thread of their own, so a test's teardown does not wait for it.

    Dropping a database waits for the server's disk (~0.1-0.5 s on PostgreSQL and MariaDB);
    meanwhile the next test can already run. :meth:`wait` (end of the session) lets the
    last ones finish and reports those that failed.
    """

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.failures: list[str] = []

    def drop(self, dialect: str, url: str) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="drop-databases", daemon=True)
            self._thread.start()
        self._queue.put((dialect, url))

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            dialect, url = job
            admin = _admin_engine(dialect)
            try:
                _drop_database(admin, dialect, url)
            except Exception as exc:  # reported at the end of the session, a test cannot fail for it now
                self.failures.append(f"{make_url(url).database}: {_describe(exc)}")
            finally:
                admin.dispose()

    def wait(self) -> list[str]:
        """Wait for the queued drops; return the ones that failed so far."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        return list(self.failures)


_DROPS = _BackgroundDrops()


@contextlib.contextmanager
def _sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="dash_") as folder:
        yield f"sqlite:///{folder}/dash.db"


@contextlib.contextmanager
def make_database(dialect: str) -> Iterator[str]:
    """Create an empty database of ``dialect``, yield its URL, then drop it.

    Server databases are named ``dash_<hex>``; SQLite is a file in a temporary folder.
    Skips (or fails, see :func:`require_service`) when the server does not answer.

    :param dialect: one of :data:`DIALECTS`.
    :returns: an SQLAlchemy URL using ``postgresql+psycopg://`` or ``mysql+pymysql://``.
    """
    if dialect == "sqlite":
        with _sqlite_database() as url:
            yield url
        return
    require_database(dialect)
    url = _new_server_database(dialect, "dash")
    try:
        yield url
    finally:
        _DROPS.drop(dialect, url)


def _new_server_database(dialect: str, prefix: str, template: str | None = None) -> str:
    """Create a database named ``<prefix>_<hex>`` on ``dialect``'s server, empty or (PostgreSQL)
    a copy of database ``template``; return its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    admin = _admin_engine(dialect)
    try:
        _create_database(admin, name, template)
    finally:
        admin.dispose()
    return make_url(service_url(dialect)).set(database=name).render_as_string(hide_password=False)


# -- databases built once per process, then copied --------------------------------------------

#: (dialect, content name) -> the URL of this process's template holding that content.
_TEMPLATES: dict[tuple[str, str], str] = {}


def _template_url(dialect: str, content: str, build: Callable[[str], None]) -> str:
    """This process's template of ``content`` on ``dialect``, built by ``build(url)`` on first use."""
    key = (dialect, content)
    if key not in _TEMPLATES:
        if dialect == "sqlite":
            url = f"sqlite:///{tempfile.mkdtemp(prefix='dash_template_')}/template.db"
        else:
            url = _new_server_database(dialect, "dash_tpl")
        build(url)
        _TEMPLATES[key] = url
    return _TEMPLATES[key]


def finish_drops() -> list[str]:
    """Wait until the databases this process handed out are dropped; return those that could not be."""
    return _DROPS.wait()


def drop_templates() -> None:
    """Finish dropping this process's databases, then drop its templates (end of the test session).

    :raises RuntimeError: naming the databases that could not be dropped.
    """
    failures = finish_drops()
    for (dialect, _content), url in _TEMPLATES.items():
        if dialect == "sqlite":
            shutil.rmtree(os.path.dirname(t.cast(str, make_url(url).database)), ignore_errors=True)
            continue
        admin = _admin_engine(dialect)
        try:
            _drop_database(admin, dialect, url)
        finally:
            admin.dispose()
    _TEMPLATES.clear()
    if failures:
        raise RuntimeError("throw-away databases left behind: " + "; ".join(failures))


@contextlib.contextmanager
def database_with(dialect: str, content: str, build: Callable[[str], None]) -> Iterator[str]:
    """A fresh database of ``dialect`` holding what ``build(url)`` writes into an empty one; dropped after.

    The same as :func:`make_database` then ``build(url)``, only cheaper where the server can copy
    a database: ``build`` runs once per test process into a template, and each test gets a copy
    (SQLite copies the file, PostgreSQL ``CREATE DATABASE ... TEMPLATE``). MariaDB has no such
    copy, so there ``build`` runs for every database.

    :param content: names what ``build`` writes; one template per name and dialect.
    """
    if dialect == "mariadb":
        with make_database(dialect) as url:
            build(url)
            yield url
        return
    if dialect != "sqlite":
        require_database(dialect)
    template = _template_url(dialect, content, build)
    if dialect == "sqlite":
        with _sqlite_database() as url:
            shutil.copyfile(t.cast(str, make_url(template).database), t.cast(str, make_url(url).database))
            yield url
        return
    url = _new_server_database(dialect, "dash", template=make_url(template).database)
    try:
        yield url
    finally:
        _DROPS.drop(dialect, url)


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="session", params=DIALECTS, ids=DIALECTS)
def dialect(request: pytest.FixtureRequest) -> str:
    """The dialect under test: every test that uses it runs once per :data:`DIALECTS`.

    Session-scoped so session-wide fixtures may depend on it too; pytest then groups the
    tests by dialect.
    """
    return t.cast(str, request.param)


@pytest.fixture
def empty_database_url(dialect: str) -> Iterator[str]:
    """URL of a fresh, empty database of ``dialect``, dropped after the test."""
    with make_database(dialect) as url:
        yield url


@pytest.fixture
def hostile_database_url(dialect: str) -> Iterator[str]:
    """URL of a fresh database of ``dialect`` holding :mod:`tests.schemas`' hostile schema."""
    with database_with(dialect, "hostile", create_hostile_schema) as url:
        yield url


@pytest.fixture(scope="module")
def module_hostile_database_url(dialect: str) -> Iterator[str]:
    """Like :func:`hostile_database_url`, but one database per test module and dialect: for
    modules whose tests only read it."""
    with database_with(dialect, "hostile", create_hostile_schema) as url:
        yield url


def _flush_redis(url: str) -> None:
    client = redis.Redis.from_url(url, socket_connect_timeout=_CONNECT_TIMEOUT_S)
    try:
        client.flushdb()
    finally:
        client.close()


def worker_redis_url(url: str, worker: str | None = None) -> str:
    """``url`` with a database number of this test process's own, so parallel workers do not
    empty each other's caches.

    pytest-xdist worker ``gwN`` (from ``PYTEST_XDIST_WORKER``) takes the URL's number minus
    ``N`` (15, 14, ... by default); a run without xdist keeps the URL as it is.

    :param worker: the worker's name; ``PYTEST_XDIST_WORKER`` when ``None``.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER") if worker is None else worker
    if not worker:
        return url
    parsed = make_url(url)
    base = int(parsed.database or 0)
    number = base - int(worker.removeprefix("gw"))
    if number < 0:
        pytest.fail(
            f"worker {worker} has no Redis database of its own below {url}: run fewer workers "
            f"or point {_SERVICE_URLS['redis'][0]} at a higher database number",
            pytrace=False,
        )
    return parsed.set(database=str(number)).render_as_string(hide_password=False)


@pytest.fixture
def redis_url() -> Iterator[str]:
    """URL of a Redis database number of this test process's own, emptied before and after the test."""
    url = worker_redis_url(service_url("redis"))
    require_service("redis", f"Redis is not reachable at {url} (set {_SERVICE_URLS['redis'][0]})")
    _flush_redis(url)
    yield url
    _flush_redis(url)
