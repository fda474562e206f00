"""``dashboard.security.permissions.can``: what it answers per role and per ``TABLES.<t>.roles``
override, asked inside a real request of a logged-in operator, and that the pages agree with it."""

from __future__ import annotations

import pytest

from dashboard.plugins.runtime import DETAILS_ACTION
from dashboard.security import audit, auth
from dashboard.security.permissions import can, operator_role
from dashboard.site_state import current_site
from tests.apps import logged_in, make_app

ALL = set(auth.TABLE_ACTIONS)
OVERRIDES = {
    "payments": {"roles": {"editor": ["view"], "viewer": []}},
    "child": {"roles": {"viewer": ["view"], "admin": ["view", "export"]}},
}
#: role -> (table -> the actions can() allows on it, whether it allows the site-wide actions)
EXPECTED = {
    "viewer": ({"parent": {"view", "export"}, "child": {"view"}, "payments": set()}, False),
    "editor": ({"parent": ALL, "child": ALL, "payments": {"view"}}, False),
    "admin": ({"parent": ALL, "child": {"view", "export"}, "payments": ALL}, True),
}
SITE_WIDE = ("manage_users", audit.READ_ACTION, DETAILS_ACTION, "page:anything")


@pytest.fixture
def app(small_database_url, tmp_path):
    return make_app(small_database_url, tmp_path / "instance", TABLES=OVERRIDES)


def _answers() -> tuple[dict[str, set[str]], dict[str, bool]]:
    views = current_site().views
    tables = {table: {a for a in auth.TABLE_ACTIONS if can(a, views[table].info)} for table in EXPECTED["admin"][0]}
    return tables, {action: can(action) for action in SITE_WIDE}


@pytest.mark.parametrize("role", list(EXPECTED))
def test_can_answers_per_role_and_table_override(app, role):
    client = logged_in(app, role)
    expected_tables, site_wide = EXPECTED[role]
    with client:  # keeps the request context of the page: the operator's own session
        assert client.get("/admin/").status_code == 200
        tables, others = _answers()
        assert operator_role() == role
    assert tables == expected_tables
    assert others == dict.fromkeys(SITE_WIDE, site_wide)


@pytest.mark.parametrize("role", list(EXPECTED))
def test_pages_agree_with_can(app, role):
    client = logged_in(app, role)
    expected_tables, site_wide = EXPECTED[role]
    for table, actions in expected_tables.items():
        listing = client.get(f"/admin/{table}/")
        assert listing.status_code == (200 if "view" in actions else 403), table
        if "view" in actions:
            assert (f'href="/admin/{table}/new/' in listing.get_data(as_text=True)) == ("create" in actions), table
        exported = client.get(f"/admin/{table}/export/csv/")
        exported.get_data()  # a streamed file: read to its end, then closed
        exported.close()
        assert (exported.status_code == 200) == ("export" in actions), table
    assert client.get("/admin/-/audit/").status_code == (200 if site_wide else 403)


def test_can_denies_without_an_operator(app):
    info = current_site(app).views["parent"].info
    assert can("view", info) is False  # no app at all
    with app.app_context():
        assert can("view", info) is False  # no request
    with app.test_request_context("/admin/"):
        assert can("view", info) is False and can("manage_users") is False  # nobody logged in
        assert operator_role() is None


def test_a_site_without_an_authorizer_denies_everything(app):
    client = logged_in(app, "admin")
    current_site(app).authorize = None
    with client:
        assert client.get("/admin/parent/").status_code == 403
        assert can("view", current_site().views["parent"].info) is False
        assert can(audit.READ_ACTION) is False
        assert operator_role() is None
    assert client.get("/admin/-/audit/").status_code == 403
