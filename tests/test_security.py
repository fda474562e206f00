"""CSRF, the Content-Security-Policy and the other headers of every response.

Test names carry the number of the case they cover in shared/SECURITY-CHECKLIST.md.
"""

from __future__ import annotations

import contextlib
import re
import threading
import typing as t
from pathlib import Path

import pytest

import dashboard
from tests.apps import add_user, csrf_token, login, make_app, table_rows


@pytest.fixture
def app(small_database_url, tmp_path):
    return make_app(small_database_url, tmp_path / "instance")


def _get(client, url: str, **kwargs: t.Any) -> t.Any:
    """GET ``url`` and close the response (static files hold an open file otherwise)."""
    with client.get(url, **kwargs) as response:
        response.get_data()
        return response


# -- 14: CSRF -------------------------------------------------------------------------------


def _writes(token: str | None) -> list[tuple[str, dict[str, str]]]:
    extra = {} if token is None else {"csrf_token": token}
    return [
        ("/admin/parent/new/", {"id": "9", "name": "forged", **extra}),
        ("/admin/parent/edit/?id=1", {"name": "forged", **extra}),
        ("/admin/parent/delete/", {"id": "2", **extra}),
        ("/admin/parent/action/", {"action": "delete", "rowid": "2", **extra}),
    ]


@pytest.mark.parametrize("index", range(4), ids=["create", "edit", "delete", "bulk-delete"])
def test_14_csrf_missing_token_is_refused_and_db_unchanged(app, logged_in_client, small_database_url, index):
    client = logged_in_client(app, "admin")
    before = table_rows(small_database_url, "parent")
    url, data = _writes(None)[index]
    response = client.post(url, data=data)
    assert response.status_code == 400
    assert "Nothing was changed" in response.get_data(as_text=True)
    assert table_rows(small_database_url, "parent") == before


@pytest.mark.parametrize("index", range(4), ids=["create", "edit", "delete", "bulk-delete"])
def test_14_csrf_token_of_another_session_is_refused(app, logged_in_client, small_database_url, index):
    victim = logged_in_client(app, "admin", "victim")
    attacker = logged_in_client(app, "admin", "attacker")
    stolen = csrf_token(attacker)
    before = table_rows(small_database_url, "parent")
    url, data = _writes(stolen)[index]
    assert victim.post(url, data=data).status_code == 400
    assert table_rows(small_database_url, "parent") == before


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_14_csrf_cross_site_fetch_is_refused_even_with_a_token(app, logged_in_client, small_database_url, site):
    client = logged_in_client(app, "admin")
    token = csrf_token(client)
    before = table_rows(small_database_url, "parent")
    for url, data in _writes(token):
        assert client.post(url, data=data, headers={"Sec-Fetch-Site": site}).status_code == 403
    assert table_rows(small_database_url, "parent") == before


def test_14_csrf_valid_token_from_own_page_is_accepted(app, logged_in_client, small_database_url):
    client = logged_in_client(app, "admin")
    token = csrf_token(client, "/admin/parent/")
    response = client.post(
        "/admin/parent/delete/", data={"id": "2", "csrf_token": token}, headers={"Sec-Fetch-Site": "same-origin"}
    )
    assert response.status_code == 302
    assert [row[0] for row in table_rows(small_database_url, "parent")] == [1]


def test_14_csrf_on_login_and_logout(app, logged_in_client):
    add_user(app, "alice", "viewer")
    anonymous = app.test_client()
    assert anonymous.post("/login", data={"username": "alice", "password": "correct horse battery"}).status_code == 400
    client = logged_in_client(app)
    assert client.post("/logout").status_code == 400
    assert client.get("/admin/").status_code == 200


def test_14_csrf_token_ends_with_the_session(app, logged_in_client, small_database_url):
    client = logged_in_client(app, "admin", "alice")
    token = csrf_token(client, "/admin/parent/")
    client.post("/logout", data={"csrf_token": token})
    login(client, "alice")
    assert client.post("/admin/parent/delete/", data={"id": "2", "csrf_token": token}).status_code == 400
    assert len(table_rows(small_database_url, "parent")) == 2


