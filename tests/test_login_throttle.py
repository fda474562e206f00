"""Login throttling per user name and client address, with back-off (checklist cases 19 and 45).

A known user name cannot be locked out by someone else's guesses, nor everyone behind one
proxy address by failures for other names; the back-off is timed by an injected clock,
never by sleeping; the count holds across workers sharing one state database (SQLite,
PostgreSQL and MariaDB as that database), requests racing on three workers included; and
the client address comes from ``X-Forwarded-For`` only behind ``TRUSTED_PROXIES``.
"""

from __future__ import annotations

import dataclasses
import threading
import typing as t

import pytest
import sqlalchemy as sa
from flask import Flask

from dashboard import statedb
from dashboard.security import auth, proxies, throttle
from dashboard.settings import ConfigError
from tests.apps import add_user, csrf_token, login, make_app

WRONG = "wrong password!"
ATTACKER = {"REMOTE_ADDR": "203.0.113.9"}
OWNER = {"REMOTE_ADDR": "198.51.100.7"}
POLICY = throttle.Policy()


class Clock:
    """Seconds since the epoch that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def with_clock(app: Flask) -> Clock:
    """Make ``app``'s throttle read a :class:`Clock` instead of the time."""
    clock = Clock()
    settings = app.extensions[auth.EXTENSION_KEY]
    app.extensions[auth.EXTENSION_KEY] = dataclasses.replace(settings, clock=clock)
    return clock


@pytest.fixture
def app(small_database_url, tmp_path):
    made = make_app(small_database_url, tmp_path / "instance")
    add_user(made, "alice", "viewer")
    add_user(made, "bob", "viewer")
    return made


def fail(app: Flask, times: int, username: str = "alice", **kwargs: t.Any) -> list[int]:
    return [login(app.test_client(), username, WRONG, **kwargs).status_code for _ in range(times)]


# -- whom a throttle stops ------------------------------------------------------------------------


def test_19_failed_logins_slow_down_that_name_from_that_address_only(app):
    assert fail(app, POLICY.free_failures, environ_base=ATTACKER) == [200] * POLICY.free_failures
    response = login(app.test_client(), "alice", WRONG, environ_base=ATTACKER)
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "Too many failed logins for this user name from your address. Try again in 30 seconds." in page
    assert response.headers["Retry-After"] == "30"
    # From the attacker's address even the right password waits...
    assert login(app.test_client(), "alice", environ_base=ATTACKER).status_code == 429
    # ...but its owner, from her own address, logs in at once, and so does another user
    # from the attacker's address.
    assert login(app.test_client(), "alice", environ_base=OWNER).status_code == 302
    assert login(app.test_client(), "bob", environ_base=ATTACKER).status_code == 302


def test_45_failures_for_many_names_from_one_address_lock_nobody_out(app):
    # Everyone behind one proxy or office address shares it: failures there for other names
    # must not keep bob out (twenty of them locked every user out for 15 minutes).
    shared = {"REMOTE_ADDR": "192.0.2.10"}
    for number in range(30):
        assert login(app.test_client(), f"guess{number}", WRONG, environ_base=shared).status_code == 200
    assert login(app.test_client(), "bob", environ_base=shared).status_code == 302


def test_45_user_names_are_counted_whatever_their_case_and_spaces(app):
    for name in ("alice", "Alice", " ALICE", "alice ", "aLiCe"):
        assert login(app.test_client(), name, WRONG).status_code == 200
    assert login(app.test_client(), "ALICE", WRONG).status_code == 429


# -- back-off, on an injected clock ---------------------------------------------------------------


