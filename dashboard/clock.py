"""The app's clock: seconds since the epoch, replaceable per app.

Whatever times itself against a short interval (how long an operator's record is trusted,
:mod:`dashboard.security.identity`) reads :func:`now` instead of :func:`time.time`, so a test
moves the time forward with :func:`set_clock` rather than sleeping. Without a replacement the
clock is :func:`time.time`. It lives in ``app.extensions``, never on a module global, so two
apps in one process keep their own.
"""

from __future__ import annotations

import time
import typing as t

from flask import Flask, current_app

EXTENSION_KEY = "dashboard_clock"

Clock = t.Callable[[], float]


def set_clock(app: Flask, clock: Clock) -> None:
    """Make ``clock`` the time of ``app`` from now on (a test's fake clock)."""
    app.extensions[EXTENSION_KEY] = clock


def now(app: Flask | None = None) -> float:
    """Seconds since the epoch by the clock of ``app`` (default: the current app)."""
    clock = t.cast(Clock, (app or current_app).extensions.get(EXTENSION_KEY, time.time))
    return clock()
