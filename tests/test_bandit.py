"""bandit finds nothing in ``dashboard/`` that is not explained where it stands.

A finding is either fixed, or accepted with an inline ``# nosec BXXX -- reason`` on its
statement that names the check and says why the code is safe. A bare ``# nosec``, a
comment without a reason, or one that no longer silences anything fails too, so the
explanations stay true as the code changes.
"""

from __future__ import annotations

import importlib.util
import io
import json
import re
import subprocess
import sys
import tokenize
import typing as t
from pathlib import Path

import pytest

# Left out of the everyday run: `python -m pytest -m checks` (a step of .ci/run).
pytestmark = pytest.mark.checks

REPO = Path(__file__).resolve().parent.parent
PACKAGE = "dashboard"
#: ``# nosec B123 -- why`` or ``# nosec B123, B456 -- why`` (a reason of a few words).
NOSEC = re.compile(r"#\s*nosec\s+(?P<codes>B\d{3}(?:\s*,\s*B\d{3})*)\s+--\s+(?P<reason>\S.{9,})$")


def _bandit(*extra: str) -> dict[str, t.Any]:
    if importlib.util.find_spec("bandit") is None:
        pytest.fail("bandit is not installed; pip install -e '.[test]'", pytrace=False)
    completed = subprocess.run(
        [sys.executable, "-m", "bandit", "-q", "-r", PACKAGE, "-f", "json", *extra],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    # bandit exits 1 when it has findings; the report says which.
    assert completed.returncode in (0, 1), completed.stderr
    report = json.loads(completed.stdout)
    assert report["errors"] == [], report["errors"]
    return t.cast(dict[str, t.Any], report)


def _describe(results: list[dict[str, t.Any]]) -> str:
    return "\n".join(
        f"{r['filename']}:{r['line_number']} {r['test_id']} ({r['issue_severity']}): {r['issue_text']}" for r in results
    )


def _nosec_comments() -> list[tuple[str, int, str]]:
    """Every comment mentioning ``nosec`` in the package: (file, line, comment)."""
    found = []
    for path in sorted((REPO / PACKAGE).rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type == tokenize.COMMENT and "nosec" in token.string.lower():
                found.append((str(path.relative_to(REPO)), token.start[0], token.string.strip()))
    return found


def _bandit_names() -> set[str]:
    """Names of bandit's checks: a reason word among them would silence that check too."""
    # Asked of a separate interpreter: importing bandit's plugin loader here would raise
    # its dependencies' deprecation warnings, which this test run treats as errors.
    code = (
        "import json; from bandit.core import extension_loader as e; m = e.MANAGER; "
        "print(json.dumps([*m.plugins_by_name, *getattr(m, 'blacklist_by_name', {})]))"
    )
    completed = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=True,
    )
    return {name.lower() for name in json.loads(completed.stdout)}


def test_bandit_reports_no_unexplained_finding():
    results = _bandit()["results"]
    assert not results, (
        "bandit findings; fix them, or add `# nosec BXXX -- reason` where the code is safe:\n" + _describe(results)
    )


def test_every_nosec_names_its_check_gives_a_reason_and_is_still_needed():
    every_finding = _bandit("--ignore-nosec")["results"]
    names = _bandit_names()
    problems = []
    for filename, line, comment in _nosec_comments():
        match = NOSEC.search(comment)
        if match is None:
            problems.append(f"{filename}:{line}: write `# nosec BXXX -- reason`, not {comment!r}")
            continue
        words = {w.lower() for w in re.findall(r"[A-Za-z_]\w*", match["reason"])}
        if words & names:
            problems.append(f"{filename}:{line}: the reason names bandit checks {sorted(words & names)}")
        for code in re.findall(r"B\d{3}", match["codes"]):
            if not any(
                r["filename"] == filename and r["test_id"] == code and line in r["line_range"] for r in every_finding
            ):
                problems.append(f"{filename}:{line}: bandit no longer reports {code} here; remove it")
    assert not problems, "\n".join(problems)
