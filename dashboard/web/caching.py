"""The listing cache: page rows and counts of a listing, never whole HTML pages.

Entries are keyed by the table, its *generation*, the listing's arguments (sort, search,
filters, page, page size) and the operator's permission scope. Every write made through
the dashboard bumps the table's generation in the shared cache, so the next listing on
every worker and every instance misses and reads fresh rows; writes by other programs
are picked up when entries expire (``LISTING_TTL_SECONDS``, 30 s by default). Rendered
HTML is never cached: it carries per-operator CSRF tokens and nonces.

A cache backend that fails (Redis restarted, a full disk) degrades to uncached pages
with a warning in the log, never to an error page.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import typing as t

from flask import Flask, current_app
from flask_caching import Cache

from dashboard import clock
from dashboard.db.listing import MISSING

log = logging.getLogger(__name__)


class ListingCache:
    """Cached listing data for one app, over any Flask-Caching backend.

    Each entry carries the time it expires by the app's clock (:mod:`dashboard.clock`, wall
    time: an entry one worker writes is read by the others): the backends' whole-second
    timeouts only free the space, so a test moves the clock past the TTL instead of waiting.
    """

    def __init__(self, cache: Cache, ttl: int) -> None:
        self.cache = cache
        self.ttl = ttl
        self._warned_at = 0.0

    def _warn(self, action: str, exc: Exception) -> None:
        # One line a minute is enough to say the cache is down without flooding the log.
        if time.monotonic() - self._warned_at > 60:
            log.warning("listing cache unavailable (%s): %s; serving uncached pages", action, exc)
            self._warned_at = time.monotonic()

    def generation(self, table_id: str) -> int | None:
        """The table's write generation, or ``None`` when the cache cannot be reached."""
        try:
            value = self.cache.get(_generation_key(table_id))
        except Exception as exc:  # any backend failure means "no cache", never an error page
            self._warn("read generation", exc)
            return None
        return int(value or 0)

    def generations(self, table_ids: t.Sequence[str]) -> list[int] | None:
        """The write generations of ``table_ids``, in order, read in one round trip (a chart
        reading many tables); ``None`` when the cache cannot be reached."""
        if not table_ids:
            return []
        try:
            values = self.cache.get_many(*(_generation_key(table_id) for table_id in table_ids))
        except Exception as exc:  # any backend failure means "no cache", never an error page
            self._warn("read generation", exc)
            return None
        return [int(value or 0) for value in values]

    def bump(self, table_id: str) -> None:
        """Mark every cached listing of ``table_id`` stale, on every worker sharing the cache."""
        key = _generation_key(table_id)
        try:
            # Flask-Caching's facade has no inc(); its backend's is atomic on Redis.
            if self.cache.cache.inc(key) is None:
                self.cache.set(key, time.time_ns(), timeout=0)
        except Exception as exc:
            self._warn("bump generation", exc)

    def key(self, table_id: str, generation: int, kind: str, scope: t.Any, args: t.Any) -> str:
        """A cache key for one listing query."""
        payload = json.dumps([table_id, generation, kind, scope, args], default=str, sort_keys=True)
        return "listing:" + hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def get(self, key: str) -> t.Any:
        """The cached value, or :data:`MISSING`."""
        try:
            entry = self.cache.get(key)
        except Exception as exc:
            self._warn("read", exc)
            return MISSING
        if not (isinstance(entry, tuple) and len(entry) == 2):
            return MISSING  # never written, freed by the backend, or written by an older release
        expires_at, value = entry
        return MISSING if expires_at is not None and clock.now() >= expires_at else value

    def set(self, key: str, value: t.Any, ttl: int | None = None) -> None:
        """Store ``value`` for ``ttl`` seconds (default :attr:`ttl`; charts keep theirs longer)."""
        ttl = self.ttl if ttl is None else ttl
        # A TTL of 0 is Flask-Caching's "never expires"; it stays that.
        expires_at = None if ttl == 0 else clock.now() + ttl
        try:
            self.cache.set(key, (expires_at, value), timeout=ttl)
        except Exception as exc:
            self._warn("write", exc)

    def add(self, key: str, value: t.Any, ttl: int | None = None) -> None:
        """Store ``value`` like :meth:`set`, unless the key holds a value already: a reader
        filling the cache from the database must not overwrite what a writer put there since."""
        ttl = self.ttl if ttl is None else ttl
        expires_at = None if ttl == 0 else clock.now() + ttl
        try:
            self.cache.add(key, (expires_at, value), timeout=ttl)
        except Exception as exc:
            self._warn("write", exc)


def _generation_key(table_id: str) -> str:
    return "generation:" + hashlib.sha256(table_id.encode("utf-8")).hexdigest()


def init_app(app: Flask) -> ListingCache:
    """Set up Flask-Caching from the ``CACHE_*`` settings and return the listing cache."""
    app.config.setdefault("CACHE_KEY_PREFIX", "dashboard:")
    cache = Cache()
    cache.init_app(app)
    listing = ListingCache(cache, int(app.config["LISTING_TTL_SECONDS"]))
    app.extensions["dashboard_cache"] = listing
    return listing


def listing_cache() -> ListingCache | None:
    """The current app's listing cache, if caching is set up."""
    return t.cast("ListingCache | None", current_app.extensions.get("dashboard_cache"))
