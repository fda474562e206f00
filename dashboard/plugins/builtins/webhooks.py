"""Built-in plugin: webhooks, a signed JSON POST to configured URLs after every write.

Loaded only when ``WEBHOOKS`` is set: a list of ``{url, secret, tables?, actions?}``
(``tables``: table ids such as ``orders`` or ``sales.orders``; ``actions``: ``create``,
``edit``, ``delete``; either left out means all). For every row a write through the
dashboard committed (``after_write``: pages, API, bulk actions, imports, plugins' writes),
each webhook that wants it gets one POST of::

    {"table": "orders", "action": "edit", "key": "42", "old": {...}, "new": {...},
     "user": "alice", "time": "2026-12-03T10:15:00Z"}

``old`` and ``new`` hold the row's columns the dashboard shows, in the API's JSON forms
(secret-looking and hidden columns are never sent); ``old`` is null for a create, ``new``
for a delete. The request carries ``X-Dashboard-Timestamp`` (seconds since the epoch),
``X-Dashboard-Delivery`` (the delivery's id in the log) and ``X-Dashboard-Signature:
sha256=<hex>``, the HMAC-SHA256 with the webhook's ``secret`` of the timestamp, a dot and
the body, as sent. A receiver checks it (and refuses old timestamps, so a recorded request
cannot be replayed)::

    expected = "sha256=" + hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    ok = hmac.compare_digest(expected, signature) and abs(time.time() - int(timestamp)) < 300

Deliveries are sent by a background thread of the process, never in the request: a slow or
absent receiver neither slows nor fails the write. A delivery that gets no answer, or a
5xx, 408 or 429 one, is tried again after each of ``WEBHOOK_RETRY_SECONDS`` in turn, then
given up; any other 4xx is given up at once. Each delivery and its attempts are in the
state database (:mod:`dashboard.statedb_webhooks`), shown to administrators at
``/admin/-/pages/webhooks/``, for 30 days. Deliveries still waiting when the process stops
are not sent (the log shows them pending).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import heapq
import hmac
import itertools
import json
import logging
import os
import threading
import time
import typing as t
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask import Flask, current_app
from flask_login import current_user

from dashboard import clock, statedb, statedb_webhooks
from dashboard.db.json_values import to_json
from dashboard.hookspecs import hookimpl
from dashboard.i18n.formatting import format_moment
from dashboard.i18n.translation import lazy_gettext
from dashboard.pages import Page
from dashboard.site_state import current_site
from dashboard.web.keys import encode_key

if t.TYPE_CHECKING:
    from dashboard.db.reflection import TableInfo

log = logging.getLogger(__name__)

EXTENSION_KEY = "dashboard_webhooks"
SIGNATURE_HEADER = "X-Dashboard-Signature"
TIMESTAMP_HEADER = "X-Dashboard-Timestamp"
DELIVERY_HEADER = "X-Dashboard-Delivery"
ACTIONS = frozenset({"create", "edit", "delete"})
#: Seconds the sender thread waits with nothing to send before it ends.
_IDLE_S = 60.0
#: Answers worth another try: the receiver is down, overloaded or slow.
_RETRIED = frozenset({408, 429})

#: ``send(url, body, headers, timeout)`` -> the HTTP status; raises ``OSError`` when no answer came.
Sender = t.Callable[[str, bytes, t.Mapping[str, str], float], int]


@dataclass(frozen=True)
class Webhook:
    """One entry of ``WEBHOOKS``."""

    url: str
    secret: str
    tables: frozenset[str] | None = None
    actions: frozenset[str] | None = None

    def wants(self, table_id: str, action: str) -> bool:
        """Whether a write of ``action`` to ``table_id`` is sent to this webhook."""
        return (self.tables is None or table_id in self.tables) and (self.actions is None or action in self.actions)


def configured(entries: t.Any) -> list[Webhook]:
    """The ``WEBHOOKS`` setting as webhooks.

    :raises ValueError: for an entry that is not ``{url, secret, tables?, actions?}`` with an
        http(s) URL, a non-empty secret and known actions.
    """
    if not isinstance(entries, list):
        raise ValueError("WEBHOOKS must be a list of {url, secret, tables, actions} tables")
    hooks = []
    for index, entry in enumerate(entries):
        where = f"WEBHOOKS[{index}]"
        if not isinstance(entry, t.Mapping) or set(entry) - {"url", "secret", "tables", "actions"}:
            raise ValueError(f"{where} must be a table of url, secret, and optionally tables and actions")
        url, secret = entry.get("url"), entry.get("secret")
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{where}.url must be an http or https address")
        if not isinstance(secret, str) or not secret:
            raise ValueError(f"{where}.secret must be a non-empty string, shared with the receiver")
        tables, actions = entry.get("tables"), entry.get("actions")
        if tables is not None and not (isinstance(tables, list) and all(isinstance(x, str) for x in tables)):
            raise ValueError(f"{where}.tables must be a list of table ids")
        if actions is not None and not (isinstance(actions, list) and set(actions) <= ACTIONS):
            raise ValueError(f"{where}.actions must be a list of create, edit, delete")
        hooks.append(
            Webhook(
                url=t.cast(str, url),
                secret=secret,
                tables=frozenset(tables) if tables is not None else None,
                actions=frozenset(actions) if actions is not None else None,
            )
        )
    return hooks


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Dashboard-Signature`` of ``body`` sent at ``timestamp``: ``sha256=<hex>``."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect is an answer, not a new address: following it would send the signed payload
    # (as a GET, without its body) wherever the receiver points.
    def redirect_request(self, *args: t.Any, **kwargs: t.Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects())


def send(url: str, body: bytes, headers: t.Mapping[str, str], timeout: float) -> int:
    """POST ``body`` to ``url``; the answer's status (raises ``OSError`` when none came)."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as answer:
        return int(answer.code)


