"""``dashboard tokens`` (dashboard/cli/tokens.py): create prints the token once with how to send
it, list shows everything but the token, revoke works per user name and asks for --user only
when the name is ambiguous; unknown users, bad durations, unknown tables and taken names are
one clear line and exit status 2. A token made here works on the site sharing the instance."""

from __future__ import annotations

import re
import shutil
import typing as t
from pathlib import Path

import pytest
from click.testing import CliRunner

from dashboard.cli import main
from dashboard.site_state import current_site
from tests.apps import add_user, make_app, make_small_database


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> t.Iterator[t.Any]:
    """An app on a small SQLite database with users vera (viewer) and eddie (editor); the CLI
    gets the same settings through the environment."""
    url = make_small_database(tmp_path / "small.db")
    monkeypatch.setenv("DASHBOARD_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", url)
    app = make_app(url, tmp_path / "instance")
    add_user(app, "vera", "viewer")
    add_user(app, "eddie", "editor")
    yield app
    current_site(app).engine.dispose()


def run(*args: str) -> t.Any:
    return CliRunner().invoke(main, ["tokens", *args])


def failed(result: t.Any, *words: str) -> bool:
    message = result.stderr if hasattr(result, "stderr") else result.output
    return result.exit_code == 2 and message.startswith("error:") and all(word in message for word in words)


def test_create_list_use_and_revoke(site: t.Any) -> None:
    made = run("create", "nightly", "--user", "eddie", "--expires", "30d", "--read-only", "--table", "payments")
    assert made.exit_code == 0, made.output
    token = made.stdout.strip()
    assert re.fullmatch(r"dash_[A-Za-z0-9_-]{43}", token)
    assert f"Authorization: Bearer {token}" in made.stderr and "only this once" in made.stderr
    assert run("create", "nightly", "--user", "vera").exit_code == 0  # names are per user
    client = site.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/payments/", headers=headers).status_code == 200
    assert client.get("/api/parent/", headers=headers).status_code == 404
    assert client.post("/api/payments/", headers=headers, json={"values": {"amount": 1}}).status_code == 403

    listed = run("list")
    assert listed.exit_code == 0 and token not in listed.output and token[5:] not in listed.output
    lines = listed.output.splitlines()
    eddie = next(line for line in lines if "eddie" in line)
    assert "nightly" in eddie and "read-only payments" in eddie and "expires never" not in eddie
    assert "last used 20" in eddie  # used above
    vera = next(line for line in lines if "vera" in line)
    assert "expires never" in vera and "last used never" in vera and "read-write" in vera

    assert failed(run("revoke", "nightly"), "eddie", "vera", "--user")
    assert failed(run("revoke", "nightly", "--user", "nobody"), "nobody")
    assert failed(run("revoke", "missing"), "missing")
    revoked = run("revoke", "nightly", "--user", "eddie")
    assert revoked.exit_code == 0 and "eddie" in revoked.output
    assert client.get("/api/payments/", headers=headers).status_code == 401
    assert run("revoke", "nightly").exit_code == 0  # vera's, the only one left of that name
    assert "No API tokens" in run("list").output


def test_bad_input_is_one_clear_line_and_status_2(site: t.Any) -> None:
    assert failed(run("create", "ci", "--user", "nobody"), "nobody")
    assert failed(run("create", "ci", "--user", "vera", "--expires", "soon"), "soon", "30d")
    assert failed(run("create", "ci", "--user", "vera", "--table", "payments", "--table", "nope"), "nope")
    assert failed(run("create", "bad\nname", "--user", "vera"), "token name")
    assert run("create", "ci", "--user", "vera").exit_code == 0
    assert failed(run("create", "ci", "--user", "vera"), "vera", "ci")
    assert "per user" in run("revoke", "--help").output


def test_tables_are_taken_unchecked_with_a_warning_when_the_database_cannot_be_reached(
    site: t.Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", f"sqlite:///{tmp_path / 'missing.db'}")
    made = run("create", "ci", "--user", "vera", "--table", "later")
    assert made.exit_code == 0, made.output
    assert made.stderr.startswith("warning: tables not checked")
    assert "later" in run("list").output


def test_without_a_database_url_tables_are_checked_against_the_demo_database(
    site: t.Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DASHBOARD_DATABASE_URL")
    shutil.copy(tmp_path / "small.db", tmp_path / "instance" / "demo.db")
    assert failed(run("create", "ci", "--user", "vera", "--table", "nope"), "nope")
    assert run("create", "ci", "--user", "vera", "--table", "payments").exit_code == 0
