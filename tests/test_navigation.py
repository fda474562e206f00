"""The navbar's table finder (dashboard/web/navigation.py): what it offers, to whom, in which order."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dashboard.site_state import current_site
from tests.apps import make_app as _make_app

TABLE_COUNT = 500


@pytest.fixture
def make_app():
    """``make_app`` whose apps close their connections before the test's database is dropped."""
    built = []

    def build(*args, **settings):
        app = _make_app(*args, **settings)
        built.append(app)
        return app

    yield build
    for app in built:
        current_site(app).engine.dispose()


def _tables(client) -> dict:
    response = client.get("/admin/-/navigation.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    return response.get_json()


def test_tables_are_found_with_the_navbar_search_not_a_menu_dropdown(
    small_database_url, tmp_path, logged_in_client, make_app
):
    client = logged_in_client(make_app(small_database_url, tmp_path / "instance"))
    page = client.get("/admin/parent/").get_data(as_text=True)
    assert 'id="dashboard-nav-search"' in page
    assert "/admin/-/navigation.json" in page
    # No menu entry links to the other tables: they are in the finder, not in a dropdown.
    assert 'href="/admin/payments/"' not in page
    assert {t["label"] for t in _tables(client)["tables"]} == {"parent", "child", "payments"}


def test_the_finder_offers_only_tables_the_operator_may_open(small_database_url, tmp_path, logged_in_client, make_app):
    app = make_app(
        small_database_url, tmp_path / "instance", TABLES={"payments": {"roles": {"editor": ["view"], "viewer": []}}}
    )
    viewer = logged_in_client(app, "viewer")
    assert [t["label"] for t in _tables(viewer)["tables"]] == ["child", "parent"]
    editor = logged_in_client(app, "editor")
    assert "payments" in [t["label"] for t in _tables(editor)["tables"]]


def test_the_finder_needs_a_login(small_database_url, tmp_path, make_app):
    client = make_app(small_database_url, tmp_path / "instance").test_client()
    response = client.get("/admin/-/navigation.json")
    assert response.status_code in (302, 401)
    assert b"payments" not in response.data


def test_recently_opened_tables_come_first_most_recent_first(small_database_url, tmp_path, logged_in_client, make_app):
    client = logged_in_client(make_app(small_database_url, tmp_path / "instance"))
    assert _tables(client)["recent"] == []
    for path in ("/admin/payments/", "/admin/parent/", "/admin/payments/?page=0"):
        assert client.get(path).status_code == 200
    assert _tables(client)["recent"] == ["payments", "parent"]
    # Only list pages count: a details page, here of a row that does not exist, does not.
    client.get("/admin/child/details/?id=999")
    assert _tables(client)["recent"] == ["payments", "parent"]


def test_a_table_the_operator_lost_access_to_leaves_the_recent_list(
    small_database_url, tmp_path, logged_in_client, make_app
):
    open_app = make_app(small_database_url, tmp_path / "instance")
    client = logged_in_client(open_app, "viewer")
    client.get("/admin/payments/")
    assert _tables(client)["recent"] == ["payments"]
    closed_app = make_app(small_database_url, tmp_path / "instance", TABLES={"payments": {"roles": {"viewer": []}}})
    closed = closed_app.test_client()
    # The same session cookie, presented to an app where viewers may no longer see payments.
    for cookie in client._cookies.values():
        closed.set_cookie(cookie.key, cookie.value, domain=cookie.domain)
    data = _tables(closed)
    assert "payments" not in data["recent"]
    assert "payments" not in [t["label"] for t in data["tables"]]


def test_hostile_table_names_are_data_in_the_finder(hostile_database_url, tmp_path, logged_in_client, make_app):
    client = logged_in_client(make_app(hostile_database_url, tmp_path / "instance"))
    data = _tables(client)
    labels = [t["label"] for t in data["tables"]]
    assert any("<" in label or '"' in label for label in labels), labels
    for table in data["tables"]:
        assert table["url"].startswith("/admin/")
        assert "<" not in table["url"] and '"' not in table["url"]


def test_five_hundred_tables_do_not_grow_every_page(tmp_path, logged_in_client, make_app):
    url = f"sqlite:///{tmp_path / 'wide.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for n in range(TABLE_COUNT):
            connection.exec_driver_sql(f"CREATE TABLE t_{n:03d} (id INTEGER PRIMARY KEY, name TEXT)")
    engine.dispose()
    client = logged_in_client(make_app(url, tmp_path / "instance"))
    page = client.get("/admin/t_250/").get_data(as_text=True)
    assert "t_499" not in page and "t_000" not in page
    data = _tables(client)
    assert len(data["tables"]) == TABLE_COUNT
    assert data["recent"] == ["t_250"]
