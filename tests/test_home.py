"""The home page: every relation the operator may open, with its size and editability."""

from __future__ import annotations

from tests.apps import logged_in, make_app


def test_home_shows_sizes_and_read_only_reasons(small_database_url, tmp_path):
    app = make_app(small_database_url, tmp_path)
    page = logged_in(app, "admin").get("/admin/").get_data(as_text=True)
    for table in ("parent", "child", "payments"):
        assert f">{table}</a>" in page
    assert ">2<" in page.replace(" ", "").replace("\n", "")  # two parents, counted exactly on SQLite


def test_25_home_hides_tables_the_role_may_not_view(small_database_url, tmp_path):
    app = make_app(small_database_url, tmp_path, TABLES={"payments": {"roles": {"viewer": []}}})
    viewer_page = logged_in(app, "viewer").get("/admin/").get_data(as_text=True)
    assert ">parent</a>" in viewer_page
    assert "payments" not in viewer_page
    admin_page = logged_in(app, "admin").get("/admin/").get_data(as_text=True)
    assert ">payments</a>" in admin_page


def test_root_redirects_to_admin_and_health_answers(small_database_url, tmp_path):
    app = make_app(small_database_url, tmp_path)
    assert app.test_client().get("/").headers["Location"].startswith("/login")
    assert logged_in(app).get("/").headers["Location"].endswith("/admin/")
    health = app.test_client().get("/healthz")
    assert health.status_code == 200 and health.get_data(as_text=True) == "ok\n"
