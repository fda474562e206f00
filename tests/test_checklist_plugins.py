"""Case 23 of shared/SECURITY-CHECKLIST.md, and the plugin part of cases 14 and 36.

A plugin page is deny-by-default (login and a role), inherits CSRF, the CSP nonce and
escaping; a plugin that raises takes down neither the listings nor the other pages; and in
read-only mode a plugin can write neither through the dashboard nor, being buggy, through
the app's engine directly. Plugins live in a temporary plugins folder
(:mod:`tests.plugin_kit`); the tables they touch are the hostile schema's, on SQLite,
PostgreSQL and MariaDB. See also ``test_pages.py`` and ``test_plugins.py``.
"""

from __future__ import annotations

import re

import pytest

from tests import schemas
from tests.apps import csrf_token, logged_in
from tests.plugin_kit import plugin_site
from tests.site import rows

PLUGIN = '''
from flask import current_app, request
from sqlalchemy import text

from dashboard.hookspecs import hookimpl
from dashboard.pages import BulkAction, Page
from dashboard.writes import table_writer

HOSTILE = "<script>alert('plugin')</script>"


class Unlabelled(Page):
    """No roles declared: administrators only."""
    title = "Unlabelled"
    template = "probe/page.html"

    def context(self):
        return {"value": HOSTILE, "argument": request.args.get("q", "")}

    def post(self):
        table_writer("tags", plugin="probe").update({"id": 1}, {"name": request.form["name"]})


class Careless(Page):
    """Writes with raw SQL on the app's own engine, past every check of the dashboard."""
    title = "Careless"
    roles = ("editor",)

    def post(self):
        engine = current_app.extensions["dashboard"].engine
        quoted = engine.dialect.identifier_preparer.quote("tags")
        with engine.begin() as connection:
            connection.execute(text(f"UPDATE {quoted} SET name = :n WHERE id = 1"), {"n": request.form["name"]})


class Broken(Page):
    title = "Broken"

    def context(self):
        raise RuntimeError("the plugin broke")


def rename(rows, writer):
    for row in rows:
        writer.update(row, {"name": f"renamed {row['id']}"})
    return "renamed"


@hookimpl
def register_pages():
    return [Unlabelled, Careless, Broken]


@hookimpl
def table_actions(table):
    return [BulkAction(name="rename", label="Rename", run=rename)] if table.name == "tags" else None


@hookimpl
def cell_renderer(table, column):
    if table.name == "tags" and column.name == "name":
        def render(value, row):
            raise ValueError("renderer broke")
        return render
    return None
'''
FILES = {
    "probe": {
        "static/probe.css": "p { color: teal; }",
        "templates/probe/page.html": """
    {% extends "dashboard/page.html" %}
    {% block page_content %}<p id="value">{{ value }}</p><p id="argument">{{ argument }}</p>
    <script nonce="{{ csp_nonce() }}">document.body.dataset.probe = "ran";</script>{% endblock %}
""",
    }
}


@pytest.fixture
def make(hostile_database_url, tmp_path):
    """``make(role, **settings)``: a site with the probe plugin on the hostile database, logged in as ``role``."""
    sites = []

    def build(role: str = "admin", **settings):
        other = schemas.other_schema_name(hostile_database_url)
        site = plugin_site(
            hostile_database_url,
            tmp_path / f"site{len(sites)}",
            {"probe": PLUGIN},
            role=role,
            files=FILES,
            SCHEMAS=[other] if other else [],
            **settings,
        )
        sites.append(site)
        return site

    yield build
    for site in sites:
        site.state.engine.dispose()


def tag_names(url: str) -> list[str]:
    return [name for _id, name in sorted(rows(url, schemas.TAGS))]


TAGS = ["vip", "<i>new</i>", "a,b"]


def test_23_a_page_without_roles_needs_a_login_and_the_admin_role(make):
    site = make("admin")
    anonymous = site.app.test_client().get("/admin/-/pages/unlabelled/")
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login")
    for role in ("viewer", "editor"):
        client = logged_in(site.app, role)
        assert client.get("/admin/-/pages/unlabelled/").status_code == 403
        assert (
            client.post("/admin/-/pages/unlabelled/", data={"name": "x", "csrf_token": csrf_token(client)}).status_code
            == 403
        )
        assert "/admin/-/pages/unlabelled/" not in client.get("/admin/").get_data(as_text=True)
    assert site.get("/admin/-/pages/unlabelled/").status_code == 200


