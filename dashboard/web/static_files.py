"""Static file URLs fingerprinted by their content, and cached for a year when they carry it.

Every static URL the app builds (the dashboard's ``url_for('dashboard:static.static', ...)``,
Flask-Admin's ``admin_static.url(...)``, a plugin's ``static_url()``) gets
``?v=<first 12 hex digits of the file's SHA-256>``: a ``url_defaults`` hook adds it while
``url_for`` builds the URL, so no template has to say so. It replaces the ``v=<library
version>`` Flask-Admin's templates pass, which would stay the same when a file changes.

A request carrying the file's current fingerprint is answered ``Cache-Control: public,
max-age=31536000, immutable``: that URL never names other bytes, so browsers need not even
revalidate. Without one, or with an older file's, the answer is ``no-cache`` (Werkzeug's
default for static files): browsers revalidate with the ETag each time. The URLs inside
CSS files (Flask-Admin's fonts) cannot be fingerprinted this way and keep ``no-cache``.

A fingerprint is computed once per version of a file: it is kept with the file's size and
modification time and computed again when either changes (a file edited under a running
server gets a new URL at once).

Access and the other headers are unchanged: static files need no login
(:mod:`dashboard.security.auth`), and get every security header of
:mod:`dashboard.security.headers` but its ``no-store``. Their responses set no cookie and
do not vary by cookie, so a shared cache can keep one copy for everyone. Script bundles
(:mod:`dashboard.web.bundles`) are served and fingerprinted the same way.
"""

from __future__ import annotations

import hashlib
import os
import stat
import typing as t

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.security import safe_join

from dashboard.web import bundles

#: The query argument carrying a static file's fingerprint.
FINGERPRINT_ARG = "v"
#: What a request carrying the current fingerprint is answered: a year, never revalidated.
IMMUTABLE = "public, max-age=31536000, immutable"
#: Any other static request: kept, but revalidated (ETag, Last-Modified) before each use.
REVALIDATE = "no-cache"
_EXTENSION = "dashboard.static_files"


def is_static_endpoint(endpoint: str | None) -> bool:
    """Whether ``endpoint`` serves static files: the app's, Flask-Admin's or a blueprint's."""
    return endpoint is not None and (endpoint == "static" or endpoint.endswith(".static"))


class Fingerprints:
    """The content fingerprints of one app's static files."""

    def __init__(self, app: Flask) -> None:
        self._app = app
        # path -> ((size, mtime_ns), fingerprint). Threads may compute one twice: harmless.
        self._known: dict[str, tuple[tuple[int, int], str]] = {}
        # Endpoints whose files are not in a folder (bundles): endpoint -> filename -> fingerprint.
        self.computed: dict[str, t.Callable[[str], str | None]] = {}

    def of(self, endpoint: str, filename: str) -> str | None:
        """The fingerprint of ``filename`` served by the static ``endpoint``; ``None`` when
        there is no such file (the URL is then built without one, and answers 404)."""
        if endpoint in self.computed:
            return self.computed[endpoint](filename)
        folder = self._folder(endpoint)
        path = safe_join(folder, filename) if folder else None
        if path is None:
            return None
        try:
            status = os.stat(path)
        except OSError:
            return None
        if not stat.S_ISREG(status.st_mode):
            return None
        version = (status.st_size, status.st_mtime_ns)
        known = self._known.get(path)
        if known is not None and known[0] == version:
            return known[1]
        with open(path, "rb") as handle:
            fingerprint = hashlib.file_digest(handle, "sha256").hexdigest()[:12]
        self._known[path] = (version, fingerprint)
        return fingerprint

    def _folder(self, endpoint: str) -> str | None:
        if endpoint == "static":
            return self._app.static_folder
        blueprint = self._app.blueprints.get(endpoint.rpartition(".")[0])
        return blueprint.static_folder if blueprint is not None else None


class _NoCookieOnStaticFiles(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, not saved by a static file's response.

    Flask renews the cookie of a permanent session on every response, static files' too:
    a shared cache told ``public`` could keep one operator's ``Set-Cookie`` and hand it to
    the next client. Static requests never change the session (no login is checked).
    """

    def save_session(self, app: Flask, session: t.Any, response: t.Any) -> None:
        if not is_static_endpoint(request.endpoint):
            super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    """Fingerprint every static URL ``app`` builds, and answer static requests with the
    ``Cache-Control`` their fingerprint earns."""
    fingerprints = Fingerprints(app)
    app.extensions[_EXTENSION] = fingerprints
    kept = bundles.init_app(app, fingerprints.of)
    fingerprints.computed[bundles.ENDPOINT] = kept.fingerprint

    def add_fingerprint(endpoint: str, values: dict[str, t.Any]) -> None:
        if is_static_endpoint(endpoint) and "filename" in values:
            fingerprint = fingerprints.of(endpoint, str(values["filename"]))
            if fingerprint is not None:
                values[FINGERPRINT_ARG] = fingerprint

    def cache_control(response: t.Any) -> t.Any:
        if not is_static_endpoint(request.endpoint) or response.status_code >= 400:
            return response
        filename = (request.view_args or {}).get("filename")
        current = fingerprints.of(t.cast(str, request.endpoint), filename) if filename else None
        fresh = current is not None and request.args.get(FINGERPRINT_ARG) == current
        response.headers["Cache-Control"] = IMMUTABLE if fresh else REVALIDATE
        return response

    app.session_interface = _NoCookieOnStaticFiles()
    app.url_defaults(add_fingerprint)
    app.after_request(cache_control)