# -- 15: GET never mutates ------------------------------------------------------------------


def test_15_get_on_write_urls_changes_nothing(app, logged_in_client, small_database_url):
    client = logged_in_client(app, "admin")
    before = table_rows(small_database_url, "parent")
    for url in ("/admin/parent/delete/?id=2", "/admin/parent/action/?action=delete&rowid=2", "/logout"):
        assert client.get(url).status_code in (302, 404, 405)
    assert table_rows(small_database_url, "parent") == before
    assert client.get("/admin/").status_code == 200


# -- 17: framing, and the other headers -----------------------------------------------------


PAGES = [
    "/login",
    "/healthz",
    "/admin/",
    "/admin/parent/",
    "/admin/parent/details/?id=1",
    "/admin/parent/edit/?id=1",
    "/admin/parent/new/",
    "/admin/parent/export/csv/",
    "/no/such/page",
    "/dashboard-static/dashboard.css",
    "/admin/-/static/admin/js/helpers.js",
]


@pytest.mark.parametrize("url", PAGES)
def test_17_clickjacking_headers(app, logged_in_client, url):
    response = _get(logged_in_client(app), url)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_17_headers_on_anonymous_and_error_responses(app):
    client = app.test_client()
    for url in ("/admin/", "/login", "/no/such/page"):
        response = _get(client, url)
        assert response.headers["X-Frame-Options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    response = client.post("/admin/parent/delete/", data={"id": "1"})
    assert response.status_code == 401 and response.headers["X-Frame-Options"] == "DENY"


def test_34_pages_are_never_cached_static_files_may_be(app, logged_in_client):
    client = logged_in_client(app)
    for url in ("/admin/", "/admin/parent/", "/admin/parent/export/csv/", "/login"):
        assert _get(client, url).headers["Cache-Control"] == "no-store"
    assert "no-store" not in _get(client, "/dashboard-static/dashboard.css").headers.get("Cache-Control", "")


def test_18_hsts_only_when_served_over_https(small_database_url, tmp_path):
    plain = make_app(small_database_url, tmp_path / "plain")
    secure = make_app(small_database_url, tmp_path / "secure", HTTPS=True)
    assert "Strict-Transport-Security" not in _get(plain.test_client(), "/login").headers
    assert _get(secure.test_client(), "/login").headers["Strict-Transport-Security"].startswith("max-age=")


# -- 12: strict Content-Security-Policy -----------------------------------------------------


def _directives(header: str) -> dict[str, list[str]]:
    parts = (p.strip().split() for p in header.split(";") if p.strip())
    return {p[0]: p[1:] for p in parts}


@pytest.mark.parametrize(
    "url", ["/admin/", "/admin/parent/", "/admin/child/edit/?id=1", "/admin/child/new/", "/admin/child/details/?id=1"]
)
def test_12_csp_scripts_need_this_requests_nonce(app, logged_in_client, url):
    response = _get(logged_in_client(app), url)
    assert response.status_code == 200
    policy = _directives(response.headers["Content-Security-Policy"])
    scripts = policy["script-src"]
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts
    nonces = [s for s in scripts if s.startswith("'nonce-")]
    assert len(nonces) == 1
    nonce = nonces[0][len("'nonce-") : -1]
    assert policy["style-src"] == ["'self'", f"'nonce-{nonce}'"]
    assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
    page = response.get_data(as_text=True)
    # Every script and <style> carries the nonce; stylesheets come from this site ('self').
    tags = re.findall(r"<(?:script|style)\b[^>]*>", page)
    assert tags
    for tag in tags:
        assert f'nonce="{nonce}"' in tag, tag
    for href in re.findall(r'<link\b[^>]*rel="stylesheet"[^>]*>', page):
        assert re.search(r'href="/[^/]', href), href


def test_12_csp_nonce_differs_per_request(app, logged_in_client):
    client = logged_in_client(app)
    headers = {_get(client, "/admin/").headers["Content-Security-Policy"] for _ in range(3)}
    assert len(headers) == 3


@pytest.mark.parametrize(
    "url",
    [
        "/admin/parent/",
        "/admin/child/",
        "/admin/parent/details/?id=1",
        "/admin/parent/edit/?id=1",
        "/admin/parent/new/",
        "/admin/",
        "/login",
    ],
)
def test_12_no_inline_event_handlers(app, logged_in_client, url):
    client = app.test_client() if url == "/login" else logged_in_client(app, "admin")
    response = _get(client, url)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", page, re.IGNORECASE), "inline event handler"
    assert "onclick=" not in page


def test_12_list_page_uses_data_attributes_and_the_handlers_script(app, logged_in_client):
    client = logged_in_client(app, "admin")
    page = _get(client, "/admin/child/").get_data(as_text=True)
    assert 'data-dashboard-action="delete"' in page  # bulk actions
    assert "data-dashboard-confirm=" in page  # delete buttons
    assert 'class="dropdown-menu field-filters"' in page  # the filter menu, filled by static/filters.js
    # handlers.js is part of the site's script bundle, which every page loads with its nonce.
    bundle = re.search(r'<script nonce="[^"]+" src="(/admin/-/bundle/site.js)\?v=[0-9a-f]{12}">', page)
    assert bundle
    handlers = (Path(dashboard.__file__).parent / "static" / "handlers.js").read_bytes()
    assert handlers in _get(client, bundle.group(1)).get_data()


@pytest.mark.e2e
def test_12_whole_ui_in_a_browser_has_no_csp_violations(small_database_url, tmp_path, chromium):
    from werkzeug.serving import make_server

    app = make_app(small_database_url, tmp_path / "instance")
    add_user(app, "alice", "admin")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    violations: list[str] = []
    errors: list[str] = []
    try:
        # A context of its own in the worker's one Chromium (tests.browser).
        with contextlib.closing(chromium.new_context()) as context:
            page = context.new_page()
            page.add_init_script(
                "document.addEventListener('securitypolicyviolation', e => "
                "console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sample))"
            )
            page.on("console", lambda m: (violations if "CSP violation" in m.text else []).append(m.text))
            page.on("pageerror", lambda e: errors.append(str(e)))

            page.goto(base + "/admin/child/")
            page.fill("#username", "alice")
            page.fill("#password", "correct horse battery")
            page.click("button[type=submit]")
            page.wait_for_url(base + "/admin/child/")
            for url in (
                "/admin/",
                "/admin/parent/",
                "/admin/parent/details/?id=1",
                "/admin/parent/edit/?id=1",
                "/admin/parent/new/",
                "/admin/child/edit/?id=1",
            ):
                page.goto(base + url)
                page.wait_for_load_state("networkidle")

            page.goto(base + "/admin/child/")
            page.click("text=Add Filter")
            page.click("a.filter >> nth=0")
            assert page.locator("table.filters tr").count() == 1  # the filter menu works
            assert page.url == base + "/admin/child/"
            page.click("a.nav-link.active")  # a javascript:void(0) link is not followed

            page.once("dialog", lambda d: d.dismiss())
            page.click("button[form=dashboard-delete] >> nth=0")  # delete button, cancelled
            page.wait_for_timeout(200)
            assert table_rows(small_database_url, "child") != []

            page.check("input.action-checkbox >> nth=0")
            page.once("dialog", lambda d: d.accept())
            page.click("text=With selected")
            page.click("[data-dashboard-action=delete]")  # bulk delete, confirmed
            page.wait_for_load_state("networkidle")
            assert table_rows(small_database_url, "child") == []

            page.goto(base + "/admin/parent/")
            page.once("dialog", lambda d: d.accept())
            page.click("button[form=dashboard-delete] >> nth=1")  # row delete, confirmed
            page.wait_for_load_state("networkidle")
            assert [row[0] for row in table_rows(small_database_url, "parent")] == [1]

            page.click("text=Log out")
            page.wait_for_url(base + "/login")
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert violations == []
    assert errors == []
