"""ruff and mypy find nothing in the project's Python, and it is as ruff formats it (all three are
configured in pyproject.toml: one format, lines of at most 120 characters).

A finding is fixed, or silenced where it stands (``# noqa: CODE``, ``# type: ignore[code]``)
with a reason; mypy also reports an ignore that no longer silences anything.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

# Left out of the everyday run: `python -m pytest -m checks` (a step of .ci/run).
pytestmark = pytest.mark.checks

REPO = Path(__file__).resolve().parent.parent
CHECKED = ["dashboard", "tests", "plugins", "bench", ".build_hooks"]


def _run(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(module) is None:
        pytest.fail(f"{module} is not installed; pip install -e '.[test]'", pytrace=False)
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_ruff_reports_nothing() -> None:
    completed = _run("ruff", "check", "--no-cache", "--output-format", "concise", *CHECKED)
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_code_is_formatted_by_ruff() -> None:
    completed = _run("ruff", "format", "--check", "--no-cache", *CHECKED)
    assert completed.returncode == 0, "run `ruff format` on:\n" + completed.stdout + completed.stderr


def test_mypy_reports_nothing_in_the_package() -> None:
    completed = _run("mypy")  # the files and options are in pyproject.toml
    assert completed.returncode == 0, completed.stdout + completed.stderr
