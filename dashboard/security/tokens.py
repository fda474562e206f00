"""API tokens: ``Authorization: Bearer dash_...`` makes a script an operator, for ``/api/`` only.

A token is ``dash_`` followed by 32 random bytes (``secrets.token_urlsafe``). Only its
SHA-256 is stored (:mod:`dashboard.statedb_tokens`): the token is as random as a key, so a
slow password hash would add nothing but time to every call, and a copy of the state
database yields no usable token. A request's token is looked up by its hash, which also
makes the comparison independent of how much of a guess is right.

What a token may do:

- never more than its user: the user's record is read with the token on every call (one
  query), so a role that shrank or a user removed counts at the next call, not after
  ``IDENTITY_RECHECK_SECONDS``;
- a read-only token only views and exports; a token limited to some tables
  (``--table``) reaches no other relation: :func:`dashboard.security.permissions.can` asks
  :meth:`TokenScope.allows` before the user's role;
- no site-wide action at all (managing users, the audit log, plugin pages, error details):
  those administer the dashboard itself and are for a person at a browser, while a token
  lives in scripts and CI settings where it leaks more easily;
- only under ``/api/``: a token sent to a page is refused with a 401 problem, so a leaked
  token cannot drive the HTML forms, and the session cookie is never consulted when a
  token is sent (a bad token is a 401, not a fall-back to the cookie);
- no CSRF token (:mod:`dashboard.security.headers`): a browser never adds the header by
  itself, so another site cannot make one send it. Nothing is written into a session, so
  a token call sets no cookie.

Each token is limited to ``API_RATE_LIMIT`` calls (:mod:`dashboard.security.token_limits`);
its last use is written at most once a minute, not on every call.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
import secrets
import typing as t
from dataclasses import dataclass

from flask import Flask, current_app, g, has_request_context, request
from flask.sessions import SessionInterface
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from dashboard import clock, statedb, statedb_tokens
from dashboard.i18n.translation import gettext
from dashboard.messages import N_, Message
from dashboard.problems import is_api_path, problem
from dashboard.security import token_limits

if t.TYPE_CHECKING:
    from flask import Response

    from dashboard.db.reflection import TableInfo

log = logging.getLogger(__name__)

EXTENSION_KEY = "dashboard_tokens"
#: What every token starts with: recognisable in a log or a secret scanner.
PREFIX = "dash_"
_TOKEN = re.compile(r"dash_[A-Za-z0-9_-]{43}")
#: Table actions a read-only token keeps; every other table action counts as a write.
READ_ACTIONS = frozenset({"view", "export"})
#: A token's last use is written when the one stored is older than this.
LAST_USED_EVERY_S = 60.0
#: Token names: what ``dashboard tokens`` and the tokens page accept.
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.@-]{0,63}")
_DURATION = re.compile(r"\s*(\d{1,6})\s*([smhdw])\s*")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True)
class TokenScope:
    """What the token of the current request narrows its user's rights to (``g.dashboard_token``)."""

    name: str
    read_only: bool
    #: Endpoints (or ids) of the relations it may reach; ``None``: every one its user may.
    tables: frozenset[str] | None

    def allows(self, action: str, table: TableInfo | None) -> bool:
        """Whether the token leaves ``action`` on ``table`` to its user's rights (``None``: site-wide)."""
        if table is None:
            return False  # no site-wide action through a token (see the module's docstring)
        if self.read_only and action not in READ_ACTIONS:
            return False
        return self.tables is None or table.endpoint in self.tables or table.id in self.tables


# -- making tokens --------------------------------------------------------------------------


def new_token() -> str:
    """A fresh token, to be shown once and stored only as :func:`token_hash`."""
    return PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The hex SHA-256 of ``token``: what the state database keeps."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a token, or ``None``."""
    if not NAME_PATTERN.fullmatch(name):
        return Message(
            N_("a token name is 1 to 64 letters, digits, spaces and . _ @ -, starting with a letter or digit")
        )
    return None


def parse_duration(text: str) -> float:
    """Seconds in ``text`` such as ``30d``, ``12h``, ``2w``, ``90m``, ``45s``.

    :raises ValueError: with a message saying what is accepted.
    """
    found = _DURATION.fullmatch(text or "")
    if found is None or int(found.group(1)) == 0:
        raise ValueError(
            Message(N_("%(value)s is not a duration: write a number and s, m, h, d or w, e.g. 30d"), value=repr(text))
        )
    return float(int(found.group(1)) * _UNIT_S[found.group(2)])


def create_token(
    store: statedb.StateStore,
    user: statedb.UserRecord,
    name: str,
    *,
    now: float,
    expires_in_s: float | None = None,
    read_only: bool = False,
    tables: t.Sequence[str] | None = None,
) -> str:
    """Make a token for ``user`` and store its hash; returns the token (shown once, never again).

    :raises sqlalchemy.exc.IntegrityError: when ``user`` has a token called ``name`` already.
    """
    token = new_token()
    statedb_tokens.add_token(
        store,
        user,
        name,
        token_hash(token),
        read_only=read_only,
        tables=tables,
        created_at=now,
        expires_at=now + expires_in_s if expires_in_s is not None else None,
    )
    return token