@dataclass(order=True)
class _Job:
    due: float
    sequence: int
    delivery_id: int = field(compare=False)
    hook: Webhook = field(compare=False)
    body: bytes = field(compare=False)
    attempts: int = field(default=0, compare=False)


class Deliveries:
    """The webhooks of one app and the background thread that sends their payloads.

    :param retry_seconds: the waits before each further attempt (the backoff).
    :param sender: what sends one request (:func:`send`; a test may give its own).
    """

    def __init__(
        self,
        app: Flask,
        hooks: t.Sequence[Webhook],
        *,
        retry_seconds: t.Sequence[float],
        timeout: float,
        sender: Sender = send,
    ) -> None:
        self.app = app
        self.hooks = list(hooks)
        self.retry_seconds = [max(0.0, float(s)) for s in retry_seconds]
        self.timeout = timeout
        self.sender = sender
        self._store = statedb.get_store(app)
        self._sequence = itertools.count()
        self._reset()

    def _reset(self) -> None:
        # Also after a fork: the parent's thread and lock are not the child's.
        self._pid = os.getpid()
        self._queue: list[_Job] = []
        self._busy = 0
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None

    def enqueue(self, delivery_id: int, hook: Webhook, body: bytes) -> None:
        """Send ``body`` to ``hook`` as delivery ``delivery_id``, in the background."""
        if self._pid != os.getpid():
            self._reset()
        with self._condition:
            heapq.heappush(self._queue, _Job(time.monotonic(), next(self._sequence), delivery_id, hook, body))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="dashboard-webhooks", daemon=True)
                self._thread.start()
            self._condition.notify_all()

    def wait_until_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or being sent (at most ``timeout`` seconds); whether it is so."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._queue or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._condition.wait(left)
        return True

    def _run(self) -> None:
        while True:
            with self._condition:
                while not self._queue or self._queue[0].due > time.monotonic():
                    if self._queue:
                        self._condition.wait(self._queue[0].due - time.monotonic())
                    elif not self._condition.wait(_IDLE_S) and not self._queue:
                        # Idle: the thread ends (the next enqueue starts another), so an app
                        # nobody writes through any more is not kept alive by it.
                        self._thread = None
                        return
                job = heapq.heappop(self._queue)
                self._busy += 1
            try:
                self._attempt(job)
            except Exception:  # noqa: BLE001 -- the sender thread must outlive any one delivery
                log.exception("webhook delivery %s to %s failed", job.delivery_id, job.hook.url)
            finally:
                with self._condition:
                    self._busy -= 1
                    self._condition.notify_all()

    def _attempt(self, job: _Job) -> None:
        job.attempts += 1
        now = clock.now(self.app)
        timestamp = str(int(now))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "dashboard-webhooks",
            TIMESTAMP_HEADER: timestamp,
            DELIVERY_HEADER: str(job.delivery_id),
            SIGNATURE_HEADER: signature(job.hook.secret, timestamp, job.body),
        }
        status: int | None = None
        try:
            status = self.sender(job.hook.url, job.body, headers, self.timeout)
            error = "" if 200 <= status < 300 else f"HTTP {status}"
        except (OSError, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        delivered = status is not None and 200 <= status < 300
        retried = status is None or status >= 500 or status in _RETRIED
        if delivered:
            state, next_at = statedb_webhooks.DELIVERED, None
        elif retried and job.attempts <= len(self.retry_seconds):
            wait = self.retry_seconds[job.attempts - 1]
            state, next_at = statedb_webhooks.PENDING, now + wait
            with self._condition:
                job.due = time.monotonic() + wait
                heapq.heappush(self._queue, job)
                self._condition.notify_all()
        else:
            state, next_at = statedb_webhooks.FAILED, None
            log.warning("webhook delivery %s to %s given up: %s", job.delivery_id, job.hook.url, error)
        statedb_webhooks.record_attempt(
            self._store, job.delivery_id, state=state, status=status, error=error, now=now, next_attempt_at=next_at
        )


def deliveries(app: Flask | None = None) -> Deliveries | None:
    """The webhooks of ``app`` (default: the current app), or ``None`` when it has none."""
    return t.cast(Deliveries | None, (app or current_app).extensions.get(EXTENSION_KEY))


# -- hooks --------------------------------------------------------------------------------------


@hookimpl
def startup(app: Flask) -> None:
    hooks = configured(app.config.get("WEBHOOKS") or [])  # a ValueError is this plugin's reported problem
    store = statedb.get_store(app)
    statedb_webhooks.webhook_deliveries.create(store.engine, checkfirst=True)
    statedb_webhooks.forget_old(store, before=clock.now(app) - statedb_webhooks.KEEP_SECONDS)
    app.extensions[EXTENSION_KEY] = Deliveries(
        app,
        hooks,
        retry_seconds=list(app.config.get("WEBHOOK_RETRY_SECONDS") or []),
        timeout=float(app.config.get("WEBHOOK_TIMEOUT_SECONDS") or 10),
    )


@hookimpl
def after_write(
    table: TableInfo, action: str, old: t.Mapping[str, t.Any] | None, new: t.Mapping[str, t.Any] | None
) -> None:
    found = deliveries()
    if found is None:
        return
    wanted = [hook for hook in found.hooks if hook.wants(table.id, action)]
    if not wanted:
        return
    view = current_site().views[table.id]
    now = clock.now()
    row = new if new is not None else old
    key = None
    if row is not None and table.row_key_source != "rowid" and all(name in row for name in table.row_key):
        key = encode_key(tuple(row[name] for name in table.row_key), view.store.key_codecs)

    def shown(values: t.Mapping[str, t.Any] | None) -> dict[str, t.Any] | None:
        if values is None:
            return None
        # Only what the dashboard shows: a secret-looking or hidden column never leaves it.
        return {c.name: to_json(view.store.codecs[c.key], values[c.name]) for c in view.visible if c.name in values}

    user = str(current_user.username) if getattr(current_user, "is_authenticated", False) else "(system)"
    payload = {
        "table": table.id,
        "action": action,
        "key": key,
        "old": shown(old),
        "new": shown(new),
        "user": user,
        "time": dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    }
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    store = statedb.get_store(current_app)
    for hook in wanted:
        delivery_id = statedb_webhooks.add_delivery(
            store, url=hook.url, table_id=table.id, action=action, row_key=key, now=now
        )
        found.enqueue(delivery_id, hook, body)


class WebhooksPage(Page):
    """The webhooks configured and their latest deliveries, for administrators."""

    title = lazy_gettext("Webhooks")
    slug = "webhooks"
    template = "dashboard/webhooks.html"

    def context(self) -> t.Mapping[str, t.Any]:
        found = deliveries()
        shown = [
            {
                **vars(delivery),
                "created": _moment(delivery.created_at),
                "last_attempt": _moment(delivery.last_attempt_at),
                "next_attempt": _moment(delivery.next_attempt_at),
            }
            for delivery in statedb_webhooks.list_deliveries(statedb.get_store(current_app))
        ]
        return {"webhooks": found.hooks if found is not None else [], "deliveries": shown}


def _moment(seconds: float | None) -> str:
    return format_moment(dt.datetime.fromtimestamp(seconds, dt.UTC)) if seconds is not None else ""


@hookimpl
def register_pages() -> list[type[Page]]:
    return [WebhooksPage]
