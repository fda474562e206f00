"""``GET /api/openapi.json``: the OpenAPI 3.1 document of what the caller may reach."""

from __future__ import annotations

import typing as t

from flask import jsonify

from dashboard.api.addressing import api_routes


@api_routes.route("/openapi.json", endpoint="openapi")
def openapi_document() -> t.Any:
    """The caller's OpenAPI document."""
    return jsonify({"openapi": "3.1.0", "info": {"title": "dashboard", "version": "1"}, "paths": {}})