# -- the token of a request ------------------------------------------------------------------


def bearer(req: t.Any) -> str | None:
    """The token of ``Authorization: Bearer <token>`` (``""`` when the scheme has no token), or
    ``None`` when the request sends none."""
    scheme, _, value = req.headers.get("Authorization", "").strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def token_scope() -> TokenScope | None:
    """The scope of the current request's token, or ``None`` when it was not made with one."""
    if not has_request_context():
        return None
    return t.cast("TokenScope | None", g.get("dashboard_token"))


def load_user(req: t.Any, make_user: t.Callable[[statedb.UserRecord], t.Any]) -> t.Any:
    """Flask-Login's request loader for a bearer token: ``make_user(record)`` of its user, or ``None``.

    A refusal is noted in ``g`` for :func:`_check_token`, which answers it with a 401.
    """
    token = bearer(req)
    if token is None:
        return None
    if not is_api_path(req.path):
        g.dashboard_bearer_refused = "elsewhere"
        return None
    hashed = token_hash(token)
    found = statedb_tokens.token_with_user(statedb.get_store(current_app), hashed) if _TOKEN.fullmatch(token) else None
    now = clock.now()
    if found is None or not hmac.compare_digest(found[1], hashed):
        g.dashboard_bearer_refused = "unknown"
        return None
    record, _stored, user = found
    if user.disabled:
        g.dashboard_bearer_refused = "unknown"
        return None
    if record.expired(now):
        g.dashboard_bearer_refused = "expired"
        return None
    g.dashboard_token = TokenScope(
        record.name, record.read_only, frozenset(record.tables) if record.tables is not None else None
    )
    #: What the rate limit counts by: the hash, unlike the row id, is never given to another token.
    g.dashboard_token_key = hashed
    if record.last_used_at is None or not 0 <= now - record.last_used_at < LAST_USED_EVERY_S:
        try:
            statedb_tokens.mark_used(statedb.get_store(current_app), record.id, now)
        except SQLAlchemyError as exc:  # a note for the list, never a reason to refuse the call
            log.warning("last use of API token %s not written: %s", record.id, exc)
    return make_user(user)


_REFUSALS = {
    "elsewhere": N_("API tokens are accepted under /api/ only."),
    "unknown": N_("This API token is not valid: it may have been revoked, or its user removed."),
    "expired": N_("This API token has expired."),
}


def _check_token() -> Response | None:
    """Before every request: a request that sends a token gets in with it or not at all."""
    if bearer(request) is None:
        return None
    user = current_user._get_current_object()  # loads the token's user (Flask-Login loads lazily)
    scope = token_scope()
    if scope is None or not getattr(user, "is_authenticated", False):
        reason = g.get("dashboard_bearer_refused", "unknown")
        error = "invalid_request" if reason == "elsewhere" else "invalid_token"
        return problem(
            401,
            gettext("Not logged in"),
            gettext(_REFUSALS.get(reason, _REFUSALS["unknown"])),
            headers={"WWW-Authenticate": f'Bearer realm="dashboard", error="{error}"'},
        )
    limit = t.cast("token_limits.RateLimit | None", current_app.extensions[EXTENSION_KEY])
    wait = token_limits.hit(limit, str(g.dashboard_token_key)) if limit is not None else 0.0
    if wait > 0:
        return problem(
            429,
            gettext("Too many requests"),
            gettext("This API token made too many calls. Try again in %(seconds)s seconds.", seconds=math.ceil(wait)),
            headers={"Retry-After": str(math.ceil(wait))},
        )
    return None


class _NoCookieOnTokenCalls(SessionInterface):
    """The app's session interface, except that a request sending a token never saves a session.

    A token call has no session of its own; one that also carries a cookie (or renders a
    page that makes a CSRF token, like the API explorer) must not get a cookie back either.
    """

    def __init__(self, inner: SessionInterface) -> None:
        self.inner = inner

    def open_session(self, app: Flask, request: t.Any) -> t.Any:
        return self.inner.open_session(app, request)

    def make_null_session(self, app: Flask) -> t.Any:
        return self.inner.make_null_session(app)

    def is_null_session(self, obj: object) -> bool:
        return self.inner.is_null_session(obj)

    def save_session(self, app: Flask, session: t.Any, response: t.Any) -> None:
        if bearer(request) is None:
            self.inner.save_session(app, session, response)


def init_app(app: Flask) -> None:
    """Answer bad tokens and rate-limit good ones before anything else looks at the request.

    Call before the login requirement is registered (:func:`dashboard.security.auth.init_app`).

    :raises dashboard.settings.ConfigError: when ``API_RATE_LIMIT`` cannot be read.
    """
    app.extensions[EXTENSION_KEY] = token_limits.parse_rate(app.config.get("API_RATE_LIMIT", ""))
    app.before_request(_check_token)
    app.session_interface = _NoCookieOnTokenCalls(app.session_interface)
