"""How many calls an API token may make: ``API_RATE_LIMIT`` such as ``600/minute``, per token.

Calls are counted per token in fixed windows of the period (a minute for ``600/minute``)
in the site's Flask-Caching backend, the one the listing cache uses: Redis or the file
cache when several workers serve the site, so every worker counts on the same number
(Redis's increment is atomic; the file cache's is close enough for a limit). The window
is read from the app's clock (:mod:`dashboard.clock`), so a test moves time instead of
sleeping. A cache that cannot be reached lets calls through with a warning in the log:
the limit protects the site from a runaway script, and is no reason to stop every script.
"""

from __future__ import annotations

import logging
import math
import re
import typing as t
from dataclasses import dataclass

from flask import current_app

from dashboard import clock
from dashboard.messages import N_, Message
from dashboard.settings import ConfigError

log = logging.getLogger(__name__)

_PERIODS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
_RATE = re.compile(r"\s*(\d+)\s*/\s*(second|minute|hour|day)\s*")


@dataclass(frozen=True)
class RateLimit:
    """At most ``calls`` calls per token in each ``period_s`` seconds."""

    calls: int
    period_s: int


def parse_rate(value: t.Any) -> RateLimit | None:
    """``API_RATE_LIMIT`` read: ``"600/minute"``; an empty value means no limit.

    :raises ConfigError: for anything else.
    """
    if value in ("", None):
        return None
    found = _RATE.fullmatch(value) if isinstance(value, str) else None
    if found is None or int(found.group(1)) < 1:
        raise ConfigError(
            Message(
                N_("%(setting)s must look like 600/minute (a number, then second, minute, hour or day), or be empty"),
                setting="API_RATE_LIMIT",
            )
        )
    return RateLimit(int(found.group(1)), _PERIODS[found.group(2)])


def _backend() -> t.Any:
    # The listing cache's Flask-Caching object (dashboard.web.caching, a layer above this
    # one, keeps it in app.extensions); its backend has the atomic add and inc.
    listing = current_app.extensions.get("dashboard_cache")
    return getattr(getattr(listing, "cache", None), "cache", None)


def hit(limit: RateLimit, token_key: str) -> float:
    """Count one call of the token known by ``token_key`` (its hash); ``0.0`` when it may go
    ahead, else seconds to wait."""
    backend = _backend()
    if backend is None:
        return 0.0
    now = clock.now()
    window = math.floor(now / limit.period_s)
    key = f"api-rate:{token_key[:32]}:{window}"
    try:
        # add() leaves an existing count alone and gives a new one its expiry (Redis's INCR keeps it).
        backend.add(key, 0, timeout=2 * limit.period_s)
        count = backend.inc(key)
    except Exception as exc:  # any backend failure: no limit this time, never an error
        log.warning("API rate limit not counted (cache unavailable): %s", exc)
        return 0.0
    if count is None or int(count) <= limit.calls:
        return 0.0
    return max(1.0, (window + 1) * limit.period_s - now)
