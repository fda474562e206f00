"""Bundles: the scripts and style sheets every page (or every list page) loads, one file each.

A list page loaded fifteen scripts, each a ``<script nonce=... src=...?v=...>`` tag of about
110 bytes in every page (and a request each on a cold cache). A bundle is their text joined
in the page's order, served from ``/admin/-/bundle/<name>`` under the same rules as a static
file (:mod:`dashboard.web.static_files`): no login, no cookie, fingerprinted with the
SHA-256 of its bytes and cached for a year when the URL carries that fingerprint.

The bundle is joined again when one of its files changes (each file's fingerprint is
part of the key), so an edited script is served at once, as a single file would be.
Scripts run in the same order as the tags did: none of them was ``async``; the two
``defer`` ones only touch elements already parsed when the bundle, at the end of the body,
runs. Style sheets keep their order too, and their relative ``url(...)`` addresses (fonts,
images) are rewritten relative to the bundle's URL.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import threading
import typing as t

from flask import Blueprint, Flask, Response, abort, current_app, request

from dashboard.urls import own_endpoint, own_url

#: Flask-Admin's and the dashboard's own static endpoints.
ADMIN_STATIC = "admin.static"
OWN_STATIC = own_endpoint("static") + ".static"

#: name -> the (static endpoint, file) parts, in the order the page ran them.
BUNDLES: dict[str, tuple[tuple[str, str], ...]] = {
    # Every page (templates/admin/base.html).
    "site.js": (
        (ADMIN_STATIC, "vendor/jquery.min.js"),
        (ADMIN_STATIC, "bootstrap/bootstrap4/js/popper.min.js"),
        (ADMIN_STATIC, "bootstrap/bootstrap4/js/bootstrap.min.js"),
        (ADMIN_STATIC, "vendor/moment.min.js"),
        (ADMIN_STATIC, "vendor/select2/select2.min.js"),
        (ADMIN_STATIC, "admin/js/helpers.js"),
        (OWN_STATIC, "navigation.js"),
        (OWN_STATIC, "handlers.js"),
    ),
    # A table's list: its filter bar (date pickers, select2 boxes) and values edited in place
    # (inline_edit.js, dashboard/web/table_cells.py). Bulk actions are run by
    # handlers.js, in site.js (Flask-Admin's actions.js copied every row's box as it was).
    "list.js": (
        (ADMIN_STATIC, "vendor/bootstrap-daterangepicker/daterangepicker.js"),
        (ADMIN_STATIC, "admin/js/form.js"),
        (ADMIN_STATIC, "admin/js/bs4_modal.js"),
        (OWN_STATIC, "filters.js"),
        (OWN_STATIC, "columns.js"),
        (OWN_STATIC, "saved_views.js"),
        (OWN_STATIC, "inline_edit.js"),
    ),
    # Pages that draw a chart (templates/dashboard/base.html).
    "charts.js": (
        (OWN_STATIC, "vendor/chartjs/chart.umd.min.js"),
        (OWN_STATIC, "charts.js"),
    ),
    # Every page's styles, and the filter bar's (select2, date pickers) on a table's list.
    "site.css": (
        (ADMIN_STATIC, "bootstrap/bootstrap4/css/bootstrap.min.css"),
        (ADMIN_STATIC, "bootstrap/bootstrap4/css/font-awesome.min.css"),
        (ADMIN_STATIC, "admin/css/bootstrap4/admin.css"),
        (OWN_STATIC, "dashboard.css"),
    ),
    "list.css": (
        (ADMIN_STATIC, "vendor/select2/select2.css"),
        (ADMIN_STATIC, "vendor/select2/select2-bootstrap4.css"),
        (ADMIN_STATIC, "vendor/bootstrap-daterangepicker/daterangepicker-bs4.css"),
    ),
}
#: ``url(...)`` in a style sheet: its quote and the address.
_CSS_URL = re.compile(rb"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")
#: The endpoint serving bundles; its name ends in ``.static``, so every rule for static
#: files (no login, no cookie, no ``no-store``, compression) applies to it as well.
ENDPOINT = own_endpoint("bundle") + ".static"
_EXTENSION = "dashboard.bundles"


class Bundles:
    """The joined bundles of one app, kept while none of their files changes."""

    def __init__(self, app: Flask, fingerprint_of: t.Callable[[str, str], str | None]) -> None:
        self._app = app
        self._fingerprint_of = fingerprint_of
        self._joined: dict[str, tuple[tuple[str | None, ...], bytes, str]] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> tuple[bytes, str] | None:
        """The bytes of bundle ``name`` and their fingerprint; ``None`` for no such bundle."""
        parts = BUNDLES.get(name)
        if parts is None:
            return None
        versions = tuple(self._fingerprint_of(endpoint, filename) for endpoint, filename in parts)
        known = self._joined.get(name)
        if known is not None and known[0] == versions:
            return known[1], known[2]
        body = self._join(name, parts)
        fingerprint = hashlib.sha256(body).hexdigest()[:12]
        with self._lock:
            self._joined[name] = (versions, body, fingerprint)
        return body, fingerprint

    def fingerprint(self, name: str) -> str | None:
        """The fingerprint of bundle ``name`` as it is now; ``None`` for no such bundle."""
        found = self.get(name)
        return found[1] if found else None

    def _join(self, name: str, parts: t.Sequence[tuple[str, str]]) -> bytes:
        pieces = []
        for endpoint, filename in parts:
            folder = self._app.static_folder if endpoint == "static" else self._folder(endpoint)
            with open(f"{folder}/{filename}", "rb") as handle:
                text = handle.read()
            if name.endswith(".css"):
                pieces.append(self._rebase(text, endpoint, filename, name) + b"\n")
            else:
                # A file may end inside a line comment or without a semicolon: a newline
                # and a semicolon keep the next file's first statement its own.
                pieces.append(text + b"\n;\n")
        return b"".join(pieces)

    def _rebase(self, css: bytes, endpoint: str, filename: str, name: str) -> bytes:
        """``css`` with its relative ``url(...)`` addresses (fonts, images) made relative to
        the bundle's own URL, so they name the same files as from the style sheet's."""
        adapter = self._app.url_map.bind("localhost")
        sheet = posixpath.dirname(adapter.build(endpoint, {"filename": filename}))
        bundle = posixpath.dirname(adapter.build(ENDPOINT, {"filename": name}))

        def rebase(match: re.Match[bytes]) -> bytes:
            address = match.group(2).decode()
            if address.startswith(("data:", "/", "#")) or "://" in address:
                return match.group(0)
            path = re.split(r"[?#]", address, maxsplit=1)[0]
            suffix = address[len(path) :]  # a font's "?#iefix" or "#fontawesomeregular" stays
            target = posixpath.normpath(posixpath.join(sheet, path))
            return f'url("{posixpath.relpath(target, bundle)}{suffix}")'.encode()

        return _CSS_URL.sub(rebase, css)

    def _folder(self, endpoint: str) -> str:
        blueprint = self._app.blueprints[endpoint.rpartition(".")[0]]
        assert blueprint.static_folder is not None, endpoint  # nosec B101 -- BUNDLES names static endpoints only
        return blueprint.static_folder


def bundles() -> Bundles:
    return t.cast(Bundles, current_app.extensions[_EXTENSION])


def _serve(filename: str) -> Response:
    found = bundles().get(filename)
    if found is None:
        abort(404)
    body, fingerprint = found
    response = Response(body, mimetype="text/css" if filename.endswith(".css") else "text/javascript")
    response.set_etag(fingerprint)
    response.make_conditional(request)
    return response


def init_app(app: Flask, fingerprint_of: t.Callable[[str, str], str | None]) -> Bundles:
    """Serve the bundles of ``app``; ``fingerprint_of(endpoint, filename)`` is the static files' fingerprint."""
    kept = Bundles(app, fingerprint_of)
    app.extensions[_EXTENSION] = kept
    blueprint = Blueprint(own_endpoint("bundle"), __name__)
    blueprint.add_url_rule(own_url("bundle/<path:filename>"), endpoint="static", view_func=_serve)
    app.register_blueprint(blueprint)
    return kept
