"""API tokens (dashboard/security/tokens.py): a token is its user, read fresh on every call, and
never more. Anonymous and bad tokens get a 401 problem and never the session's rights; a
viewer's or read-only token cannot write; a token limited to a table sees only it (404 and
absent from openapi.json for the others); revoked, expired, removed-user tokens are refused
and a shrunk role counts at the next call; calls are rate-limited per token; no cookie is
set; only the token's hash is stored; the browser page makes and revokes one's own tokens
with CSRF. SQLite only: nothing here depends on the dialect."""

from __future__ import annotations

import re
import time
import typing as t
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from dashboard import clock, statedb, statedb_tokens
from dashboard.security import token_limits, tokens
from dashboard.settings import ConfigError
from dashboard.site_state import current_site
from tests.apps import add_user, csrf_token, login, make_app, make_small_database

#: Calls per token per minute in this module's app: the rate test goes over it, others stay under.
RATE = 8


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Flask]:
    """An app on parent/child/payments with operators vera (viewer), eddie (editor), ada (admin)."""
    folder: Path = tmp_path_factory.mktemp("tokens")
    app = make_app(make_small_database(folder / "small.db"), folder / "instance", API_RATE_LIMIT=f"{RATE}/minute")
    app.config["PROPAGATE_EXCEPTIONS"] = True
    for name, role in (("vera", "viewer"), ("eddie", "editor"), ("ada", "admin")):
        add_user(app, name, role)
    yield app
    current_site(app).engine.dispose()


@pytest.fixture
def now(app: Flask) -> t.Iterator[list[float]]:
    """The app's clock, a test's to move: ``now[0] += 61``."""
    moment = [time.time()]
    clock.set_clock(app, lambda: moment[0])
    yield moment
    clock.set_clock(app, time.time)


_names = iter(range(10**6))


def token_of(app: Flask, username: str, **options: t.Any) -> str:
    """A new token of ``username`` (options of :func:`tokens.create_token`), under a fresh name."""
    store = statedb.get_store(app)
    user = store.user_by_name(username)
    assert user is not None
    return tokens.create_token(store, user, f"t{next(_names)}", now=clock.now(app), **options)


def call(app: Flask, token: str | None, path: str, method: str = "GET", **kwargs: t.Any) -> t.Any:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return app.test_client().open(path, method=method, headers=headers, **kwargs)


def refused(response: t.Any, error: str = "invalid_token") -> bool:
    return (
        response.status_code == 401
        and response.mimetype == "application/problem+json"
        and f'error="{error}"' in response.headers["WWW-Authenticate"]
    )


def test_anonymous_and_bad_tokens_get_a_401_problem_and_never_the_session(app: Flask) -> None:
    anonymous = call(app, None, "/api/payments/")
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    for bad in ("dash_" + "x" * 43, "nonsense", "", tokens.PREFIX):
        assert refused(call(app, bad, "/api/payments/")), bad
    # A logged-in browser that sends a bad token is refused too, not let in by its cookie.
    browser = app.test_client()
    assert login(browser, "ada").status_code == 302
    assert browser.get("/api/payments/").status_code == 200
    assert refused(browser.get("/api/payments/", headers={"Authorization": "Bearer dash_wrong"}))
    # Nor does a token call carrying a cookie get one back, even from a page that makes a CSRF token.
    for path in ("/api/", "/api/openapi.json"):
        answer = browser.get(path, headers={"Authorization": f"Bearer {token_of(app, 'vera')}"})
        assert answer.status_code == 200 and "Set-Cookie" not in answer.headers, path
    # A good token is for the API only: a page refuses it, whoever it belongs to.
    good = token_of(app, "ada")
    assert refused(call(app, good, "/admin/"), "invalid_request")
    assert refused(call(app, good, "/admin/payments/"), "invalid_request")


def test_a_token_reads_as_its_user_sets_no_cookie_and_notes_its_use_once_a_minute(app: Flask, now: list[float]) -> None:
    token = token_of(app, "vera")
    response = call(app, token, "/api/payments/")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [row["values"]["amount"] for row in response.get_json()["rows"]] == [100]
    assert "Set-Cookie" not in response.headers
    record = _token(app, _name_of(app, token))
    first = record.last_used_at
    assert first == now[0]
    now[0] += 30
    assert call(app, token, "/api/payments/1").status_code == 200
    assert _token(app, record.name).last_used_at == first  # not written again within a minute
    now[0] += 31
    assert call(app, token, "/api/payments/1").status_code == 200
    assert _token(app, record.name).last_used_at == now[0]


def _token(app: Flask, name: str) -> statedb_tokens.TokenRecord:
    return next(r for r in statedb_tokens.list_tokens(statedb.get_store(app)) if r.name == name)


