"""Single sign-on with OpenID Connect, and the operators managed in the browser.

The sign-ins go to a provider served by the test itself (:mod:`tests.oidc_provider`), with
real HTTP between the dashboard and it. Operators live in the state database, never in the
target: these tests run once, on an SQLite target.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa

from dashboard import statedb, statedb_users
from tests.apps import PASSWORD, add_user, csrf_token, logged_in, login, make_app
from tests.oidc_provider import oidc_provider  # noqa: F401 -- a fixture: this worker's provider

USERS = "/admin/-/users/"


@pytest.fixture
def sso_app(small_database_url, tmp_path, oidc_provider):  # noqa: F811
    return make_app(small_database_url, tmp_path / "instance", AUDIT_LOGINS=True, **oidc_provider.settings())


def _page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def sign_in(client, next_url: str | None = None):
    """Press "Sign in with Local ID", let the provider approve, and come back: the callback's response."""
    query = {"next": next_url} if next_url else None
    start = client.get("/login/oidc", query_string=query)
    assert start.status_code == 302, start.get_data(as_text=True)
    at_provider = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["Location"])
    return client.get(back.path, query_string=back.query)


def _user(app, name: str) -> statedb.UserRecord | None:
    return statedb.get_store(app).user_by_name(name)


def _audit(app, action: str) -> list[dict]:
    return statedb.get_store(app).audit_entries({"action": action})


# -- single sign-on ----------------------------------------------------------------------------


def test_first_sign_in_creates_the_operator_with_the_mapped_role_which_follows_the_groups(sso_app, oidc_provider):  # noqa: F811
    oidc_provider.reset(sub="id-1", preferred_username="carol", groups=["staff", "dba"])
    client = sso_app.test_client()
    assert "Sign in with Local ID" in _page(client.get("/login"))
    response = sign_in(client, next_url="/admin/parent/")
    assert response.status_code == 302 and response.headers["Location"] == "/admin/parent/"
    carol = _user(sso_app, "carol")
    assert carol is not None and carol.role == "admin" and carol.last_login_at is not None
    assert "carol" in _page(client.get("/admin/"))
    assert [e["username"] for e in _audit(sso_app, "login")] == ["carol"]
    audit_page = _page(client.get("/admin/-/audit/"))
    assert "single sign-on" in audit_page and "created at first sign-in" in audit_page

    # Next time her groups make her a viewer, and an off-site next is not followed.
    oidc_provider.reset(sub="id-1", preferred_username="carol", groups=["staff"])
    other = sso_app.test_client()
    response = sign_in(other, next_url="//evil.example/")
    assert response.headers["Location"] == "/admin/"
    assert _user(sso_app, "carol").role == "viewer"
    assert other.get("/admin/parent/new/").status_code == 403
    assert len(statedb.get_store(sso_app).list_users()) == 1


@pytest.mark.parametrize("forge", ["signature", "audience", "expired", "nonce"])
def test_an_id_token_that_does_not_verify_is_refused(sso_app, oidc_provider, forge):  # noqa: F811
    oidc_provider.reset(sub=f"id-{forge}", preferred_username="mallory", groups=["dba"])
    oidc_provider.forge = forge
    client = sso_app.test_client()
    response = sign_in(client)
    assert response.headers["Location"].startswith("/login")
    page = _page(client.get(response.headers["Location"]))
    assert "The sign-in answer of Local ID was not valid." in page
    assert _user(sso_app, "mallory") is None
    assert client.get("/admin/").status_code == 302
    assert _audit(sso_app, "login")[0]["outcome"] == "failed"


def test_a_replayed_state_is_refused(sso_app, oidc_provider):  # noqa: F811
    oidc_provider.reset(sub="id-2", preferred_username="dave", groups=["staff"])
    client = sso_app.test_client()
    start = client.get("/login/oidc")
    cookie_before = client.get_cookie("session").value
    back = urlsplit(requests.get(start.headers["Location"], allow_redirects=False, timeout=10).headers["Location"])
    assert client.get(back.path, query_string=back.query).headers["Location"] == "/admin/"
    # The same callback again, with the session cookie as it was before: the state is used up.
    replay = sso_app.test_client()
    replay.set_cookie("session", cookie_before)
    response = replay.get(back.path, query_string=back.query)
    assert "This sign-in was used already or took too long." in _page(replay.get(response.headers["Location"]))
    assert replay.get("/admin/").status_code == 302


def test_a_person_without_a_role_or_with_a_taken_name_is_refused_with_a_message(sso_app, oidc_provider):  # noqa: F811
    client = sso_app.test_client()
    oidc_provider.reset(sub="id-3", preferred_username="erin", groups=["visitors"])
    response = sign_in(client)
    assert "has no role in this dashboard" in _page(client.get(response.headers["Location"]))
    assert _user(sso_app, "erin") is None
    add_user(sso_app, "frank", "admin")
    oidc_provider.reset(sub="id-4", preferred_username="frank", groups=["staff"])
    response = sign_in(client)
    assert "A user called frank exists already" in _page(client.get(response.headers["Location"]))
    assert _user(sso_app, "frank").role == "admin"
    assert client.get("/admin/").status_code == 302


