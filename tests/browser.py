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

__all__ = ["BROWSER_ARGS", "CHROMIUM", "choose_in_lookup", "chromium", "lookup_answers", "require_browser"]

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


def lookup_answers(page: t.Any, opener: str, text: str) -> t.Any:
    """Open the foreign-key lookup (select2) at selector ``opener``, type ``text``, and wait for
    the answers to that text; returns the locator of their labels.

    The answers to the empty search stay on screen while the typed text is asked, without a
    highlighted one: Enter pressed then chose nothing and left the dropdown's mask over the form
    (a Save click timed out on a loaded machine). select2 marks its search box ``select2-active``
    until the answer arrives and highlights the first choice of the new list.
    """
    page.click(opener)
    page.keyboard.type(text)
    drop = page.locator(".select2-drop-active")
    drop.locator("input.select2-input:not(.select2-active)").wait_for()
    drop.locator(".select2-highlighted").wait_for()
    return drop.locator(".select2-result-label")


def choose_in_lookup(page: t.Any, opener: str, text: str) -> str:
    """Choose the first answer to ``text`` in the lookup at ``opener`` with Enter, as an operator
    does; returns the label chosen, once the dropdown has closed."""
    lookup_answers(page, opener, text)
    chosen = str(page.locator(".select2-drop-active .select2-highlighted").inner_text())
    page.keyboard.press("Enter")
    page.locator("#select2-drop-mask").wait_for(state="hidden")
    return chosen
