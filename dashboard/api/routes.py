"""The API's blueprint: every route declared in :data:`dashboard.api.addressing.api_routes`,
served below ``/api`` (:data:`dashboard.problems.API_PATH`).

A row's key text is one percent-encoded path segment (``/api/text_keys/x%2Fy``), but a
WSGI server hands the application the decoded path, where that ``%2F`` is a ``/`` like any
other. So the key is the whole rest of the path (the :class:`RowKeyConverter`), with
slashes kept as they are (no merging of ``//``, no redirect to a trailing slash): a key
holding ``/``, ``//``, ``..`` or ending in ``/`` still names exactly its row.
"""

from __future__ import annotations

import typing as t
from urllib.parse import quote

from flask import Blueprint, Flask
from werkzeug.routing import BaseConverter

from dashboard.api import bulk as bulk_writes
from dashboard.api import importing as file_imports
from dashboard.api import openapi as openapi_document
from dashboard.api import reads as row_reads
from dashboard.api import writes as row_writes
from dashboard.api.addressing import api_routes
from dashboard.problems import API_PATH
from dashboard.urls import own_endpoint

#: The blueprint's name: API endpoints are ``dashboard:api.<name>``.
BLUEPRINT = own_endpoint("api")
#: The modules whose routes the blueprint serves (importing one declares its routes).
ROUTE_MODULES = (row_reads, row_writes, bulk_writes, file_imports, openapi_document)


class RowKeyConverter(BaseConverter):
    """The rest of the path, slashes included, as a row's key text."""

    regex = ".+"
    part_isolating = False

    def to_url(self, value: t.Any) -> str:
        # One segment: a "/" in the key must not read as a separator once decoded twice.
        return quote(str(value), safe="")


def init_app(app: Flask) -> None:
    """Serve the API's routes below ``/api``."""
    app.url_map.converters["rowkey"] = RowKeyConverter
    blueprint = Blueprint(BLUEPRINT, __name__, url_prefix=API_PATH)
    for route in api_routes.routes:
        blueprint.add_url_rule(
            route.rule,
            endpoint=route.endpoint,
            view_func=route.view,
            methods=list(route.methods),
            merge_slashes=False,
            strict_slashes=route.rule.endswith("/"),
        )
    app.register_blueprint(blueprint)
