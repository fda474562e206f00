"""Responses compressed where the client accepts it, never where BREACH could read them.

See :mod:`dashboard.web.compression` for the rule: pages only for requests the browser says
this site (or the user) made, static files for everyone, exports still streamed.
"""

from __future__ import annotations

import gzip
import itertools
import re
import typing as t
import zlib
from pathlib import Path

import brotli
import pytest

from tests.apps import logged_in, make_app, make_small_database

OWN_STATIC = Path(__file__).resolve().parent.parent / "dashboard" / "static"
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}
_NAMES = itertools.count()


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compression")
    return make_app(make_small_database(folder / "target.db"), folder / "instance")


@pytest.fixture
def client(app):
    return logged_in(app, "admin", f"operator-{next(_NAMES)}")


def _get(client, url: str, **kwargs: t.Any) -> t.Any:
    """GET ``url`` and close the response (static files hold an open file otherwise)."""
    with client.get(url, **kwargs) as response:
        response.get_data()
        return response


def _per_request_values_out(page: str) -> str:
    """A page without what differs at every request: the CSP nonce, the CSRF token."""
    page = re.sub(r'nonce="[^"]*"', 'nonce=""', page)
    return re.sub(r'(name="csrf_token"[^>]*value=|value=)"[A-Za-z0-9._-]{40,}"', r'\1""', page)


def test_a_page_asked_for_with_gzip_by_this_site_comes_compressed(client):
    plain = _get(client, "/admin/parent/", headers=SAME_ORIGIN)
    compressed = _get(client, "/admin/parent/", headers={**SAME_ORIGIN, "Accept-Encoding": "gzip"})
    assert plain.status_code == compressed.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert compressed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in compressed.headers["Vary"]
    assert int(compressed.headers["Content-Length"]) == len(compressed.get_data()) < len(plain.get_data())
    html = gzip.decompress(compressed.get_data()).decode()
    assert "<table" in html
    assert _per_request_values_out(html) == _per_request_values_out(plain.get_data(as_text=True))
    assert compressed.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("site", ["cross-site", "same-site", None])
def test_a_page_another_site_may_have_caused_is_never_compressed(client, site):
    # BREACH: an attacker's page makes the victim's browser send these requests.
    headers = {"Accept-Encoding": "gzip, deflate, br, zstd"} | ({"Sec-Fetch-Site": site} if site else {})
    response = _get(client, "/admin/parent/?search=guess", headers=headers)
    assert response.status_code == 200
    assert "Content-Encoding" not in response.headers
    assert "<table" in response.get_data(as_text=True)


def test_the_login_page_follows_the_same_rule(app):
    client = app.test_client()
    typed = _get(client, "/login", headers={"Sec-Fetch-Site": "none", "Accept-Encoding": "br"})
    assert typed.headers["Content-Encoding"] == "br"
    assert 'name="csrf_token"' in brotli.decompress(typed.get_data()).decode()
    linked = _get(client, "/login", headers={"Sec-Fetch-Site": "cross-site", "Accept-Encoding": "br"})
    assert "Content-Encoding" not in linked.headers


def test_static_files_are_compressed_for_everyone(app):
    client = app.test_client()
    css = (OWN_STATIC / "dashboard.css").read_bytes()
    response = _get(
        client, "/dashboard-static/dashboard.css", headers={"Sec-Fetch-Site": "cross-site", "Accept-Encoding": "gzip"}
    )
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.get_data()) == css
    assert "Cookie" not in response.headers["Vary"]
    # A revalidation with the compressed copy's ETag is answered "not modified".
    again = _get(
        client,
        "/dashboard-static/dashboard.css",
        headers={"Accept-Encoding": "gzip", "If-None-Match": response.headers["ETag"]},
    )
    assert again.status_code == 304
    plain = _get(client, "/dashboard-static/dashboard.css")
    assert "Content-Encoding" not in plain.headers and plain.get_data() == css


def test_a_csv_export_is_compressed_while_it_streams(client):
    plain = _get(client, "/admin/parent/export/csv/", headers=SAME_ORIGIN).get_data(as_text=True)
    assert plain.splitlines()[0].startswith("id,")
    with client.get(
        "/admin/parent/export/csv/", buffered=False, headers={**SAME_ORIGIN, "Accept-Encoding": "deflate, gzip"}
    ) as response:
        # Still a stream: no length known in advance, chunks compressed as they come.
        assert response.is_streamed
        assert "Content-Length" not in response.headers
        assert response.headers["Content-Encoding"] == "deflate"
        body = b"".join(response.response)
    assert zlib.decompress(body).decode() == plain
