"""The instance folder (users, audit log, secret key, demo) is one place, whatever the current directory."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from dashboard.instance import file_cache_dir, instance_path_for
from dashboard.site_state import current_site
from tests.apps import make_app
from tests.served import Browser, dashboard_cli, serving

NEW_PASSWORD = "chosen from elsewhere"


@pytest.fixture
def data_home(tmp_path: Path) -> dict[str, str]:
    """An environment whose user data folder is in the test's tmp, with no instance override."""
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    env.pop("DASHBOARD_INSTANCE_PATH", None)
    return env


def test_the_command_line_finds_the_same_users_and_demo_from_any_directory(tmp_path, data_home):
    folder = tmp_path / "data" / "dashboard"
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir()
    elsewhere.mkdir()

    with serving(env=data_home, cwd=here, log=tmp_path / "first.log") as first:
        banner = first.output()
    assert f"Instance folder (users, audit log, secret key): {folder} " in banner
    assert f"from sqlite:///{folder / 'demo.db'}" in banner
    assert "No users existed, so one was created" in banner
    demo = (folder / "demo.db").stat()

    listed = dashboard_cli("users", "list", env=data_home, cwd=elsewhere)
    assert re.search(r"^admin\s+admin\s", listed.stdout, re.M), listed.stdout
    changed = dashboard_cli(
        "users", "set-password", "admin", "--password-stdin", env=data_home, cwd=elsewhere, stdin=NEW_PASSWORD + "\n"
    )
    assert "Password of admin changed" in changed.stdout

    with serving(env=data_home, cwd=elsewhere, log=tmp_path / "second.log") as second:
        banner = second.output()
        Browser(second.base).login("admin", NEW_PASSWORD)  # the user changed from elsewhere
    assert f"from sqlite:///{folder / 'demo.db'}" in banner
    assert "No users existed" not in banner
    assert (folder / "demo.db").stat().st_mtime_ns == demo.st_mtime_ns  # the same demo, not a new one

    # Nothing was created where the commands ran.
    assert list(here.iterdir()) == [] and list(elsewhere.iterdir()) == []


def test_a_missing_user_names_the_state_database_it_looked_in(tmp_path, data_home):
    result = dashboard_cli(
        "users",
        "set-password",
        "admin",
        "--password-stdin",
        env=data_home,
        cwd=tmp_path,
        stdin=NEW_PASSWORD + "\n",
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: no user 'admin' in {tmp_path / 'data' / 'dashboard' / 'state.db'}"
    assert not (tmp_path / "instance").exists()


def test_the_app_keeps_its_files_in_the_users_data_folder(tmp_path, monkeypatch, small_database_url):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    app = make_app(small_database_url, "")  # no INSTANCE_PATH: the default
    try:
        assert Path(app.instance_path) == tmp_path / "data" / "dashboard"
        assert {p.name for p in Path(app.instance_path).iterdir()} >= {"state.db", "secret_key"}
        assert not (tmp_path / "instance").exists()
    finally:
        current_site(app).engine.dispose()


def test_instance_path_overrides_the_default(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert instance_path_for({"INSTANCE_PATH": "~/dash"}) == tmp_path / "dash"
    assert instance_path_for({"INSTANCE_PATH": str(tmp_path / "site")}) == tmp_path / "site"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert instance_path_for({"INSTANCE_PATH": ""}) == tmp_path / "xdg" / "dashboard"


def test_each_database_gets_its_own_file_cache_in_the_shared_folder(tmp_path):
    shop = file_cache_dir(tmp_path, "postgresql+psycopg://app:s3cret@db/shop")
    crm = file_cache_dir(tmp_path, "postgresql+psycopg://app:s3cret@db/crm")
    assert shop != crm and shop.parent == crm.parent == tmp_path / "cache"
    # The password plays no part: the same database whatever it is.
    assert file_cache_dir(tmp_path, "postgresql+psycopg://app:other@db/shop") == shop