def test_a_provider_that_cannot_be_reached_is_a_message(small_database_url, tmp_path, oidc_provider):  # noqa: F811
    app = make_app(small_database_url, tmp_path / "i", **oidc_provider.settings(OIDC_ISSUER="http://127.0.0.1:9"))
    client = app.test_client()
    response = client.get("/login/oidc")
    assert response.headers["Location"] == "/login"
    assert "Local ID cannot be reached right now." in _page(client.get("/login"))


def test_password_login_turned_off_hides_the_form_and_refuses_a_post(small_database_url, tmp_path, oidc_provider):  # noqa: F811
    app = make_app(small_database_url, tmp_path / "i", **oidc_provider.settings(PASSWORD_LOGIN=False))
    add_user(app, "alice", "admin")
    client = app.test_client()
    page = _page(client.get("/login"))
    assert "Sign in with Local ID" in page and 'name="password"' not in page
    response = login(client, "alice")
    assert response.status_code == 403
    assert "Logging in with a password is turned off" in _page(response)
    assert client.get("/admin/").status_code == 302


# -- operators in the browser ------------------------------------------------------------------


@pytest.fixture
def app(small_database_url, tmp_path):
    return make_app(small_database_url, tmp_path / "instance")


def _post(client, action: str, **data):
    return client.post(f"{USERS}{action}", data={"csrf_token": csrf_token(client, USERS), **data})


def test_an_administrator_adds_an_operator_who_then_logs_in(app):
    admin = logged_in(app, "admin", "root")
    response = _post(admin, "add", username="olga", role="editor", password=PASSWORD)
    assert response.status_code == 302
    page = _page(admin.get(USERS))
    assert "User olga added as editor." in page and "olga" in page
    olga = app.test_client()
    assert login(olga, "olga").status_code == 302
    assert olga.get("/admin/parent/new/").status_code == 200
    assert _user(app, "olga").last_login_at is not None
    entry = _audit(app, "user")[0]
    assert (entry["username"], entry["row_key"], entry["message"]) == ("root", "olga", "added")


def test_changes_are_refused_without_the_csrf_token_or_with_bad_values(app):
    admin = logged_in(app, "admin", "root")
    assert (
        admin.post(f"{USERS}add", data={"username": "olga", "role": "viewer", "password": PASSWORD}).status_code == 400
    )
    assert _user(app, "olga") is None
    response = _post(admin, "add", username="olga", role="superuser", password="short")
    assert response.status_code == 400
    page = _page(response)
    assert "Choose one of the roles." in page and "the password is too short" in page
    assert _user(app, "olga") is None


def test_only_administrators_reach_the_page(app):
    editor = logged_in(app, "editor", "ed")
    assert editor.get(USERS).status_code == 403
    token = csrf_token(editor, "/admin/")
    data = {"csrf_token": token, "username": "ed", "role": "admin"}
    assert editor.post(f"{USERS}role", data=data).status_code == 403
    assert _user(app, "ed").role == "editor"
    assert "/admin/-/users/" not in editor.get("/admin/").get_data(as_text=True)


def test_the_last_active_administrator_cannot_be_disabled_demoted_or_removed(app):
    admin = logged_in(app, "admin", "root")
    for action, extra in (("disable", {}), ("role", {"role": "viewer"}), ("remove", {})):
        response = _post(admin, action, username="root", **extra)
        assert response.status_code == 400
        assert "root is the last active administrator" in _page(response)
    assert _user(app, "root").role == "admin" and not _user(app, "root").disabled
    # With a second administrator, the first may step down.
    assert _post(admin, "add", username="second", role="admin", password=PASSWORD).status_code == 302
    assert _post(admin, "role", username="root", role="viewer").status_code == 302
    assert _user(app, "root").role == "viewer"


def test_a_disabled_operator_cannot_log_in_and_is_logged_out(app):
    admin = logged_in(app, "admin", "root")
    viewer = logged_in(app, "viewer", "vic")
    assert _post(admin, "disable", username="vic").status_code == 302
    assert viewer.get("/admin/").status_code == 302
    assert login(app.test_client(), "vic").status_code == 200  # the form again: not logged in
    assert "disabled" in _page(admin.get(USERS))
    assert _post(admin, "enable", username="vic").status_code == 302
    assert login(app.test_client(), "vic").status_code == 302
    assert _post(admin, "password", username="vic", password="another long password").status_code == 302
    assert login(app.test_client(), "vic").status_code == 200
    assert login(app.test_client(), "vic", "another long password").status_code == 302
    assert [e["message"] for e in _audit(app, "user")][:3] == ["password reset", "enabled", "disabled"]


