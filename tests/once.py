"""Work done once per test run and shared by every pytest-xdist worker.

A module-scoped fixture runs once per worker that picks up one of the module's tests: with
four workers, the wheel of tests/test_packaging.py was built (and installed into a fresh
virtualenv) up to four times. :func:`once_per_run` makes it once, under a file lock in the
folder every worker of the run shares; the others wait for it, then reuse it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest


def once_per_run(factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]) -> Path:
    """The folder ``name``, filled by ``make(folder)`` the first time any worker of this run asks.

    A ``make`` that fails leaves no result behind: the next worker to ask tries again (and
    reports its own failure).
    """
    root = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, above each worker's own
    folder = root / f"shared-{name}"
    with open(root / f"shared-{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            done = folder / ".done"
            if not done.exists():
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir()
                make(folder)
                done.touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return folder