def test_a_viewer_token_and_a_read_only_token_cannot_write_an_editor_token_writes_without_csrf(app: Flask) -> None:
    new = {"values": {"amount": 7}}
    assert call(app, token_of(app, "vera"), "/api/payments/", "POST", json=new).status_code == 403
    assert call(app, token_of(app, "eddie", read_only=True), "/api/payments/", "POST", json=new).status_code == 403
    written = call(app, token_of(app, "eddie"), "/api/payments/", "POST", json=new)
    assert written.status_code == 201, written.get_data(as_text=True)
    assert "Set-Cookie" not in written.headers
    # A browser session still needs its CSRF token for the same call.
    browser = app.test_client()
    assert login(browser, "eddie").status_code == 302
    assert browser.post("/api/payments/", json=new).status_code == 400


def test_a_token_limited_to_one_table_sees_only_it(app: Flask) -> None:
    token = token_of(app, "ada", tables=["payments"])
    assert call(app, token, "/api/payments/").status_code == 200
    assert call(app, token, "/api/parent/").status_code == 404
    assert call(app, token, "/api/child/1").status_code == 404
    assert call(app, token, "/api/parent/", "POST", json={"values": {"name": "x"}}).status_code in (403, 404)
    paths = call(app, token, "/api/openapi.json").get_json()["paths"]
    assert any(path.startswith("/api/payments/") for path in paths)
    assert not any(path.startswith(("/api/parent/", "/api/child/")) for path in paths)


def test_revoked_and_expired_tokens_are_refused(app: Flask, now: list[float]) -> None:
    store = statedb.get_store(app)
    revoked = token_of(app, "vera")
    assert call(app, revoked, "/api/payments/").status_code == 200
    record = _token(app, _name_of(app, revoked))
    assert statedb_tokens.remove_token(store, record.user_id, record.name)
    assert refused(call(app, revoked, "/api/payments/"))
    expiring = token_of(app, "vera", expires_in_s=3600)
    assert call(app, expiring, "/api/payments/").status_code == 200
    now[0] += 3600
    response = call(app, expiring, "/api/payments/")
    assert refused(response) and "expired" in response.get_json()["detail"]


def test_a_shrunk_role_counts_at_the_next_call_and_a_removed_user_is_refused(app: Flask) -> None:
    store = statedb.get_store(app)
    add_user(app, "shrinking", "editor")
    token = token_of(app, "shrinking")
    assert call(app, token, "/api/payments/", "POST", json={"values": {"amount": 1}}).status_code == 201
    # Changed by another process (as `dashboard users` would): nothing this one remembers is told.
    with store.engine.begin() as connection:
        connection.execute(statedb.users.update().where(statedb.users.c.username == "shrinking").values(role="viewer"))
    assert call(app, token, "/api/payments/", "POST", json={"values": {"amount": 2}}).status_code == 403
    assert call(app, token, "/api/payments/").status_code == 200
    with store.engine.begin() as connection:
        connection.execute(statedb.users.delete().where(statedb.users.c.username == "shrinking"))
    assert refused(call(app, token, "/api/payments/"))
    # A new user of the same name does not inherit the tokens (removal deletes them).
    add_user(app, "shrinking", "admin")
    assert refused(call(app, token, "/api/payments/"))
    assert store.remove_user("shrinking")
    assert not [r for r in statedb_tokens.list_tokens(store) if r.username == "shrinking"]


