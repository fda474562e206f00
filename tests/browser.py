"""Chromium for the browser tests: one process per test worker, a new context per test.

Launching Chromium costs about a second, and a browser module's tests used to pay it once
each. The :func:`chromium` fixture launches Debian's Chromium (Playwright cannot download
its own here) at the first browser test of a worker and closes it when the worker ends;
each test opens a context of its own in it (``chromium.new_context(...)``), with its own
cookies, storage, viewport and locale, which is what keeps tests apart.

While the fixture lives, Playwright's sync API marks the worker's main thread as running
an asyncio loop: no test may start an event loop or a Playwright of its own, so every
browser test takes this fixture.
"""

from __future__ import annotations

import os
import typing as t
from collections.abc import Iterator

import pytest

from tests.databases import REQUIRE_SERVICES_ENV

__all__ = ["BROWSER_ARGS", "CHROMIUM", "chromium", "require_browser"]

CHROMIUM = "/usr/bin/chromium"
# Headless as root, and nothing that calls outside this machine (its network is closed).
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def require_browser() -> None:
    """Skip the test when Playwright or Chromium is missing (fail when services are required)."""
    reason = None
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "Playwright for Python is not installed (pip install '.[test]')"
    if reason is None and not os.path.exists(CHROMIUM):
        reason = f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    if reason:
        if os.environ.get(REQUIRE_SERVICES_ENV) == "1":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> Iterator[t.Any]:
    """This worker's headless Chromium (a Playwright ``Browser``); open a context per test."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield browser
        browser.close()