def test_45_the_wait_doubles_with_each_failure_up_to_fifteen_minutes(app):
    clock = with_clock(app)
    assert fail(app, POLICY.free_failures) == [200] * POLICY.free_failures
    waits = []
    for _ in range(8):
        refused = login(app.test_client(), "alice", WRONG)
        assert refused.status_code == 429
        wait = int(refused.headers["Retry-After"])
        waits.append(wait)
        clock.advance(wait - 1)
        assert login(app.test_client(), "alice", WRONG).status_code == 429  # one second early
        clock.advance(1)
        assert login(app.test_client(), "alice", WRONG).status_code == 200  # counted, and failed
    assert waits == [30, 60, 120, 240, 480, 900, 900, 900]
    assert "Try again in 15 minutes." in login(app.test_client(), "alice", WRONG).get_data(as_text=True)


def test_45_a_correct_password_clears_the_count_of_its_address(app):
    clock = with_clock(app)
    fail(app, POLICY.free_failures + 1)
    clock.advance(POLICY.first_delay_s)
    assert login(app.test_client(), "alice").status_code == 302
    # Five free tries again, not the back-off where it stood.
    assert fail(app, POLICY.free_failures) == [200] * POLICY.free_failures
    assert login(app.test_client(), "alice", WRONG).status_code == 429


def test_45_failures_are_forgotten_after_a_quiet_day_and_the_table_stays_small(app):
    clock = with_clock(app)
    fail(app, POLICY.free_failures)
    for number in range(5):
        fail(app, 1, username=f"someone{number}")
    clock.advance(POLICY.forget_after_s + 1)
    assert fail(app, POLICY.free_failures) == [200] * POLICY.free_failures
    fail(app, 1, username="newcomer")  # a pair's first try clears out the forgotten ones
    store = statedb.get_store(app)
    with store.engine.connect() as connection:
        left = connection.execute(sa.select(statedb.login_throttle.c.username)).scalars().all()
    assert sorted(left) == ["alice", "newcomer"]


def test_19_login_throttle_is_shared_by_workers(small_database_url, tmp_path):
    # Two apps on one instance folder stand for two gunicorn workers: one state database.
    first = make_app(small_database_url, tmp_path / "instance")
    second = make_app(small_database_url, tmp_path / "instance")
    add_user(first, "alice", "viewer")
    assert fail(first, POLICY.free_failures) == [200] * POLICY.free_failures
    assert login(second.test_client(), "alice").status_code == 429


# -- atomic across workers: real concurrency on every state database -----------------------------


