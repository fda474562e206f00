"""The operator of each request, remembered by this process for a few seconds.

Flask-Login loads the operator on every request (:mod:`dashboard.security.auth`). Reading
the state database each time is a query, and on a warm list page a noticeable share of the
time; so each process keeps the records it read for ``IDENTITY_RECHECK_SECONDS`` (5 by
default, 0 rechecks on every request) and reads them again after that.

That interval is the longest an operator removed, given another role, a new password or
logged out by another process or instance (``dashboard users ...``, a second server on the
same state database) can go on as before. A change made through this process's own store
drops everything remembered at once (:attr:`dashboard.statedb.StateStore.users_generation`).
Ages are measured by the app's clock (:mod:`dashboard.clock`); a clock that goes back
counts as time up, never as more time.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from flask import Flask

from dashboard import clock, statedb
from dashboard.messages import N_, Message
from dashboard.settings import ConfigError

EXTENSION_KEY = "dashboard_identity"

#: More remembered operators than this and the oldest are forgotten at the next read; a
#: trusted proxy header can name as many users as it likes.
MAX_REMEMBERED = 1000

#: What a record is remembered under: ``("id", 3)`` or ``("name", "alice")``.
Key = tuple[str, int | str]


@dataclass(frozen=True)
class _Remembered:
    record: statedb.UserRecord | None
    read_at: float
    generation: int


class RememberedOperators:
    """Users read from one app's state store, each trusted for ``recheck_s`` seconds.

    Read in a request (or app) context of that app, whose clock times the entries.
    """

    def __init__(self, store: statedb.StateStore, recheck_s: float) -> None:
        self._store = store
        self.recheck_s = recheck_s
        self._entries: dict[Key, _Remembered] = {}

    def by_id(self, user_id: int, *, fresh: bool = False) -> statedb.UserRecord | None:
        """The user with id ``user_id`` as read at most ``recheck_s`` ago, or ``None``.

        :param fresh: read the state database whatever is remembered.
        """
        return self._get(("id", user_id), lambda: self._store.user_by_id(user_id), fresh)

    def by_name(self, username: str, *, fresh: bool = False) -> statedb.UserRecord | None:
        """The user called exactly ``username`` as read at most ``recheck_s`` ago, or ``None``."""
        return self._get(("name", username), lambda: self._store.user_by_name(username), fresh)

    def _get(self, key: Key, read: t.Callable[[], statedb.UserRecord | None], fresh: bool) -> statedb.UserRecord | None:
        now = clock.now()  # of the current app: the one whose store this is
        generation = self._store.users_generation
        entry = self._entries.get(key)
        if (
            not fresh
            and entry is not None
            and entry.generation == generation
            and 0 <= now - entry.read_at < self.recheck_s
        ):
            return entry.record
        # The generation is taken before the read: a write between the two leaves this
        # entry marked older than it is, read again next time, never trusted too long.
        record = read()
        if len(self._entries) >= MAX_REMEMBERED:
            self._forget_oldest()
        self._entries[key] = _Remembered(record, now, generation)
        return record

    def _forget_oldest(self) -> None:
        # Threads of a worker share this dict: iterate over a copy of its items.
        by_age = sorted(list(self._entries.items()), key=lambda item: item[1].read_at)
        for key, _entry in by_age[: len(by_age) // 2]:
            self._entries.pop(key, None)


def recheck_seconds(config: t.Mapping[str, t.Any]) -> float:
    """``IDENTITY_RECHECK_SECONDS``, checked.

    :raises ConfigError: unless it is a number of at least 0.
    """
    value = config["IDENTITY_RECHECK_SECONDS"]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise ConfigError(Message(N_("%(setting)s must be a number of at least 0"), setting="IDENTITY_RECHECK_SECONDS"))
    return float(value)


def init_app(app: Flask, store: statedb.StateStore) -> RememberedOperators:
    """Remember the operators ``store`` yields for ``app``, in ``app.extensions``.

    :raises ConfigError: when ``IDENTITY_RECHECK_SECONDS`` is not a number of at least 0.
    """
    remembered = RememberedOperators(store, recheck_seconds(app.config))
    app.extensions[EXTENSION_KEY] = remembered
    return remembered


def remembered_operators(app: Flask) -> RememberedOperators:
    """The :class:`RememberedOperators` of ``app`` (set up by :func:`init_app`)."""
    return t.cast(RememberedOperators, app.extensions[EXTENSION_KEY])