def test_23_plugin_pages_escape_and_carry_the_csp_nonce(make):
    site = make("admin")
    response = site.get("/admin/-/pages/unlabelled/?q=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
    page = response.get_data(as_text=True)
    assert "<script>alert('plugin')" not in page and "&lt;script&gt;alert(&#39;plugin&#39;)" in page
    assert "<img src=x" not in page
    nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    assert f'<script nonce="{nonce}">document.body.dataset.probe' in page
    assert response.headers["X-Frame-Options"] == "DENY" and response.headers["Cache-Control"] == "no-store"


def test_23_plugin_posts_need_this_sessions_csrf_token(make, hostile_database_url):
    site = make("admin")
    other = logged_in(site.app, "admin", username="other-admin")
    for data, headers in [
        ({"name": "forged"}, {}),
        ({"name": "forged", "csrf_token": csrf_token(other)}, {}),
        ({"name": "forged", "csrf_token": site.token()}, {"Sec-Fetch-Site": "cross-site"}),
    ]:
        assert site.client.post("/admin/-/pages/unlabelled/", data=data, headers=headers).status_code in (400, 403)
        response = site.client.post(
            site.url(schemas.TAGS, "action"), data={"action": "rename", "rowid": ["1"], **data}, headers=headers
        )
        assert response.status_code in (400, 403)
    assert tag_names(hostile_database_url) == TAGS
    assert site.post("/admin/-/pages/unlabelled/", {"name": "renamed by the page"}).status_code == 302
    assert tag_names(hostile_database_url)[0] == "renamed by the page"


def test_23_a_plugin_that_raises_takes_down_neither_listings_nor_other_pages(make):
    site = make("admin")
    broken = site.get("/admin/-/pages/broken/")
    assert broken.status_code == 500 and "its plugin failed" in broken.get_data(as_text=True)
    listing = site.text(site.url(schemas.TAGS))
    # The renderer that raises leaves each name to the default rendering (escaped), and is reported once.
    assert "dashboard-cell-error" not in listing and "&lt;i&gt;new&lt;/i&gt;" in listing and "<i>new</i>" not in listing
    assert [p.part for p in site.app.extensions["dashboard_plugins"].problems].count("cell_renderer tags.name") == 1
    assert 'href="details/?id=1"' in listing  # (row links are relative to the list)
    for table in (schemas.CUSTOMERS, schemas.ORDER):
        assert site.get(site.url(table)).status_code == 200
    assert site.get("/admin/-/pages/unlabelled/").status_code == 200


def test_36_in_read_only_mode_no_plugin_writes_not_even_a_careless_one(make, hostile_database_url):
    site = make("admin", READ_ONLY=True)
    assert ">Rename<" not in site.text(site.url(schemas.TAGS))  # an edit action is not even offered
    refused = site.post("/admin/-/pages/unlabelled/", {"name": "written by the page"})
    assert refused.status_code == 403 and "read-only mode" in refused.get_data(as_text=True)
    action = site.post(
        site.url(schemas.TAGS, "action"), {"action": "rename", "rowid": ["1", "2"]}, token_from=site.url(schemas.TAGS)
    )
    assert action.status_code == 403
    editor = logged_in(site.app, "editor")
    careless = editor.post("/admin/-/pages/careless/", data={"name": "raw write", "csrf_token": csrf_token(editor)})
    assert careless.status_code == 500  # the database itself refused; the page says its plugin failed
    assert tag_names(hostile_database_url) == TAGS


def test_36_outside_read_only_mode_the_same_plugins_do_write(make, hostile_database_url):
    site = make("admin")
    assert ">Rename<" in site.text(site.url(schemas.TAGS))
    response = site.post(
        site.url(schemas.TAGS, "action"), {"action": "rename", "rowid": ["2", "3"]}, token_from=site.url(schemas.TAGS)
    )
    assert response.status_code == 302
    editor = logged_in(site.app, "editor")
    careless = editor.post("/admin/-/pages/careless/", data={"name": "raw write", "csrf_token": csrf_token(editor)})
    assert careless.status_code == 302
    assert tag_names(hostile_database_url) == ["raw write", "renamed 2", "renamed 3"]


TRAVERSALS = [
    "../__init__.py",
    "..%2f__init__.py",
    "%2e%2e/__init__.py",
    "%2e%2e%2f__init__.py",
    "..%5c__init__.py",
    "/etc/passwd",
    "%2fetc%2fpasswd",
    "../templates/probe/page.html",
    "../../probe/__init__.py",
]


def test_24_plugin_static_files_never_leave_their_folder(make):
    site = make("admin")
    with site.get("/plugins-static/probe/probe.css") as served:  # closed, or the file stays open
        assert served.data == b"p { color: teal; }"
    for path in TRAVERSALS:
        response = site.client.get(f"/plugins-static/probe/{path}", follow_redirects=True)
        assert response.status_code in (400, 404), path
        assert b"hookimpl" not in response.data and b"root:" not in response.data
        assert b"page_content" not in response.data
