"""``dashboard plugins new NAME [--dir DIR]``: a plugin package whose own test passes as written,
and names that cannot be a plugin refused with the reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from dashboard.cli import main
from tests.test_architecture import _outside_plugin_api

EXPECTED_FILES = {
    "__init__.py",
    "README.md",
    "templates/shop_notes/page.html",
    "tests/conftest.py",
    "tests/test_shop_notes.py",
}


def _new(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["plugins", "new", *args], env=env)
    return result.exit_code, result.output


def _files(package: Path) -> set[str]:
    return {str(path.relative_to(package)) for path in package.rglob("*") if path.is_file()}


def test_a_new_plugin_passes_its_own_tests_as_generated(tmp_path: Path) -> None:
    """Scaffold, then run the generated test in a pytest of its own, as its author would
    (no deprecation warning allowed): page, chart, settings and the row action's form."""
    folder = tmp_path / "my plugins"
    code, output = _new("shop_notes", "--dir", str(folder))
    assert code == 0, output
    assert f"Created plugin shop_notes in {(folder / 'shop_notes').resolve()}:" in output
    assert f"python -m pytest {folder / 'shop_notes' / 'tests'}" in output
    assert _files(folder / "shop_notes") == EXPECTED_FILES
    assert _outside_plugin_api((folder / "shop_notes" / "__init__.py").read_text()) == []
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "shop_notes/tests", "-q", "-p", "no:cacheprovider", "-W", "error"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 passed" in run.stdout


def test_the_default_folder_is_the_configured_plugins_folder_else_plugins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, output = _new("first")
    assert code == 0, output
    assert (tmp_path / "plugins" / "first" / "__init__.py").is_file()
    code, output = _new("second", env={"DASHBOARD_PLUGINS_DIR": str(tmp_path / "configured")})
    assert code == 0, output
    assert (tmp_path / "configured" / "second" / "templates" / "second" / "page.html").is_file()


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("9lives", "'9lives' is not a valid plugin name: use a Python identifier"),
        ("team-sales", "'team-sales' is not a valid plugin name"),
        ("class", "'class' is not a valid plugin name"),
        ("x" * 64, "is not a valid plugin name"),
        ("json", "a module called 'json' can already be imported"),
        ("dashboard", "a module called 'dashboard' can already be imported"),
        ("overview", "'overview' is the name of a built-in plugin"),
        ("taken", "already exists: choose another name"),
    ],
)
def test_a_name_that_cannot_be_a_plugin_is_refused_with_the_reason(tmp_path: Path, name: str, message: str) -> None:
    (tmp_path / "taken").mkdir()
    code, output = _new(name, "--dir", str(tmp_path))
    assert code == 2
    assert output.startswith("error: ") and message in output, output
    assert sorted(path.name for path in tmp_path.iterdir()) == ["taken"]  # nothing written
    assert not list((tmp_path / "taken").iterdir())


def test_listing_still_takes_its_database_and_help_names_new(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["plugins", "--help"])
    assert result.exit_code == 0
    assert "new NAME [--dir DIR]" in result.output
    result = CliRunner().invoke(main, ["plugins", "new", "--help"])
    assert "Start plugin NAME" in result.output and "--dir" in result.output
