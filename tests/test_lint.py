"""ruff finds nothing in the project's Python (the rules are chosen in pyproject.toml).

A finding is fixed, or silenced where it stands with ``# noqa: CODE`` and a reason.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHECKED = ["dashboard", "tests", "plugins", "bench", ".build_hooks"]


def test_ruff_reports_nothing() -> None:
    if importlib.util.find_spec("ruff") is None:
        pytest.fail("ruff is not installed; pip install -e '.[test]'", pytrace=False)
    completed = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise",
                                *CHECKED], cwd=REPO, capture_output=True, text=True, timeout=300,
                               stdin=subprocess.DEVNULL, check=False)
    assert completed.returncode == 0, completed.stdout + completed.stderr
