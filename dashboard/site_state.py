"""What one app serves (:class:`DashboardState`) and the one way to reach it, :func:`current_site`.

This module sits at the top of the package, beside the public plugin API, rather than in
``dashboard.web``: the security layer (the audit log) reads the site too, and it sits below
``dashboard.web``; and the table views themselves (``dashboard.web.table_base``, ``links``)
read it while ``dashboard.web.site`` imports them. So it imports nothing of the layers, and
the type of a table view is a parameter (``DashboardState[TableView]`` where it is built).
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from flask import Flask, current_app, has_app_context
from flask_admin import Admin
from sqlalchemy.engine import Engine

from dashboard.db.reflection import SchemaInfo

#: The key of the site in ``app.extensions``.
EXTENSION = "dashboard"

ViewT = t.TypeVar("ViewT")


@dataclass
class DashboardState(t.Generic[ViewT]):
    """What one app serves, kept in ``app.extensions["dashboard"]`` (never a module global)."""

    engine: Engine
    schema: SchemaInfo
    admin: Admin
    #: The table views by relation id (``dashboard.web.table_view.TableView``).
    views: dict[str, ViewT] = field(default_factory=dict)
    #: ``authorize(table_info, action) -> bool`` for the current request; ``None`` denies all.
    authorize: t.Callable[[t.Any, str], bool] | None = None


def current_site(app: Flask | None = None) -> DashboardState[t.Any]:
    """The site of ``app``, by default the current app's."""
    return t.cast("DashboardState[t.Any]", (app or current_app).extensions[EXTENSION])


def has_site() -> bool:
    """Whether an app with a site is current (a table view is also used outside any app)."""
    return has_app_context() and EXTENSION in current_app.extensions
