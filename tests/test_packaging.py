"""The wheel built from the sdist carries the bundled folders and installs a working CLI.

An editable install reads ``templates/``, ``config/`` and ``plugins/`` from the work tree,
so only a real build and a plain install show whether a user's ``pip install`` works.
Building needs the package index (for the build backend and the dependencies), so these
tests skip without it, or fail under ``DASHBOARD_TEST_REQUIRE_SERVICES=1``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.databases import require_service
from tests.once import once_per_run

# Left out of the everyday run: `python -m pytest -m checks` (a step of .ci/run).
pytestmark = pytest.mark.checks

REPO = Path(__file__).resolve().parent.parent
#: Paths the wheel must hold; a trailing ``/`` means "a folder with files in it".
WHEEL_MUST_CONTAIN = (
    "dashboard/_bundled/templates/",
    "dashboard/_bundled/config/default.toml",
    "dashboard/_bundled/plugins/README.md",
    "dashboard/py.typed",
)
#: Compiled message catalogs the build hook (.build_hooks/catalogs.py) must have added.
WHEEL_MUST_CONTAIN += tuple(
    f"dashboard/translations/{locale}/LC_MESSAGES/dashboard.mo"
    for locale in ("en", "de", "fr", "es", "pt_BR", "it", "nl", "pl", "ru", "zh_Hans_CN", "ja", "ar")
)
#: The vendored charting library and API explorer with their licences, and the built-in plugins.
WHEEL_MUST_CONTAIN += (
    "dashboard/static/vendor/chartjs/chart.umd.min.js",
    "dashboard/static/vendor/chartjs/LICENSE.md",
    "dashboard/static/charts.js",
    "dashboard/static/vendor/swagger-ui/swagger-ui-bundle.js",
    "dashboard/static/vendor/swagger-ui/LICENSE",
    "dashboard/static/api_explorer.js",
    "dashboard/plugins/builtins/overview.py",
    "dashboard/_bundled/plugins/sales_overview/templates/sales_overview/page.html",
    # `dashboard plugins new` writes a plugin from these; its test uses dashboard.testing.
    "dashboard/cli/plugin_template/__init__.py.tmpl",
    "dashboard/cli/plugin_template/test_plugin.py.tmpl",
    "dashboard/testing.py",
)
# Building and installing Flask & co. from the index takes well under this.
_STEP_TIMEOUT_S = 600


def _clean_env() -> dict[str, str]:
    # The installed copy must not see the work tree through the test run's settings.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    return env


def _run(command: Sequence[str | Path], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``command``, failing the test with its output when it exits non-zero."""
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=_STEP_TIMEOUT_S,
        stdin=subprocess.DEVNULL,
    )
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, command))} exited {result.returncode}\n"
            f"--- stdout\n{result.stdout[-5000:]}\n--- stderr\n{result.stderr[-5000:]}",
            pytrace=False,
        )
    return result


def _only(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    assert len(found) == 1, f"expected one {pattern} in {folder}, found {found}"
    return found[0]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel that ``python -m build`` made from the sdist it built first."""
    require_service("package index", "building the sdist and wheel needs the package index")

    def build(out: Path) -> None:
        # No --sdist/--wheel: build's default is exactly "sdist, then the wheel from it".
        _run([sys.executable, "-m", "build", "--outdir", out, REPO], cwd=out)

    out = once_per_run(tmp_path_factory, "dist", build)
    _only(out, "*.tar.gz")
    return _only(out, "*.whl")


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv (no system site-packages) with the wheel installed from the index."""

    def install(venv: Path) -> None:
        _run([sys.executable, "-m", "venv", venv], cwd=venv)
        _run([venv / "bin" / "python", "-m", "pip", "install", wheel], cwd=venv)

    return once_per_run(tmp_path_factory, "venv", install)


def test_wheel_contains_bundled_folders(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    missing = [
        wanted
        for wanted in WHEEL_MUST_CONTAIN
        if not any(name == wanted or (wanted.endswith("/") and name.startswith(wanted)) for name in names)
    ]
    assert not missing, f"{wheel.name} lacks {missing}"


def test_installed_cli_answers_help(installed: Path) -> None:
    result = _run([installed / "bin" / "dashboard", "--help"], cwd=installed)
    assert "Usage" in result.stdout


def test_installed_package_reads_its_bundled_folders(installed: Path) -> None:
    # Run from the venv folder so the work tree's dashboard/ cannot be imported instead.
    code = "from dashboard.paths import bundled_dir; print(bundled_dir('config'))"
    result = _run([installed / "bin" / "python", "-c", code], cwd=installed)
    config = Path(result.stdout.strip())
    assert config.is_relative_to(installed) and config.parts[-2:] == ("_bundled", "config")
    assert (config / "default.toml").is_file()


_TRANSLATED_LOGIN = """
import sqlite3, sys, tempfile
from pathlib import Path

import dashboard.i18n.catalogs
from dashboard.app import create_app

folder = Path(tempfile.mkdtemp())
sqlite3.connect(folder / "shop.db").executescript("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT);")
app = create_app({"DATABASE_URL": f"sqlite:///{folder / 'shop.db'}", "INSTANCE_PATH": str(folder / "instance")})
page = app.test_client().get("/login", headers={"Accept-Language": sys.argv[1]}).get_data(as_text=True)
mo = dashboard.i18n.catalogs.po_path(dashboard.i18n.catalogs.TRANSLATIONS_DIR, sys.argv[1]).with_suffix(".mo")
print(mo.is_file(), page)
"""


@pytest.mark.parametrize(("locale", "expected"), [("de", "Benutzername"), ("ar", 'dir="rtl"'), ("ja", "ユーザー名")])
def test_installed_package_shows_translated_pages(installed: Path, locale: str, expected: str) -> None:
    result = _run([installed / "bin" / "python", "-c", _TRANSLATED_LOGIN, locale], cwd=installed)
    compiled, page = result.stdout.split(" ", 1)
    assert compiled == "True"  # read from the .mo the build compiled, inside the installed package
    assert expected in page


def test_installed_package_loads_the_bundled_example_plugins(installed: Path, tmp_path: Path) -> None:
    demo = tmp_path / "demo.db"
    _run([installed / "bin" / "dashboard", "demo", "--rows", "200", "--output", demo], cwd=tmp_path)
    result = _run([installed / "bin" / "dashboard", "plugins", f"sqlite:///{demo}"], cwd=tmp_path)
    bundled = installed.glob("lib/python*/site-packages/dashboard/_bundled/plugins")
    folder = str(next(bundled))
    assert f"Plugins folder: {folder}" in result.stdout
    assert "    page: /admin/-/pages/sales-overview/" in result.stdout
    assert "No problems." in result.stdout
