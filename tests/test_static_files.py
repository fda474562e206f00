"""Static file URLs carry their file's fingerprint and are cached for a year; others revalidate."""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import shutil
import typing as t
from pathlib import Path
from urllib.parse import urljoin

import pytest
from flask import url_for

from tests.apps import logged_in, make_app, make_small_database

IMMUTABLE = "public, max-age=31536000, immutable"
STATIC_URL = re.compile(r'(?:href|src)="(/(?:dashboard-static|admin/-/static|admin/-/bundle)/[^"?]+)(?:\?v=([^"&]*))?"')
_NAMES = itertools.count()
OWN_STATIC = Path(__file__).resolve().parent.parent / "dashboard" / "static"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    folder = tmp_path_factory.mktemp("static")
    return make_app(make_small_database(folder / "target.db"), folder / "instance")


def _get(client, url: str, **kwargs: t.Any) -> t.Any:
    """GET ``url`` and close the response (static files hold an open file otherwise)."""
    with client.get(url, **kwargs) as response:
        response.get_data()
        return response


def _unique_name() -> str:
    return f"operator-{next(_NAMES)}"


def _static_urls(page: str) -> dict[str, str | None]:
    return {path: fingerprint for path, fingerprint in STATIC_URL.findall(page)}


def _fingerprint(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def test_every_static_url_of_a_page_carries_its_files_fingerprint(app):
    client = logged_in(app, "admin", _unique_name())
    urls = _static_urls(_get(client, "/admin/parent/").get_data(as_text=True))
    # A list page loads four bundles: the site's styles and scripts, the list's.
    assert set(urls) == {f"/admin/-/bundle/{name}" for name in ("site.css", "site.js", "list.css", "list.js")}
    assert all(re.fullmatch(r"[0-9a-f]{12}", fingerprint or "") for fingerprint in urls.values()), urls
    # The fingerprint is the bundle's content.
    for path, fingerprint in urls.items():
        assert hashlib.sha256(_get(client, path).get_data()).hexdigest()[:12] == fingerprint, path
    # A page without bundles of its own (the login page) names single files, fingerprinted too.
    login = _static_urls(_get(app.test_client(), "/login").get_data(as_text=True))
    assert login["/dashboard-static/dashboard.css"] == _fingerprint(OWN_STATIC / "dashboard.css")
    assert login["/admin/-/static/bootstrap/bootstrap4/css/bootstrap.min.css"] != "4.6.2"


def test_a_bundle_is_its_files_in_order_and_cached_like_one(app):
    client = app.test_client()  # no login: static files need none
    admin_static = Path(app.blueprints["admin"].static_folder)
    script = _get(client, "/admin/-/bundle/site.js")
    assert script.status_code == 200 and script.mimetype == "text/javascript"
    body = script.get_data()
    parts = [
        (admin_static / "vendor/jquery.min.js").read_bytes(),
        (admin_static / "admin/js/helpers.js").read_bytes(),
        (OWN_STATIC / "navigation.js").read_bytes(),
        (OWN_STATIC / "handlers.js").read_bytes(),
    ]
    positions = [body.index(part) for part in parts]
    assert positions == sorted(positions)
    fingerprint = hashlib.sha256(body).hexdigest()[:12]
    fresh = _get(client, f"/admin/-/bundle/site.js?v={fingerprint}")
    assert fresh.headers["Cache-Control"] == IMMUTABLE and "Set-Cookie" not in fresh.headers
    assert _get(client, "/admin/-/bundle/site.js?v=0123456789ab").headers["Cache-Control"] == "no-cache"
    assert _get(client, "/admin/-/bundle/site.js", headers={"If-None-Match": f'"{fingerprint}"'}).status_code == 304
    for missing in ("/admin/-/bundle/no-such.js", "/admin/-/bundle/../static/admin/js/helpers.js"):
        assert _get(client, missing).status_code == 404, missing


def test_a_bundled_style_sheet_still_finds_its_fonts_and_images(app):
    client = app.test_client()
    for name in ("site.css", "list.css"):
        css = _get(client, f"/admin/-/bundle/{name}").get_data(as_text=True)
        addresses = [a for a in re.findall(r"""url\(\s*['"]?([^'")]+)""", css) if not a.startswith("data:")]
        assert addresses, name
        for address in addresses:
            # The browser resolves each against the bundle's URL; every one names a file served.
            path = re.split(r"[?#]", urljoin(f"/admin/-/bundle/{name}", address))[0]
            assert _get(client, path).status_code == 200, (name, address, path)
    assert "fontawesome-webfont.woff2" in _get(client, "/admin/-/bundle/site.css").get_data(as_text=True)


def test_the_login_page_needs_no_login_for_its_fingerprinted_files(app):
    client = app.test_client()
    urls = _static_urls(_get(client, "/login").get_data(as_text=True))
    assert "/dashboard-static/dashboard.css" in urls
    for path, fingerprint in urls.items():
        response = _get(client, f"{path}?v={fingerprint}")
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == IMMUTABLE


def test_a_fingerprinted_file_is_cached_for_a_year_others_are_revalidated(app):
    client = logged_in(app, "admin", _unique_name())
    fingerprint = _fingerprint(OWN_STATIC / "dashboard.css")
    fresh = _get(client, f"/dashboard-static/dashboard.css?v={fingerprint}")
    assert fresh.status_code == 200
    assert fresh.get_data() == (OWN_STATIC / "dashboard.css").read_bytes()
    assert fresh.headers["Cache-Control"] == IMMUTABLE
    # A public response holds no one's session cookie and is the same whoever asks.
    assert "Set-Cookie" not in fresh.headers
    assert "Cookie" not in fresh.headers.get("Vary", "")
    # The security headers of every response are still there.
    assert "frame-ancestors 'none'" in fresh.headers["Content-Security-Policy"]
    assert fresh.headers["X-Content-Type-Options"] == "nosniff"
    for url in (
        "/dashboard-static/dashboard.css",
        "/dashboard-static/dashboard.css?v=0123456789ab",
        "/admin/-/static/admin/js/helpers.js?v=1.1.1",
    ):
        response = _get(client, url)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "no-cache", url
    # Pages themselves are still never kept.
    assert _get(client, "/admin/parent/").headers["Cache-Control"] == "no-store"


def test_a_changed_file_gets_a_new_url(small_database_url, tmp_path):
    app = make_app(small_database_url, tmp_path / "instance")
    copy = tmp_path / "static"
    shutil.copytree(OWN_STATIC, copy)
    app.blueprints["dashboard:static"].static_folder = str(copy)
    client = app.test_client()
    before = _static_urls(_get(client, "/login").get_data(as_text=True))["/dashboard-static/dashboard.css"]

    css = copy / "dashboard.css"
    css.write_text(css.read_text() + "\n.changed { color: red; }\n")
    os.utime(css, ns=(css.stat().st_atime_ns, css.stat().st_mtime_ns + 1_000_000_000))
    after = _static_urls(_get(client, "/login").get_data(as_text=True))["/dashboard-static/dashboard.css"]

    assert after != before and after == _fingerprint(css)
    fresh = _get(client, f"/dashboard-static/dashboard.css?v={after}")
    assert fresh.headers["Cache-Control"] == IMMUTABLE and b".changed" in fresh.get_data()
    assert _get(client, f"/dashboard-static/dashboard.css?v={before}").headers["Cache-Control"] == "no-cache"
    # The bundle holding it is joined again, under a new fingerprint.
    with app.test_request_context():
        bundle_url = url_for("dashboard:bundle.static", filename="site.css")
    bundled = _get(client, bundle_url)
    assert b".changed { color: red; }" in bundled.get_data() and bundled.headers["Cache-Control"] == IMMUTABLE


def test_a_missing_file_is_404_and_its_url_has_no_fingerprint(app):
    client = logged_in(app, "admin", _unique_name())
    with app.test_request_context():
        assert url_for("dashboard:static.static", filename="no-such.css") == "/dashboard-static/no-such.css"
        assert url_for("dashboard:static.static", filename="../app.py") == "/dashboard-static/../app.py"
    assert _get(client, "/dashboard-static/no-such.css").status_code == 404
