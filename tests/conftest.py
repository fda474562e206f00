"""Fixtures shared by every test module.

The database and service fixtures live in :mod:`tests.databases` (see its ``__all__``).
"""

from __future__ import annotations

import gc
import os
import tempfile
import typing as t
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dashboard.db.demo import write_demo_database
from tests.apps import PASSWORD, logged_in, make_small_database
from tests.browser import chromium  # noqa: F401 -- a fixture: this worker's one Chromium
from tests.checklist import site_on
from tests.databases import *  # noqa: F403
from tests.databases import database_with, drop_templates
from tests.roles import restricted  # noqa: F401 -- a fixture: a least-privilege user's URL
from tests.served_demo import operator, served, served_instance  # noqa: F401 -- fixtures: the demo in a browser
from tests.site import Site, make_site

#: A folder in memory (tmpfs) on Linux, where the run's throw-away files go.
_MEMORY_FOLDER = "/dev/shm"


def _collect_cycles_less_often() -> None:
    """Run Python's cycle collector less often in the test processes.

    A test worker builds an app or two per test: thousands of Flask apps, SQLAlchemy
    metadata, URL maps and templates, all reference cycles, freed only by the cycle
    collector. With the default thresholds (a young collection every 700 allocations, the
    full one every 100 young ones) it ran so often on that large heap that three test
    modules took about 100 s of CPU against 73 s with these settings (-n 4 on 2 cores); the
    workers peak near 380 MB instead of 240. What is imported before the first test is
    frozen: it lives as long as the process, and no collection needs to walk it again.
    """
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def _temporary_files_in_memory() -> None:
    """Put the run's temporary files (SQLite targets, state databases, instance folders) in memory.

    Every test app keeps its users, sessions and audit log in an SQLite file, and SQLite
    targets are files too; on a disk each of their commits waits for fsync (the hostile
    schema took ~0.35 s to write on ext4, ~0.07 s on tmpfs). Nothing a test checks depends
    on the files surviving a power cut. A ``TMPDIR`` set by whoever runs the tests wins.
    """
    if "TMPDIR" in os.environ or not os.access(_MEMORY_FOLDER, os.W_OK | os.X_OK):
        return
    os.environ["TMPDIR"] = _MEMORY_FOLDER  # for subprocesses too: servers, CLI runs, the browser
    tempfile.tempdir = None  # forget the folder tempfile may have chosen already


# Before pytest makes its temporary folders (on the first test's tmp_path), in every worker.
_temporary_files_in_memory()
_collect_cycles_less_often()

# -- parallel workers (pytest-xdist) ----------------------------------------------------------

#: Each worker empties a Redis database of its own, counting down from 15 (tests.databases).
_MOST_WORKERS = 16


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, which a run may lack
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """What ``-n auto`` means for this suite: two workers per core.

    Tests spend much of their time waiting for the database servers, a browser, a
    ``dashboard`` subprocess or the disk; more workers than cores keep the cores busy
    meanwhile (on two cores the whole suite took 6.9 minutes with two workers, 5.6 with
    three, 5.3 with four). ``PYTEST_XDIST_AUTO_NUM_WORKERS`` still wins.
    """
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # pytest-xdist reads it
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return min(2 * cores, _MOST_WORKERS)


# -- never the operator's own data folder -----------------------------------------------------


@pytest.fixture(scope="session", autouse=True)
def private_data_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point the platform's user data folder (the default instance folder) into the test run.

    Every app in the suite names its instance folder, and CLI tests set
    ``DASHBOARD_INSTANCE_PATH``; this catches the one that forgets, in this process and in
    every subprocess started with ``os.environ``, before it reads or writes the real users
    of whoever runs the tests.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("xdg-data")))
        patch.delenv("DASHBOARD_INSTANCE_PATH", raising=False)
        yield


# -- apps with logged-in operators (see tests.apps) ------------------------------------------


@pytest.fixture
def small_database_url(tmp_path) -> str:
    """URL of a small SQLite target (``parent``, ``child`` with a foreign key, ``payments``)."""
    return make_small_database(tmp_path / "target.db")


@pytest.fixture
def logged_in_client() -> Callable[..., FlaskClient]:
    """Factory: ``logged_in_client(app, role="admin", username=None)`` -> a logged-in test client.

    Each call creates a new user with that role in the app's state database.
    """

    def make(app: Flask, role: str = "admin", username: str | None = None, password: str = PASSWORD) -> FlaskClient:
        return logged_in(app, role, username, password)

    return make


# -- the demo shop on every dialect ------------------------------------------------------------


def _write_demo_shop(url: str) -> None:
    write_demo_database(url, rows=50)


@pytest.fixture
def demo_url(dialect: str) -> Iterator[str]:
    """The demo shop (50 orders, customers, products, tags...) in a fresh database of each dialect."""
    with database_with(dialect, "demo shop", _write_demo_shop) as url:
        yield url


@pytest.fixture(scope="session", autouse=True)
def _drop_database_templates() -> Iterator[None]:
    """Drop the templates :func:`tests.databases.database_with` made in this process."""
    yield
    drop_templates()


@pytest.fixture
def demo_site(demo_url: str, tmp_path: t.Any) -> Iterator[Site]:
    """An admin's session on a dashboard serving :func:`demo_url`."""
    site = make_site(demo_url, tmp_path)
    yield site
    # Close pooled connections before the fixture drops the database under them.
    site.state.engine.dispose()


@pytest.fixture
def hostile_site(hostile_database_url: str, tmp_path: t.Any) -> Iterator[Site]:
    """An admin's session on the hostile schema of each dialect, its second schema served too."""
    site = site_on(hostile_database_url, tmp_path)
    yield site
    site.state.engine.dispose()


@pytest.fixture(scope="module")
def module_hostile_site(module_hostile_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Like :func:`hostile_site`, but one per test module and dialect: for tests that only read.

    A test that writes takes :func:`hostile_site` (its own database) instead.
    """
    site = site_on(module_hostile_database_url, tmp_path_factory.mktemp("module-site"))
    yield site
    site.state.engine.dispose()
