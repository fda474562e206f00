"""HTTP error pages: the status kept, the text in the operator's language, nothing of the request echoed."""

from __future__ import annotations

import html

import pytest

from tests.apps import csrf_token, logged_in, make_app


@pytest.fixture
def app(small_database_url, tmp_path):
    return make_app(small_database_url, tmp_path / "instance")


def test_a_missing_page_is_a_framed_404_in_the_operators_language(app) -> None:
    client = logged_in(app, "viewer")
    response = client.get("/admin/no-such-table/%3Cscript%3Ealert(1)%3C/script%3E/", headers={"Accept-Language": "de"})
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "Nicht gefunden" in page and "Unter dieser Adresse gibt es keine Seite." in page
    assert 'class="navbar' in page and 'lang="de"' in page  # the site's frame, in German
    assert "<script>alert(1)" not in page  # the path is only ever in the language menu's escaped return URL
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]


def test_a_refused_write_says_why_in_the_operators_language(app) -> None:
    client = logged_in(app, "viewer")
    token = csrf_token(client, "/admin/parent/")
    response = client.post(
        "/admin/parent/new/", data={"csrf_token": token, "id": "9", "name": "x"}, headers={"Accept-Language": "fr"}
    )
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 403
    assert "Non autorisé" in page and "Rien n'a été modifié." in page
    assert "Forbidden" not in page and "You don't have the permission" not in page


def test_a_method_the_address_does_not_take_is_a_405_with_allow(app) -> None:
    client = logged_in(app, "admin")
    response = client.get("/logout", headers={"Accept-Language": "ja"})
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]
    assert "ここではできません" in response.get_data(as_text=True)


def test_a_write_without_a_session_is_a_401_with_a_way_to_log_in(app) -> None:
    response = app.test_client().post("/admin/parent/new/", data={"name": "x"}, headers={"Accept-Language": "es"})
    page = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "No ha iniciado sesión" in page and 'href="/login"' in page
    assert 'lang="es"' in page


def test_an_unhandled_error_is_a_translated_500_without_the_traceback(app, caplog) -> None:
    @app.get("/admin/boom/")
    def boom():
        raise RuntimeError("SELECT secret FROM users WHERE x = '<script>alert(2)</script>'")

    app.config["PROPAGATE_EXCEPTIONS"] = False  # as served: the error is logged and answered
    client = logged_in(app, "admin")
    response = client.get("/admin/boom/", headers={"Accept-Language": "nl"})
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Er ging iets mis" in page
    assert "SELECT secret" not in page and "Traceback" not in page and "alert(2)" not in page
    assert any("SELECT secret" in record.getMessage() or record.exc_info for record in caplog.records)


def test_an_arabic_error_page_reads_right_to_left(app) -> None:
    response = logged_in(app, "viewer").get("/admin/nothing-here/", headers={"Accept-Language": "ar"})
    assert response.status_code == 404
    assert 'dir="rtl"' in response.get_data(as_text=True)


@pytest.mark.parametrize("name", ["endpoint", "_anchor", "_method", "_scheme", "_external", "export_type"])
@pytest.mark.parametrize(
    "path", ["/admin/parent/", "/admin/parent/export/csv/", "/admin/parent/details/?id=1", "/admin/"]
)
def test_an_argument_the_sites_links_cannot_carry_is_a_400_that_names_it(app, name, path) -> None:
    # The list rebuilds its links from its own arguments: these were a 500 (url_for's own names).
    client = logged_in(app)
    separator = "&" if "?" in path else "?"
    response = client.get(f"{path}{separator}{name}=<b>x</b>")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    # Named, and the value is never markup (only the language menu's escaped return URL holds it).
    assert f"an argument the dashboard does not take: {name}." in html.unescape(page) and "<b>x</b>" not in page
    # Ordinary and unknown arguments still answer.
    assert client.get(f"{path}{separator}somethingelse=<b>x</b>").status_code == 200
