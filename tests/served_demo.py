"""The demo shop served by ``dashboard serve`` to a browser, as fixtures for every browser module.

One server per test module (the fixtures are module-scoped), so a module's writes never
reach another's pages; each test's operator logs in with a browser context of its own.
"""

from __future__ import annotations

import typing as t
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser import require_browser
from tests.test_e2e import Operator, _serve, logged_in


@pytest.fixture(scope="module")
def served_instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The instance folder of the module's served SQLite demo (its database is ``demo.db`` there)."""
    return tmp_path_factory.mktemp("instance")


@pytest.fixture(scope="module")
def served(served_instance: Path) -> Iterator[str]:
    """The demo shop on SQLite, served with an admin ``operator``; yields the base URL."""
    require_browser()
    with _serve(served_instance) as base:
        yield base


@pytest.fixture
def operator(chromium: t.Any, served: str) -> Iterator[Operator]:
    """The admin ``operator`` logged in to :func:`served`, in a browser context of its own."""
    with logged_in(chromium, served) as who:
        yield who