def test_calls_over_the_rate_limit_get_429_with_retry_after(app: Flask, now: list[float]) -> None:
    now[0] = (now[0] // 60) * 60 + 10  # 50 seconds left in this window
    token, other = token_of(app, "vera"), token_of(app, "vera")
    for _ in range(RATE):
        assert call(app, token, "/api/payments/").status_code == 200
    over = call(app, token, "/api/payments/")
    assert over.status_code == 429 and over.mimetype == "application/problem+json"
    assert over.headers["Retry-After"] == "50"
    assert call(app, other, "/api/payments/").status_code == 200  # per token
    now[0] += 50
    assert call(app, token, "/api/payments/").status_code == 200


def test_only_the_hash_of_a_token_is_stored(app: Flask) -> None:
    token = token_of(app, "ada")
    assert re.fullmatch(r"dash_[A-Za-z0-9_-]{43}", token)
    engine = statedb.get_store(app).engine
    with engine.connect() as connection:
        dump = repr([list(connection.execute(sa.select(table))) for table in statedb.metadata.sorted_tables]) + Path(
            str(engine.url.database)
        ).read_bytes().decode("latin-1")
    assert token not in dump and token[5:] not in dump
    assert tokens.token_hash(token) in dump


def test_scope_rules_durations_and_rate_settings() -> None:
    class Table:
        endpoint, id = "orders", "orders"

    table = t.cast(t.Any, Table())
    scope = tokens.TokenScope("ci", read_only=True, tables=frozenset({"orders"}))
    assert scope.allows("view", table) and scope.allows("export", table)
    assert not scope.allows("edit", table) and not scope.allows("import", table)
    assert not tokens.TokenScope("ci", False, None).allows("manage_users", None)  # nothing site-wide
    assert not tokens.TokenScope("ci", False, frozenset({"other"})).allows("view", table)
    assert tokens.parse_duration("30d") == 30 * 86400 and tokens.parse_duration("2w") == 14 * 86400
    for bad in ("", "30", "0d", "d", "1y", "-1d"):
        with pytest.raises(ValueError):
            tokens.parse_duration(bad)
    assert token_limits.parse_rate("600/minute") == token_limits.RateLimit(600, 60)
    assert token_limits.parse_rate("") is None
    for bad in ("600", "0/minute", "ten/hour", 5):
        with pytest.raises(ConfigError):
            token_limits.parse_rate(bad)


def _name_of(app: Flask, token: str) -> str:
    found = statedb_tokens.token_with_user(statedb.get_store(app), tokens.token_hash(token))
    assert found is not None
    return found[0].name


def _new_token_on(page: str) -> str:
    found = re.search(r'id="dashboard-new-token">([^<]+)<', page)
    assert found, page
    return found.group(1)


def test_the_page_creates_and_revokes_ones_own_tokens_with_csrf(app: Flask) -> None:
    browser: FlaskClient = app.test_client()
    assert login(browser, "eddie").status_code == 302
    others = token_of(app, "ada")  # someone else's: never shown to eddie
    page = browser.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/-/tokens/"' in page
    form = {"name": "report <b>", "expires": "7d", "read_only": "1", "tables": ["payments"]}
    assert browser.post("/admin/-/tokens/", data=form).status_code == 400  # no CSRF token
    csrf = csrf_token(browser, "/admin/-/tokens/")
    bad = browser.post("/admin/-/tokens/", data={**form, "csrf_token": csrf})
    assert bad.status_code == 400 and "report &lt;b&gt;" in bad.get_data(as_text=True)  # kept, escaped
    assert (
        browser.post("/admin/-/tokens/", data={**form, "name": "x", "tables": ["nope"], "csrf_token": csrf}).status_code
        == 400
    )
    made = browser.post("/admin/-/tokens/", data={**form, "name": "report", "csrf_token": csrf})
    assert made.status_code == 200
    token = _new_token_on(made.get_data(as_text=True))
    assert call(app, token, "/api/payments/").status_code == 200
    assert call(app, token, "/api/parent/").status_code == 404
    assert call(app, token, "/api/payments/", "POST", json={"values": {"amount": 3}}).status_code == 403
    listed = browser.get("/admin/-/tokens/").get_data(as_text=True)
    mine = re.findall(r'class="dashboard-token-name">([^<]*)<', listed)
    assert "report" in mine and _name_of(app, others) not in mine
    assert token not in listed  # shown once only
    assert browser.post("/admin/-/tokens/", data={**form, "name": "report", "csrf_token": csrf}).status_code == 400
    assert browser.post("/admin/-/tokens/revoke", data={"name": "report"}).status_code == 400  # no CSRF token
    assert call(app, token, "/api/payments/").status_code == 200
    revoked = browser.post("/admin/-/tokens/revoke", data={"name": "report", "csrf_token": csrf})
    assert revoked.status_code == 302
    assert refused(call(app, token, "/api/payments/"))
    # An admin's page lists their own tokens only.
    admin = app.test_client()
    assert login(admin, "ada").status_code == 302
    names = re.findall(r'class="dashboard-token-name">([^<]*)<', admin.get("/admin/-/tokens/").get_data(as_text=True))
    ada_id = statedb.get_store(app).user_by_name("ada")
    assert ada_id is not None
    assert names == sorted(r.name for r in statedb_tokens.list_tokens(statedb.get_store(app), ada_id.id))


def test_an_admin_token_gets_no_site_wide_action_and_no_role(app: Flask) -> None:
    from dashboard.security.permissions import can, operator_role

    token = token_of(app, "ada", tables=["payments"])
    payments = current_site(app).views["payments"].info
    parent = current_site(app).views["parent"].info
    with app.test_request_context("/api/payments/", headers={"Authorization": f"Bearer {token}"}):
        assert app.preprocess_request() is None  # the token is good
        assert can("view", payments) and can("delete", payments)
        assert not can("view", parent)
        assert not any(can(action) for action in ("audit", "manage_users", "page:overview", "details"))
        assert operator_role() is None
    browser = app.test_client()
    assert login(browser, "ada").status_code == 302
    with browser:
        assert browser.get("/api/openapi.json").status_code == 200
        assert can("audit") and operator_role() == "admin"  # the same operator's session keeps them
