"""Responses compressed where the client accepts it (Flask-Compress), with BREACH kept out.

Static files, HTML pages, JSON, CSV exports: zstd, brotli, gzip or deflate, whichever the
client prefers (all four come with Flask-Compress's own dependencies). A streamed response
(a CSV export) is compressed chunk by chunk as it streams, never gathered into memory
first; Flask-Compress streams zstd, brotli and deflate only, so a client offering only gzip
gets a stream plain. Static files are small and compressed whole.

**BREACH.** Compressing a page over HTTPS leaks, through the page's length, whether text
the attacker put in it (a search term, a filter in the URL) matches text elsewhere in it:
the CSRF token, or the data on the page. The attacker needs the victim's browser to send
many such requests with the victim's cookies, from the attacker's page, and to watch the
encrypted lengths. Flask-Compress has no defence; Flask-WTF sends the same token payload
in every page (signed, not masked per response as Django's is); Django's GZipMiddleware
pads gzip output with random bytes, which only slows the attack down; Datasette leaves
compression to a proxy or plugin.

The rule here removes the precondition instead: a dynamic response is compressed only
when the browser says the request came from this site itself (``Sec-Fetch-Site:
same-origin``) or from the user directly (``none``: typed, bookmarked). A request an
attacker's page causes, by link, form, image or script, says ``cross-site`` or
``same-site`` and is answered uncompressed, as is one that says nothing (an old browser
cannot be told apart from an attacked one). Static files are compressed for everyone:
they are the same public bytes for every client and hold no secret.
"""

from __future__ import annotations

import typing as t

from flask import Flask, request
from flask_compress import Compress

from dashboard.web.static_files import is_static_endpoint

#: What ``Sec-Fetch-Site`` says of a request no other site could have caused.
_OWN_REQUESTS = frozenset({"same-origin", "none"})

_MIMETYPES = [
    "text/html",
    "text/css",
    "text/javascript",
    "application/javascript",
    "application/json",
    "text/csv",
    "text/plain",
    "image/svg+xml",
]


def may_compress(response: t.Any) -> bool:
    """Whether this request's ``response`` may be compressed (see the module's BREACH rule)."""
    if response.status_code == 206 or "Content-Range" in response.headers:
        # Range offsets count the file's own bytes, not compressed ones.
        return False
    if is_static_endpoint(request.endpoint):
        return True
    return request.headers.get("Sec-Fetch-Site") in _OWN_REQUESTS


def init_app(app: Flask) -> None:
    """Compress ``app``'s responses under :func:`may_compress`.

    Call it before any other ``after_request`` hook is registered: Flask runs them last
    registered first, so this one sees the body and headers every other hook has finished.
    """
    app.config["COMPRESS_REGISTER"] = False
    app.config["COMPRESS_MIMETYPES"] = _MIMETYPES
    app.config["COMPRESS_STREAMS"] = True
    compress = Compress()
    compress.init_app(app)

    def compressed(response: t.Any) -> t.Any:
        if not may_compress(response):
            return response
        if is_static_endpoint(request.endpoint) and response.status_code == 200 and response.mimetype in _MIMETYPES:
            # A static file arrives as a stream; read whole (they are small), it is compressed
            # whole: gzip applies too, and Flask-Compress answers If-None-Match against the
            # compressed ETag, which its streaming path does only for an endpoint named "static".
            response.direct_passthrough = False
            response.make_sequence()
        return compress.after_request(response)

    app.after_request(compressed)
