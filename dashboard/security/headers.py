"""CSRF protection, the Content-Security-Policy nonce, and the headers of every response.

The policy allows scripts only from this site and with this request's nonce: no
``unsafe-inline``, no ``unsafe-eval``. Flask-Admin's templates put a few handlers inline
(``onclick=...``); ``templates/admin/`` overrides those templates with ``data-*``
attributes, and ``static/handlers.js`` binds them.

Styles: ``<style>`` elements need the nonce like scripts, but ``style=""`` attributes are
allowed (``style-src-attr 'unsafe-inline'``), because the widgets Flask-Admin ships
(select2, the date pickers) write some of their layout that way. An attribute style can
neither run script nor use selectors, and ``img-src``/``default-src`` keep any URL in it
on this site.
"""

from __future__ import annotations

import secrets
import typing as t

from flask import Flask, abort, current_app, g, request
from flask_wtf.csrf import CSRFProtect

from dashboard.security.tokens import token_scope

_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def csp_nonce() -> str:
    """This request's CSP nonce (the same value every time it is asked for in one request).

    Given to Flask-Admin as ``Admin(csp_nonce_generator=csp_nonce)``, and available to
    templates as ``csp_nonce()``.
    """
    nonce = g.get("_dashboard_csp_nonce")
    if nonce is None:
        nonce = g._dashboard_csp_nonce = secrets.token_urlsafe(18)
    return t.cast(str, nonce)


def content_security_policy(nonce: str) -> str:
    """The ``Content-Security-Policy`` header value for a response carrying ``nonce``."""
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            f"style-src 'self' 'nonce-{nonce}'",
            "style-src-attr 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
        ]
    )


def _is_static() -> bool:
    endpoint = request.endpoint or ""
    return endpoint == "static" or endpoint.endswith(".static")


def _refuse_cross_site_writes() -> None:
    # Browsers say where a request comes from; our own forms always post same-origin. The
    # CSRF token is checked as well: this also covers a token leaked to another site.
    if request.method in _UNSAFE_METHODS and request.headers.get("Sec-Fetch-Site", "same-origin") not in (
        "same-origin",
        "none",
    ):
        abort(403)


#: Table-view pages whose forms carry whole column values, and so may exceed Werkzeug's
#: 500 kB ``MAX_FORM_MEMORY_SIZE`` (a 600 kB text would answer 413 and lose what was typed).
_VALUE_FORMS = ("create_view", "edit_view")


def _raise_form_limit() -> None:
    # Before CSRFProtect, which parses the form to find its token.
    if request.method == "POST" and (request.endpoint or "").rpartition(".")[2] in _VALUE_FORMS:
        request.max_form_memory_size = int(current_app.config["FORM_MAX_BYTES"])


def _csrf_check(csrf: CSRFProtect) -> t.Callable[[], None]:
    """Flask-WTF's check of every unsafe request, except those made with an API token.

    A browser never sends ``Authorization: Bearer`` by itself, so another site cannot forge
    one; the token was checked before this (:mod:`dashboard.security.tokens`) and refused
    with a 401 unless it was good.
    """

    def check() -> None:
        if (
            current_app.config.get("WTF_CSRF_ENABLED", True)
            and request.method in _UNSAFE_METHODS
            and request.endpoint
            and token_scope() is None
        ):
            csrf.protect()

    return check


def _set_headers(response: t.Any) -> t.Any:
    headers = response.headers
    headers["Content-Security-Policy"] = content_security_policy(csp_nonce())
    headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if current_app.config.get("HTTPS"):
        headers["Strict-Transport-Security"] = "max-age=31536000"
    if not _is_static():
        # Pages show data per operator and role: never kept by a browser or shared cache.
        headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    """CSRF on every POST, PUT, PATCH and DELETE; security headers on every response.

    CSRF tokens live as long as the session: it is renewed at login and cleared at logout,
    and idle and absolute timeouts end it (:mod:`dashboard.security.auth`).
    """
    app.config["WTF_CSRF_TIME_LIMIT"] = None
    app.config["WTF_CSRF_METHODS"] = sorted(_UNSAFE_METHODS)
    app.before_request(_refuse_cross_site_writes)
    app.before_request(_raise_form_limit)
    # Checked by _csrf_check instead of Flask-WTF's own hook, which cannot tell a token call.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.before_request(_csrf_check(CSRFProtect(app)))
    app.after_request(_set_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
