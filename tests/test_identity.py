"""What a logged-in operator sees when their user changes elsewhere: refused, or served with
the new role, no later than ``IDENTITY_RECHECK_SECONDS`` after another process or instance
(``dashboard users``, a second server) changed the state database, and at once when the
change went through the same process. Time moves by the app's injected clock, never by sleeping.
"""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner
from flask import Flask

from dashboard import clock, statedb
from dashboard.cli import main
from dashboard.settings import ConfigError
from tests.apps import add_user, csrf_token, logged_in, login, make_app

RECHECK_S = 5  # IDENTITY_RECHECK_SECONDS by default
PAGE = "/admin/parent/"


class FakeClock:
    """Wall time that moves only when told to."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def instance(tmp_path):
    return tmp_path / "instance"


@pytest.fixture
def app(small_database_url, instance) -> Flask:
    return make_app(small_database_url, instance)


@pytest.fixture
def fake_clock(app) -> FakeClock:
    fake = FakeClock()
    clock.set_clock(app, fake)
    return fake


@pytest.fixture
def other_process(app):
    """The state database as another process or instance sees it: a store of its own."""
    store = statedb.make_state_store(statedb.state_database_url(app.config, app.instance_path))
    yield store
    store.engine.dispose()


def _is_refused(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def _set_role(store: statedb.StateStore, username: str, role: str) -> None:
    with store.engine.begin() as connection:
        connection.execute(statedb.users.update().where(statedb.users.c.username == username).values(role=role))


def test_a_user_removed_by_another_process_is_refused_after_the_recheck_interval(app, fake_clock, other_process):
    client = logged_in(app, "editor", "alice")
    assert client.get(PAGE).status_code == 200
    assert other_process.remove_user("alice")
    fake_clock.advance(RECHECK_S - 0.5)
    assert client.get(PAGE).status_code == 200  # remembered: no state database read yet
    fake_clock.advance(0.5)
    response = client.get(PAGE)
    assert _is_refused(response)
    assert "Log in again." in client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_role_changed_by_another_process_applies_after_the_recheck_interval(app, fake_clock, other_process):
    client = logged_in(app, "editor", "alice")
    assert "/admin/parent/new/" in client.get(PAGE).get_data(as_text=True)
    _set_role(other_process, "alice", "viewer")
    fake_clock.advance(RECHECK_S)
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "/admin/parent/new/" not in page.get_data(as_text=True)
    assert client.get("/admin/parent/new/").status_code in (302, 403)


def test_a_password_set_with_the_cli_ends_sessions_after_the_recheck_interval(app, fake_clock, instance, monkeypatch):
    client = logged_in(app, "viewer", "alice")
    assert client.get(PAGE).status_code == 200
    monkeypatch.setenv("DASHBOARD_INSTANCE_PATH", str(instance))
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", app.config["DATABASE_URL"])
    result = CliRunner().invoke(
        main, ["users", "set-password", "alice", "--password-stdin"], input="a brand new password\n"
    )
    assert result.exit_code == 0, result.output
    fake_clock.advance(RECHECK_S)
    assert _is_refused(client.get(PAGE))


def test_a_logout_on_another_instance_ends_the_session_here_after_the_recheck_interval(
    small_database_url, instance, app, fake_clock
):
    other = make_app(small_database_url, instance)  # a second server on the same state database
    client = logged_in(app, "viewer", "alice")
    assert client.get(PAGE).status_code == 200
    elsewhere = other.test_client()
    elsewhere.set_cookie("session", client.get_cookie("session").value)
    assert elsewhere.post("/logout", data={"csrf_token": csrf_token(elsewhere)}).status_code == 302
    assert client.get(PAGE).status_code == 200
    fake_clock.advance(RECHECK_S)
    assert _is_refused(client.get(PAGE))


def test_a_login_on_another_instance_is_accepted_here_at_once(small_database_url, instance, app, fake_clock):
    other = make_app(small_database_url, instance)
    client = logged_in(app, "viewer", "alice")
    assert client.get(PAGE).status_code == 200  # alice's record as it is now, remembered here
    elsewhere = other.test_client()
    assert login(elsewhere, "alice").status_code == 302
    assert elsewhere.post("/logout", data={"csrf_token": csrf_token(elsewhere)}).status_code == 302
    assert login(elsewhere, "alice").status_code == 302
    # The session is newer than the record remembered here: read again, not refused.
    here = app.test_client()
    here.set_cookie("session", elsewhere.get_cookie("session").value)
    assert here.get(PAGE).status_code == 200
    assert _is_refused(client.get(PAGE))  # the record read for it shows the logout


def test_changes_made_through_this_process_apply_at_once(app, fake_clock):
    alice, bob = logged_in(app, "editor", "alice"), logged_in(app, "viewer", "bob")
    assert alice.get(PAGE).status_code == 200 and bob.get(PAGE).status_code == 200
    store = statedb.get_store(app)
    assert store.remove_user("alice")
    assert _is_refused(alice.get(PAGE))
    assert store.set_password_hash("bob", "pbkdf2:sha256:1$x$y")
    assert _is_refused(bob.get(PAGE))


def test_a_recheck_interval_of_zero_reads_the_user_on_every_request(small_database_url, instance):
    app = make_app(small_database_url, instance, IDENTITY_RECHECK_SECONDS=0)
    client = logged_in(app, "editor", "alice")
    assert client.get(PAGE).status_code == 200
    other = statedb.make_state_store(statedb.state_database_url(app.config, app.instance_path))
    try:
        assert other.remove_user("alice")
    finally:
        other.engine.dispose()
    assert _is_refused(client.get(PAGE))


def test_a_trusted_header_user_removed_elsewhere_is_refused_after_the_recheck_interval(small_database_url, instance):
    app = make_app(small_database_url, instance, TRUSTED_USER_HEADER="X-Remote-User")
    fake = FakeClock()
    clock.set_clock(app, fake)
    add_user(app, "alice", "viewer")
    client = app.test_client()
    headers = {"X-Remote-User": "alice"}
    assert client.get(PAGE, headers=headers).status_code == 200
    other = statedb.make_state_store(statedb.state_database_url(app.config, app.instance_path))
    try:
        assert other.remove_user("alice")
    finally:
        other.engine.dispose()
    fake.advance(RECHECK_S)
    assert _is_refused(client.get(PAGE, headers=headers))


@pytest.mark.parametrize("value", [-1, "five", True, float("nan")])
def test_the_recheck_interval_must_be_a_number_of_at_least_zero(small_database_url, instance, value):
    with pytest.raises(ConfigError, match="IDENTITY_RECHECK_SECONDS must be a number of at least 0"):
        make_app(small_database_url, instance, IDENTITY_RECHECK_SECONDS=value)


def test_the_recheck_interval_is_a_setting(small_database_url, instance):
    app = make_app(small_database_url, instance, IDENTITY_RECHECK_SECONDS=60)
    fake = FakeClock()
    clock.set_clock(app, fake)
    client = logged_in(app, "editor", "alice")
    assert "/admin/parent/new/" in client.get(PAGE).get_data(as_text=True)
    other = statedb.make_state_store(statedb.state_database_url(app.config, app.instance_path))
    try:
        _set_role(other, "alice", "viewer")
    finally:
        other.engine.dispose()
    fake.advance(RECHECK_S)
    assert "/admin/parent/new/" in client.get(PAGE).get_data(as_text=True)
    fake.advance(60 - RECHECK_S)
    assert "/admin/parent/new/" not in client.get(PAGE).get_data(as_text=True)
