"""Logging in and out, sessions, throttling, roles and the ``dashboard users`` command.

Test names carry the number of the case they cover in shared/SECURITY-CHECKLIST.md.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from dashboard import statedb
from dashboard.cli import main
from dashboard.cli.users import announce_first_admin
from dashboard.security import auth
from dashboard.settings import ConfigError
from dashboard.site_state import current_site
from tests.apps import FAST_HASH_METHOD, PASSWORD, add_user, csrf_token, login, make_app, table_rows
from tests.databases import make_database


@pytest.fixture
def app(small_database_url, tmp_path, request):
    """An app with the suite's cheap password hash, or the method a test names through
    ``@pytest.mark.parametrize("app", ["scrypt"], indirect=True)`` (the production one, for
    the tests about how passwords are hashed)."""
    method = getattr(request, "param", FAST_HASH_METHOD)
    return make_app(small_database_url, tmp_path / "instance", PASSWORD_HASH_METHOD=method)


def _location(response) -> str:
    return response.headers.get("Location", "")


# -- login required ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/admin/",
        "/admin/parent/",
        "/admin/parent/details/?id=1",
        "/admin/parent/edit/?id=1",
        "/admin/parent/export/csv/",
        "/admin/child/ajax/lookup/?name=parent_id&query=",
        "/no/such/page",
    ],
)
def test_anonymous_requests_redirect_to_login_with_next(app, url):
    response = app.test_client().get(url)
    assert response.status_code == 302
    location = urlsplit(_location(response))
    assert location.path == "/login"
    assert parse_qs(location.query) == {"next": [url]}


def test_anonymous_post_is_refused_and_changes_nothing(app, small_database_url):
    before = table_rows(small_database_url, "parent")
    response = app.test_client().post("/admin/parent/delete/", data={"id": "1"})
    assert response.status_code == 401
    assert table_rows(small_database_url, "parent") == before


@pytest.mark.parametrize(
    "url",
    [
        "/login",
        "/healthz",
        "/admin/-/static/bootstrap/bootstrap4/css/bootstrap.min.css",
        "/dashboard-static/dashboard.css",
        "/dashboard-static/handlers.js",
    ],
)
def test_login_page_health_and_static_files_need_no_login(app, url):
    with app.test_client().get(url) as response:
        assert response.status_code == 200


def test_login_page_has_the_form_and_says_when_no_user_exists(app):
    page = app.test_client().get("/login").get_data(as_text=True)
    for name in ("username", "password", "csrf_token"):
        assert f'name="{name}"' in page
    assert "dashboard users add" in page
    add_user(app, "alice", "viewer")
    assert "dashboard users add" not in app.test_client().get("/login").get_data(as_text=True)


def test_login_goes_to_next_and_shows_name_role_and_logout(app):
    add_user(app, "alice", "editor")
    client = app.test_client()
    response = login(client, "alice", next_url="/admin/parent/?page_size=50")
    assert response.status_code == 302
    assert _location(response) == "/admin/parent/?page_size=50"
    page = client.get("/admin/").get_data(as_text=True)
    assert "alice" in page and "editor" in page
    assert re.search(r'<form method="POST" action="/logout"', page)


@pytest.mark.parametrize("password", ["wrong password!", ""])
@pytest.mark.parametrize("username", ["alice", "nobody"])
def test_wrong_credentials_get_one_message_and_no_session(app, username, password):
    add_user(app, "alice", "admin")
    client = app.test_client()
    response = login(client, username, password)
    assert response.status_code in (200, 400)
    page = response.get_data(as_text=True)
    assert "Wrong user name or password." in page or "Enter your user name and password." in page
    assert client.get("/admin/").status_code == 302


def test_user_with_unknown_role_cannot_log_in(app):
    add_user(app, "mallory", "superuser")
    client = app.test_client()
    assert login(client, "mallory").status_code == 200
    assert client.get("/admin/").status_code == 302


# -- 16: open redirects ---------------------------------------------------------------------


OFF_SITE = [
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "http://evil.example/",
    "https://evil.example/admin/",
    "http://user@evil.example",
    "HTTP://evil.example",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "\t//evil.example",
    "/\t/evil.example",
    " //evil.example",
    "//evil.example%2F..",
    "//127.0.0.1",
    "//2130706433",
    "//xn--80ak6aa92e.com",
    "evil.example",
    "admin/",
    "/\x00//evil.example",
]


@pytest.mark.parametrize("target", OFF_SITE)
def test_16_open_redirect_next_is_refused(app, target):
    assert auth.safe_next(target) is None
    add_user(app, "alice", "viewer")
    response = login(app.test_client(), "alice", next_url=target)
    assert response.status_code == 302
    assert _location(response) == "/admin/"


def test_16_open_redirect_raw_encoded_tab_is_refused(app):
    # ``%09//evil`` as a browser would send it: the server sees a tab before the slashes.
    add_user(app, "alice", "viewer")
    client = app.test_client()
    token = csrf_token(client, "/login")
    response = client.post(
        "/login?next=%09//evil.example", data={"username": "alice", "password": PASSWORD, "csrf_token": token}
    )
    assert _location(response) == "/admin/"


@pytest.mark.parametrize("target", ["/admin/", "/admin/parent/?search=a%20b&page=2", "/admin/child/details/?id=1"])
def test_16_same_site_paths_are_followed(app, target):
    assert auth.safe_next(target) == target
    add_user(app, "alice", "viewer")
    assert _location(login(app.test_client(), "alice", next_url=target)) == target


def test_16_logged_in_visit_to_login_does_not_redirect_off_site(app, logged_in_client):
    client = logged_in_client(app)
    response = client.get("/login?next=//evil.example")
    assert _location(response) == "/admin/"


# -- 18: session hygiene --------------------------------------------------------------------


def _session_cookie(client):
    return client.get_cookie("session")


def test_18_session_cookie_flags(small_database_url, tmp_path):
    for https in (False, True):
        app = make_app(small_database_url, tmp_path / f"instance-{https}", HTTPS=https)
        add_user(app, "alice", "viewer")
        client = app.test_client()
        response = login(client, "alice")
        header = "; ".join(response.headers.getlist("Set-Cookie"))
        assert "HttpOnly" in header
        assert "SameSite=Lax" in header
        assert ("Secure" in header) is https


def test_18_session_lifetime_is_hours_not_weeks(app):
    add_user(app, "alice", "viewer")
    client = app.test_client()
    login(client, "alice")
    cookie = _session_cookie(client)
    assert cookie.expires is not None
    assert cookie.expires.timestamp() - time.time() <= 12 * 3600 + 60


def test_18_session_is_renewed_on_login(app):
    add_user(app, "alice", "viewer")
    client = app.test_client()
    token_before = csrf_token(client, "/login")
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        session["_user_id"] = "999"
    response = client.post("/login", data={"username": "alice", "password": PASSWORD, "csrf_token": token_before})
    assert response.status_code == 302
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] != "999"
    assert csrf_token(client) != token_before


def test_18_cookie_from_before_logout_is_rejected_after_logout(app):
    add_user(app, "alice", "editor")
    client = app.test_client()
    login(client, "alice")
    captured = _session_cookie(client).value
    response = client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302 and _location(response) == "/login"
    assert client.get("/admin/").status_code == 302

    replay = app.test_client()
    replay.set_cookie("session", captured)
    response = replay.get("/admin/parent/")
    assert response.status_code == 302
    assert _location(response).startswith("/login")


def test_18_logout_is_post_only_with_csrf(app, logged_in_client):
    client = logged_in_client(app)
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400
    assert client.get("/admin/").status_code == 200


def test_18_password_change_ends_sessions(app, logged_in_client):
    client = logged_in_client(app, "viewer", "alice")
    statedb.get_store(app).set_password_hash("alice", auth.hash_password("another password"))
    assert client.get("/admin/").status_code == 302


def test_18_removed_user_is_logged_out(app, logged_in_client):
    client = logged_in_client(app, "editor", "alice")
    statedb.get_store(app).remove_user("alice")
    assert client.get("/admin/").status_code == 302


@pytest.mark.parametrize(
    "key, age_s",
    [
        ("dashboard_seen_at", 31 * 60),  # idle timeout, 30 min by default
        ("dashboard_login_at", 12 * 3600 + 60),  # absolute lifetime, 12 h by default
    ],
)
def test_18_idle_and_absolute_timeouts(app, logged_in_client, key, age_s):
    client = logged_in_client(app)
    with client.session_transaction() as session:
        session[key] = time.time() - age_s
    response = client.get("/admin/parent/")
    assert response.status_code == 302
    assert _location(response) == "/login?next=/admin/parent/"
    page = client.get(_location(response)).get_data(as_text=True)
    assert "Your session has expired" in page


def test_18_activity_keeps_the_session_alive(app, logged_in_client):
    client = logged_in_client(app)
    with client.session_transaction() as session:
        session["dashboard_seen_at"] = time.time() - 29 * 60
    assert client.get("/admin/").status_code == 200
    with client.session_transaction() as session:
        assert time.time() - session["dashboard_seen_at"] < 60


def test_18_timeouts_are_settings(small_database_url, tmp_path, logged_in_client):
    app = make_app(small_database_url, tmp_path / "instance", SESSION_IDLE_MINUTES=1)
    client = logged_in_client(app)
    with client.session_transaction() as session:
        session["dashboard_seen_at"] = time.time() - 90
    assert client.get("/admin/").status_code == 302


# -- 19: login throttling -------------------------------------------------------------------


# Throttling per user name and address, with back-off: tests/test_login_throttle.py.


@pytest.mark.parametrize("app", ["scrypt"], indirect=True)
def test_19_unknown_user_costs_one_password_check_too(app, monkeypatch):
    add_user(app, "alice", "viewer")
    checks = []
    original = auth.check_password_hash

    def counting(hashed, password):
        checks.append(hashed.split("$")[0])
        return original(hashed, password)

    monkeypatch.setattr(auth, "check_password_hash", counting)
    login(app.test_client(), "alice", "wrong password!")
    login(app.test_client(), "nobody", "wrong password!")
    assert len(checks) == 2
    assert all(method.startswith("scrypt:") for method in checks)


# -- 20: credential storage -----------------------------------------------------------------


@pytest.mark.parametrize("app", ["scrypt"], indirect=True)
def test_20_password_hashed_with_scrypt_and_salted(app):
    add_user(app, "alice", "viewer", "same password 123")
    add_user(app, "bob", "viewer", "same password 123")
    with statedb.get_store(app).engine.connect() as connection:
        hashes = connection.execute(sa.select(statedb.users.c.password_hash)).scalars().all()
    assert all(h.startswith("scrypt:") and "same password" not in h for h in hashes)
    assert hashes[0] != hashes[1]


def test_20_state_database_is_not_the_target(app, small_database_url, tmp_path):
    add_user(app, "alice", "viewer")
    tables = sa.inspect(sa.create_engine(small_database_url)).get_table_names()
    assert "users" not in tables and "login_attempts" not in tables
    assert (tmp_path / "instance" / "state.db").is_file()


def test_20_state_database_url_setting(small_database_url, tmp_path):
    url = f"sqlite:///{tmp_path / 'elsewhere' / 'own.db'}"
    app = make_app(small_database_url, tmp_path / "instance", STATE_DATABASE_URL=url)
    add_user(app, "alice", "viewer")
    assert (tmp_path / "elsewhere" / "own.db").is_file()
    assert not (tmp_path / "instance" / "state.db").exists()


# -- 21: permissions ------------------------------------------------------------------------


def _try_every_write(client, table: str, row_id: str) -> list[int]:
    """Direct POSTs to create, edit, delete and the bulk delete of ``table``, with valid CSRF tokens."""
    token = csrf_token(client, f"/admin/{table}/")
    fields = {"parent": {"name": "changed"}, "payments": {"amount": "999"}}[table]
    statuses = [
        client.post(f"/admin/{table}/new/", data={"id": "77", **fields, "csrf_token": token}).status_code,
        client.post(f"/admin/{table}/edit/?id={row_id}", data={**fields, "csrf_token": token}).status_code,
        client.post(f"/admin/{table}/delete/", data={"id": row_id, "csrf_token": token}).status_code,
        client.post(
            f"/admin/{table}/action/", data={"action": "delete", "rowid": row_id, "csrf_token": token}
        ).status_code,
    ]
    return statuses


def test_21_permission_matrix_viewer_reads_and_exports_but_cannot_write(app, logged_in_client, small_database_url):
    client = logged_in_client(app, "viewer")
    assert client.get("/admin/parent/").status_code == 200
    assert client.get("/admin/parent/details/?id=1").status_code == 200
    export = client.get("/admin/parent/export/csv/")
    assert export.status_code == 200 and "first" in export.get_data(as_text=True)
    list_page = client.get("/admin/parent/").get_data(as_text=True)
    assert "/admin/parent/new/" not in list_page and 'href="edit/' not in list_page  # (row links are relative)
    assert "delete_view" not in list_page and 'action="/admin/parent/delete/"' not in list_page
    for url in ("/admin/parent/new/", "/admin/parent/edit/?id=1"):
        assert client.get(url).status_code in (302, 403)
    before = table_rows(small_database_url, "parent")
    statuses = _try_every_write(client, "parent", "1")
    assert all(status in (302, 403) for status in statuses), statuses
    assert table_rows(small_database_url, "parent") == before


def test_21_permission_matrix_editor_writes(app, logged_in_client, small_database_url):
    client = logged_in_client(app, "editor")
    token = csrf_token(client, "/admin/parent/")
    assert client.post("/admin/parent/new/", data={"id": "3", "name": "third", "csrf_token": token}).status_code == 302
    assert client.post("/admin/parent/delete/", data={"id": "2", "csrf_token": token}).status_code == 302
    assert [row[0] for row in table_rows(small_database_url, "parent")] == [1, 3]


def test_21_permission_matrix_per_table_roles(small_database_url, tmp_path, logged_in_client):
    app = make_app(
        small_database_url,
        tmp_path / "instance",
        TABLES={
            "payments": {"roles": {"editor": ["view"], "viewer": []}},
            "child": {"roles": {"viewer": ["view"]}},
        },
    )
    editor = logged_in_client(app, "editor")
    before = table_rows(small_database_url, "payments")
    statuses = _try_every_write(editor, "payments", "1")
    assert all(status in (302, 403) for status in statuses), statuses
    assert table_rows(small_database_url, "payments") == before
    assert editor.get("/admin/payments/export/csv/").status_code in (302, 403)
    # The editor keeps the defaults on the tables not overridden for editors.
    token = csrf_token(editor, "/admin/parent/")
    assert editor.post("/admin/parent/new/", data={"id": "3", "name": "third", "csrf_token": token}).status_code == 302

    viewer = logged_in_client(app, "viewer")
    assert viewer.get("/admin/payments/").status_code == 403
    assert viewer.get("/admin/payments/export/csv/").status_code == 403
    child_page = viewer.get("/admin/child/")
    assert child_page.status_code == 200
    assert "/admin/payments/" not in child_page.get_data(as_text=True)  # not in the menu
    assert viewer.get("/admin/child/export/csv/").status_code in (302, 403)

    admin = logged_in_client(app, "admin")
    assert admin.get("/admin/payments/").status_code == 200


def test_21_authorizer_denies_by_default(app):
    authorize = current_site(app).authorize
    info = current_site(app).views["parent"].info
    with app.test_request_context("/admin/"):
        assert authorize(info, "view") is False  # nobody logged in
    with app.app_context():
        assert authorize(info, "view") is False  # no request at all


@pytest.mark.parametrize(
    "role, table_actions, other",
    [
        ("viewer", {"view", "export"}, False),
        ("editor", {"view", "export", "create", "edit", "delete"}, False),
        ("admin", {"view", "export", "create", "edit", "delete"}, True),
        ("superuser", set(), False),
    ],
)
def test_21_role_defaults(app, role, table_actions, other):
    from flask_login import login_user

    record = add_user(app, f"u-{role}", role)
    authorize = current_site(app).authorize
    info = current_site(app).views["parent"].info
    with app.test_request_context("/admin/"):
        login_user(auth.User(record))
        assert {a for a in auth.TABLE_ACTIONS if authorize(info, a)} == table_actions
        assert authorize(None, "manage_users") is other


@pytest.mark.parametrize(
    "roles, message",
    [
        ({"owner": ["view"]}, "unknown role"),
        ({"viewer": ["view", "drop"]}, "unknown action"),
        ({"viewer": "view"}, "list of actions"),
        (["viewer"], "must be a table"),
    ],
)
def test_21_bad_table_roles_are_a_config_error(small_database_url, tmp_path, roles, message):
    with pytest.raises(ConfigError, match=message):
        make_app(small_database_url, tmp_path / "instance", TABLES={"parent": {"roles": roles}})


# -- trusted proxy header -------------------------------------------------------------------


def test_trusted_user_header_logs_in_known_users_only(small_database_url, tmp_path):
    app = make_app(small_database_url, tmp_path / "instance", TRUSTED_USER_HEADER="X-Remote-User")
    add_user(app, "alice", "viewer")
    client = app.test_client()
    page = client.get("/admin/", headers={"X-Remote-User": "alice"})
    assert page.status_code == 200 and "alice" in page.get_data(as_text=True)
    assert client.get("/admin/", headers={"X-Remote-User": "nobody"}).status_code == 302
    assert client.get("/admin/").status_code == 302


def test_trusted_user_header_is_ignored_when_not_configured(app):
    add_user(app, "alice", "admin")
    assert app.test_client().get("/admin/", headers={"X-Remote-User": "alice"}).status_code == 302


# -- dashboard users ------------------------------------------------------------------------


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    """Settings for the CLI through the environment; the target database does not exist."""
    monkeypatch.setenv("DASHBOARD_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", "postgresql+psycopg://nobody@203.0.113.1:1/none")
    return tmp_path / "instance"


def _run(*args: str, input: str | None = None):
    return CliRunner().invoke(main, ["users", *args], input=input)


def test_users_cli_add_list_set_password_remove(cli_env, small_database_url):
    result = _run("add", "alice", "--role", "editor", "--password-stdin", input="a long password\n")
    assert result.exit_code == 0, result.output
    assert _run("add", "root", "--role", "admin", "--password-stdin", input="another long one\n").exit_code == 0
    listed = _run("list")
    assert listed.exit_code == 0 and re.search(r"alice\s+editor", listed.output)

    app = make_app(small_database_url, cli_env)
    client = app.test_client()
    assert login(client, "alice", "a long password").status_code == 302

    result = _run("set-password", "alice", "--password-stdin", input="a new long password\n")
    assert result.exit_code == 0, result.output
    assert client.get("/admin/").status_code == 302  # the old session ended
    assert login(app.test_client(), "alice", "a long password").status_code == 200
    assert login(app.test_client(), "alice", "a new long password").status_code == 302

    assert _run("remove", "alice").exit_code == 0
    assert "alice" not in _run("list").output
    assert login(app.test_client(), "alice", "a new long password").status_code == 200


def test_users_cli_prompts_twice_without_echo(cli_env):
    result = _run("add", "alice", "--role", "viewer", input="a long password\na long password\n")
    assert result.exit_code == 0, result.output
    assert "a long password" not in result.output
    mismatch = _run(
        "add", "bob", "--role", "viewer", input="a long password\nsomething else\na long password\na long password\n"
    )
    assert "do not match" in mismatch.output.lower() or "don't match" in mismatch.output.lower()


@pytest.mark.parametrize(
    "args, stdin, message",
    [
        (("add", "alice", "--role", "viewer", "--password-stdin"), "short\n", "at least 10 characters"),
        (("add", "alice", "--role", "owner", "--password-stdin"), "a long password\n", "Invalid value for '--role'"),
        (("add", "bad name!", "--role", "viewer", "--password-stdin"), "a long password\n", "user name"),
        (("remove", "nobody"), None, "no user 'nobody'"),
        (("set-password", "nobody", "--password-stdin"), "a long password\n", "no user 'nobody'"),
    ],
)
def test_users_cli_refuses_with_a_clear_message(cli_env, args, stdin, message):
    result = _run(*args, input=stdin)
    assert result.exit_code == 2
    assert message in result.output


def test_users_cli_refuses_duplicates_and_removing_the_last_admin(cli_env):
    assert _run("add", "root", "--role", "admin", "--password-stdin", input="a long password\n").exit_code == 0
    duplicate = _run("add", "root", "--role", "viewer", "--password-stdin", input="a long password\n")
    assert duplicate.exit_code == 2 and "exists already" in duplicate.output
    last = _run("remove", "root")
    assert last.exit_code == 2 and "last admin" in last.output


def test_users_cli_reads_the_config_file(tmp_path, monkeypatch):
    monkeypatch.delenv("DASHBOARD_INSTANCE_PATH", raising=False)
    config = tmp_path / "site.toml"
    config.write_text(f'state_database_url = "sqlite:///{tmp_path / "users.db"}"\n')
    result = _run(
        "add", "alice", "--role", "viewer", "--password-stdin", "--config", str(config), input="a long password\n"
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "users.db").is_file()
    assert "alice" in _run("list", "--config", str(config)).output


def test_first_start_creates_admin_with_a_one_time_password(app, capsys):
    announce_first_admin(app, "http://127.0.0.1:5000/login")
    out = capsys.readouterr().out
    password = re.search(r"password:\s+(\S+)", out).group(1)
    assert len(password) >= 20 and "dashboard users set-password admin" in out
    assert login(app.test_client(), "admin", password).status_code == 302
    record = statedb.get_store(app).user_by_name("admin")
    assert record.role == "admin" and password not in record.password_hash
    announce_first_admin(app, "http://127.0.0.1:5000/login")
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("app_method, stored_method", [("pbkdf2:sha256:1", "scrypt"), ("scrypt", "pbkdf2:sha256:1")])
def test_20_a_password_hashed_with_another_method_still_logs_in(
    small_database_url, tmp_path, app_method, stored_method
):
    app = make_app(small_database_url, tmp_path / "instance", PASSWORD_HASH_METHOD=app_method)
    statedb.get_store(app).add_user("alice", auth.hash_password(PASSWORD, stored_method), "viewer")
    assert login(app.test_client(), "alice", "not the password").status_code == 200
    assert login(app.test_client(), "alice").status_code == 302


@pytest.mark.parametrize("method", ["md5", "pbkdf2:sha256:many", "", 12])
def test_20_an_unknown_password_hash_method_stops_the_start(small_database_url, tmp_path, method):
    with pytest.raises(ConfigError, match="PASSWORD_HASH_METHOD must name a password hash method"):
        make_app(small_database_url, tmp_path / "instance", PASSWORD_HASH_METHOD=method)


def test_20_users_cli_hashes_with_the_configured_method(cli_env, small_database_url, monkeypatch):
    assert _run("add", "alice", "--role", "viewer", "--password-stdin", input="a long password\n").exit_code == 0
    monkeypatch.setenv("DASHBOARD_PASSWORD_HASH_METHOD", "pbkdf2:sha256:600000")
    assert _run("add", "bob", "--role", "viewer", "--password-stdin", input="a long password\n").exit_code == 0
    with statedb.get_store(make_app(small_database_url, cli_env)).engine.connect() as connection:
        hashes = dict(connection.execute(sa.select(statedb.users.c.username, statedb.users.c.password_hash)).all())
    assert hashes["alice"].startswith("scrypt:") and hashes["bob"].startswith("pbkdf2:sha256:600000$")


def test_20_state_database_may_not_be_the_target(small_database_url, tmp_path):
    with pytest.raises(ConfigError, match="must not be the database being administered"):
        make_app(small_database_url, tmp_path / "instance", STATE_DATABASE_URL=small_database_url)


# The same database spelt another way: another host name for this machine, no driver name,
# the default port left out. Each one passed a comparison of URL text.
_RESPELLINGS = {
    "localhost": lambda url: url.set(host="localhost"),
    "no driver": lambda url: url.set(drivername=url.get_backend_name()),
    "default port": lambda url: url._replace(port=None),
    "all three": lambda url: url._replace(host="localhost", drivername=url.get_backend_name(), port=None),
}


def _target_with_a_table(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        sa.Table("things", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True)).create(engine)
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.mark.parametrize("spelling", list(_RESPELLINGS))
@pytest.mark.parametrize("server", ["postgresql", "mariadb"])
def test_20_the_target_spelt_another_way_is_refused_before_any_table_is_made(server, spelling, tmp_path):
    with make_database(server) as target:
        _target_with_a_table(target)
        state = _RESPELLINGS[spelling](sa.make_url(target)).render_as_string(hide_password=False)
        assert state != target
        with pytest.raises(ConfigError, match="must not be the database being administered"):
            make_app(target, tmp_path / "instance", STATE_DATABASE_URL=state)
        assert _tables(target) == {"things"}


@pytest.mark.parametrize("server", ["postgresql", "mariadb"])
def test_20_another_database_on_the_same_server_holds_the_state(server, tmp_path):
    with make_database(server) as target, make_database(server) as other:
        _target_with_a_table(target)
        state = sa.make_url(other).set(host="localhost").render_as_string(hide_password=False)
        app = make_app(target, tmp_path / "instance", STATE_DATABASE_URL=state)
        add_user(app, "alice", "viewer")
        statedb.get_store(app).engine.dispose()
        current_site(app).engine.dispose()
        assert _tables(target) == {"things"}
        assert "users" in _tables(other)


def test_20_a_role_that_may_not_read_the_cluster_id_is_still_refused(restricted, tmp_path):
    with make_database("postgresql") as target:
        _target_with_a_table(target)
        admin = sa.create_engine(target)
        with admin.begin() as connection:
            # In this database only: functions belong to a database, not to the server.
            connection.exec_driver_sql("REVOKE EXECUTE ON FUNCTION pg_control_system() FROM PUBLIC")
        admin.dispose()
        state = sa.make_url(restricted(target, {})).set(host="localhost").render_as_string(hide_password=False)
        with pytest.raises(ConfigError, match="must not be the database being administered"):
            make_app(target, tmp_path / "instance", STATE_DATABASE_URL=state)
        assert _tables(target) == {"things"}


def test_20_a_server_that_cannot_be_asked_falls_back_to_the_urls(tmp_path, caplog):
    with make_database("postgresql") as target:
        _target_with_a_table(target)
        state = sa.make_url(target).set(username="no_such_role").render_as_string(hide_password=False)
        with pytest.raises(ConfigError, match="must not be the database being administered"):
            make_app(target, tmp_path / "instance", STATE_DATABASE_URL=state)
        assert "compared the URLs instead" in caplog.text
        assert _tables(target) == {"things"}


@pytest.mark.parametrize("spelling", ["relative", "symlink"])
def test_20_the_target_file_by_another_path_is_refused(small_database_url, tmp_path, monkeypatch, spelling):
    target = sa.make_url(small_database_url).database
    assert target is not None and target.startswith("/")
    before = _tables(small_database_url)
    monkeypatch.chdir(tmp_path)
    if spelling == "symlink":
        (tmp_path / "elsewhere.db").symlink_to(target)
        state = "sqlite:///elsewhere.db"
    else:
        state = f"sqlite:///{Path(target).relative_to(tmp_path)}"
    with pytest.raises(ConfigError, match="must not be the database being administered"):
        make_app(small_database_url, tmp_path / "instance", STATE_DATABASE_URL=state)
    assert _tables(small_database_url) == before and "users" not in before