def test_an_older_state_database_gets_the_new_columns(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, username VARCHAR(64) NOT NULL UNIQUE, password_hash"
            " VARCHAR(255) NOT NULL, role VARCHAR(32) NOT NULL, created_at DATETIME NOT NULL, session_version"
            " INTEGER NOT NULL)"
        )
        connection.exec_driver_sql("INSERT INTO users VALUES (1, 'old', 'x', 'admin', '2026-01-01 00:00:00', 0)")
    engine.dispose()
    store = statedb.make_state_store(url)
    old = store.user_by_name("old")
    assert old is not None and not old.disabled and old.last_login_at is None
    assert statedb_users.active_admins(store) == ["old"]
    store.engine.dispose()


def test_a_disabled_operator_gets_in_neither_by_the_proxy_header_nor_by_an_api_token(small_database_url, tmp_path):
    from dashboard import clock
    from dashboard.security import tokens

    app = make_app(small_database_url, tmp_path / "instance", TRUSTED_USER_HEADER="X-Remote-User")
    user = add_user(app, "alice", "viewer")
    token = tokens.create_token(statedb.get_store(app), user, "ci", now=clock.now(app))
    client = app.test_client()
    auth_header = {"Authorization": f"Bearer {token}"}
    assert client.get("/admin/", headers={"X-Remote-User": "alice"}).status_code == 200
    assert client.get("/api/parent/", headers=auth_header).status_code == 200
    statedb_users.set_disabled(statedb.get_store(app), "alice", True)
    assert client.get("/admin/", headers={"X-Remote-User": "alice"}).status_code == 302
    assert client.get("/api/parent/", headers=auth_header).status_code == 401


def test_a_code_the_provider_will_not_exchange_is_a_message(small_database_url, tmp_path, oidc_provider):  # noqa: F811
    settings = oidc_provider.settings(OIDC_CLIENT_SECRET="not-the-secret")
    app = make_app(small_database_url, tmp_path / "i", **settings)
    oidc_provider.reset(sub="id-5", preferred_username="gina", groups=["staff"])
    client = app.test_client()
    response = sign_in(client)
    assert "The sign-in answer of Local ID was not valid." in _page(client.get(response.headers["Location"]))
    assert _user(app, "gina") is None


def test_users_command_lists_last_logins_and_disables_and_enables(tmp_path, monkeypatch, small_database_url):
    from click.testing import CliRunner

    from dashboard.cli import main

    monkeypatch.setenv("DASHBOARD_INSTANCE_PATH", str(tmp_path / "instance"))
    app = make_app(small_database_url, tmp_path / "instance")
    add_user(app, "root", "admin")
    add_user(app, "vic", "viewer")
    assert login(app.test_client(), "vic").status_code == 302

    def run(*args: str):
        return CliRunner().invoke(main, ["users", *args])

    assert run("disable", "root").exit_code != 0  # the last admin
    assert run("disable", "vic").exit_code == 0
    listed = run("list").output
    assert re.search(r"vic\s+viewer\s+created \S+ \S+\s+last login \S+ \S+\s+disabled", listed), listed
    assert re.search(r"root\s+admin\s+created \S+ \S+\s+never logged in$", listed, re.MULTILINE), listed
    assert login(app.test_client(), "vic").status_code == 200
    assert run("enable", "vic").exit_code == 0
    assert login(app.test_client(), "vic").status_code == 302


def test_a_sign_in_that_stays_too_long_at_the_provider_is_refused(sso_app, oidc_provider):  # noqa: F811
    import time

    from dashboard import clock
    from dashboard.security import oidc

    oidc_provider.reset(sub="id-6", preferred_username="hal", groups=["staff"])
    client = sso_app.test_client()
    start = client.get("/login/oidc")
    back = urlsplit(requests.get(start.headers["Location"], allow_redirects=False, timeout=10).headers["Location"])
    clock.set_clock(sso_app, lambda: time.time() + oidc.STATE_TTL_S + 1)
    response = client.get(back.path, query_string=back.query)
    assert "This sign-in was used already or took too long." in _page(client.get(response.headers["Location"]))
    assert _user(sso_app, "hal") is None


def test_behind_a_tls_proxy_the_redirect_uri_is_https(small_database_url, tmp_path, oidc_provider):  # noqa: F811
    from urllib.parse import parse_qs

    app = make_app(small_database_url, tmp_path / "i", HTTPS=True, **oidc_provider.settings())
    start = app.test_client().get("/login/oidc")  # the request itself is plain http, as a proxy ending TLS sends it
    query = parse_qs(urlsplit(start.headers["Location"]).query)
    assert query["redirect_uri"] == ["https://localhost/login/oidc/callback"]
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]


def test_with_single_sign_on_only_no_first_admin_with_a_password_is_made(small_database_url, tmp_path, oidc_provider):  # noqa: F811
    from dashboard.cli.users import announce_first_admin

    app = make_app(small_database_url, tmp_path / "i", **oidc_provider.settings(PASSWORD_LOGIN=False))
    announce_first_admin(app, "http://127.0.0.1:5000/login")
    assert statedb.get_store(app).count_users() == 0
    assert "No user exists yet" not in _page(app.test_client().get("/login"))
