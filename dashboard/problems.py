"""Errors of the JSON API as problem details (RFC 9457): what every ``/api/`` error answers.

A script calling the API reads a status and a JSON body, never an HTML page: every refusal
(not logged in, a bad token, a forbidden table, a stale fingerprint, a value a column does
not take) is a :func:`problem`, ``Content-Type: application/problem+json``, with a
``title`` in the caller's language, an optional ``detail`` and, for refused values, one
entry per field in ``errors``. The site's error handlers (:mod:`dashboard.web.errors`) answer
errors raised under :data:`API_PATH` with a problem too, so an ``abort(404)`` or a CSRF
refusal there stays JSON.

A shared module, below the layers: security (a refused token) and the web and API layers use it.
"""

from __future__ import annotations

import typing as t
from http import HTTPStatus

from flask import Response, json

#: Where the API lives; errors below it are answered as problems.
API_PATH = "/api"
#: The media type of a problem details body.
PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldError(t.TypedDict):
    """One refused value: the field (a column name, or ``rows[3].price`` in a bulk call) and why."""

    field: str
    message: str


def is_api_path(path: str) -> bool:
    """Whether ``path`` (a request's path) is the API's, so errors there are problems."""
    return path == API_PATH or path.startswith(API_PATH + "/")


def problem(
    status: int,
    title: str | None = None,
    detail: str | None = None,
    *,
    errors: t.Sequence[FieldError] = (),
    headers: t.Mapping[str, str] | None = None,
    **members: t.Any,
) -> Response:
    """A problem details response.

    :param status: the HTTP status, repeated in the body as RFC 9457 asks.
    :param title: a short, translated summary; the status's own phrase when ``None``.
    :param detail: what happened this time, safe to show (never a driver's raw message).
    :param errors: the refused fields, each with its message.
    :param headers: extra headers (``WWW-Authenticate``, ``Retry-After``, ``ETag``...).
    :param members: further members of the body (``current`` for a stale write...).
    """
    body: dict[str, t.Any] = {
        "type": "about:blank",
        "title": title if title is not None else HTTPStatus(status).phrase,
        "status": status,
    }
    if detail is not None:
        body["detail"] = detail
    if errors:
        body["errors"] = [dict(error) for error in errors]
    body.update(members)
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response