def test_45_tries_racing_on_three_workers_check_no_more_passwords_than_allowed(
    small_database_url, empty_database_url, tmp_path, monkeypatch
):
    # Three apps on one state database stand for three workers; fifteen tries start at once.
    workers = [
        make_app(small_database_url, tmp_path / f"worker{n}", STATE_DATABASE_URL=empty_database_url) for n in range(3)
    ]
    add_user(workers[0], "alice", "viewer")
    checked: list[str] = []
    original = auth.check_password_hash

    def counting(hashed: str, password: str) -> bool:
        checked.append(password)
        return original(hashed, password)

    monkeypatch.setattr(auth, "check_password_hash", counting)
    clients = [workers[n % 3].test_client() for n in range(15)]
    tokens = [csrf_token(client, "/login") for client in clients]
    start = threading.Barrier(len(clients))
    statuses: list[t.Any] = []

    def attempt(client: t.Any, token: str) -> None:
        start.wait()
        try:
            response = client.post("/login", data={"username": "alice", "password": WRONG, "csrf_token": token})
        except Exception as exc:  # noqa: BLE001 - a crash is reported as what the operator would get
            statuses.append(f"{type(exc).__name__}: {exc}")
            raise
        statuses.append(response.status_code)

    threads = [threading.Thread(target=attempt, args=pair) for pair in zip(clients, tokens, strict=True)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert len(checked) == POLICY.free_failures, statuses
        assert sorted(statuses) == [200] * POLICY.free_failures + [429] * (15 - POLICY.free_failures)
        assert login(workers[2].test_client(), "alice", environ_base=OWNER).status_code == 302
    finally:
        for worker in workers:
            statedb.get_store(worker).engine.dispose()


# -- the client address behind trusted proxies --------------------------------------------------------

BALANCER = {"REMOTE_ADDR": "10.0.0.5"}


def through_balancer(client_address: str) -> dict[str, t.Any]:
    """``login`` arguments for a request the balancer forwards from ``client_address``."""
    return {"environ_base": BALANCER, "headers": {"X-Forwarded-For": client_address}}


def test_45_behind_a_trusted_proxy_each_client_has_its_own_throttle(small_database_url, tmp_path):
    app = make_app(small_database_url, tmp_path / "instance", TRUSTED_PROXIES=["10.0.0.0/24"])
    add_user(app, "alice", "viewer")
    assert fail(app, POLICY.free_failures, **through_balancer("203.0.113.9")) == [200] * POLICY.free_failures
    assert login(app.test_client(), "alice", **through_balancer("203.0.113.9")).status_code == 429
    # What a client writes into the header itself stays on the left, and is not believed.
    forged = through_balancer("192.0.2.77, 203.0.113.9")
    assert login(app.test_client(), "alice", **forged).status_code == 429
    assert login(app.test_client(), "alice", **through_balancer("198.51.100.7")).status_code == 302


def test_45_forwarded_addresses_are_ignored_from_anyone_else(small_database_url, tmp_path):
    # Without TRUSTED_PROXIES (the default), and from a peer that is not listed, the header
    # is the client's own word: a fresh address per try must not mean a fresh throttle.
    for settings in ({}, {"TRUSTED_PROXIES": ["10.0.0.5"]}):
        app = make_app(small_database_url, tmp_path / f"instance{len(settings)}", **settings)
        add_user(app, "alice", "viewer")
        for number in range(POLICY.free_failures):
            response = login(
                app.test_client(),
                "alice",
                WRONG,
                environ_base=ATTACKER,
                headers={"X-Forwarded-For": f"192.0.2.{number}"},
            )
            assert response.status_code == 200
        response = login(app.test_client(), "alice", environ_base=ATTACKER, headers={"X-Forwarded-For": "192.0.2.99"})
        assert response.status_code == 429, settings


@pytest.mark.parametrize(
    "peer, forwarded, expected",
    [
        ("10.0.0.5", "203.0.113.9", "203.0.113.9"),
        ("10.0.0.5", "192.0.2.1, 203.0.113.9", "203.0.113.9"),  # the left part is the client's word
        ("10.0.0.5", "203.0.113.9, 10.0.0.7", "203.0.113.9"),  # two trusted hops
        ("10.0.0.5", "10.0.0.8, 10.0.0.7", "10.0.0.8"),  # only proxies: the farthest one
        ("10.0.0.5", "", "10.0.0.5"),  # no header: the proxy itself
        ("10.0.0.5", "2001:db8::1", "2001:db8::1"),
        ("203.0.113.9", "192.0.2.1", "203.0.113.9"),  # not a trusted peer
        ("10.0.0.5", "  ,203.0.113.9", "203.0.113.9"),
    ],
)
def test_45_client_address_behind_trusted_proxies(peer, forwarded, expected):
    networks = proxies.parse_trusted_proxies(["10.0.0.0/24"])
    assert proxies.client_address(peer, forwarded, networks) == expected


@pytest.mark.parametrize("value", [["not an address"], "10.0.0.300", [["10.0.0.1"]], 5])
def test_45_a_bad_trusted_proxies_setting_stops_the_start(small_database_url, tmp_path, value):
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        make_app(small_database_url, tmp_path / "instance", TRUSTED_PROXIES=value)


def test_45_trusted_proxies_from_the_environment(small_database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DASHBOARD_TRUSTED_PROXIES", '["10.0.0.0/24", "fd00::/8"]')
    app = make_app(small_database_url, tmp_path / "instance")
    add_user(app, "alice", "viewer")
    fail(app, POLICY.free_failures + 1, **through_balancer("203.0.113.9"))
    assert login(app.test_client(), "alice", **through_balancer("198.51.100.7")).status_code == 302
