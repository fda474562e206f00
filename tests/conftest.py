"""Fixtures shared by every test module.

The database and service fixtures live in :mod:`tests.databases` (see its ``__all__``).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.apps import PASSWORD, logged_in, make_small_database
from tests.databases import *  # noqa: F403

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
