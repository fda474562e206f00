"""Who may use the dashboard, and what each operator may do.

Every request needs a logged-in operator except the login page, static files and
``/healthz``. Operators and their roles live in the state database (:mod:`dashboard.statedb`);
``dashboard users`` manages them. A role grants table actions, and the ``TABLES`` setting
can change that per table::

    [tables.payments]
    roles = { editor = ["view", "export"], viewer = [] }

A role listed there gets exactly the listed actions on that table (``[]``: the table is
hidden from it); roles not listed keep their defaults. Actions are ``view``, ``create``,
``edit``, ``delete`` and ``export``.

Sessions are Flask's signed cookies, so what makes them revocable is the user's
``session_version``: copied into the session at login and compared on every request;
logging out, a password change or removing the user bumps it, and every cookie issued
before stops working. Each process reads an operator's record again at most every
``IDENTITY_RECHECK_SECONDS`` (:mod:`dashboard.security.identity`): the longest a change
made elsewhere (``dashboard users``, another instance) takes to reach a logged-in operator.

Failed logins are slowed down per user name and client address (:mod:`dashboard.security.throttle`);
the client address is the peer's, or behind ``TRUSTED_PROXIES`` the forwarded one
(:mod:`dashboard.security.proxies`).
"""

from __future__ import annotations

import functools
import math
import re
import secrets
import time
import typing as t
from dataclasses import dataclass
from datetime import timedelta

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from dashboard import statedb, statedb_users
from dashboard.i18n.translation import LANGUAGE_ENDPOINT, current_locale, gettext, lazy_gettext
from dashboard.i18n.translation import SESSION_KEY as _LOCALE_KEY
from dashboard.messages import N_, Message
from dashboard.problems import API_PATH, is_api_path, problem
from dashboard.security import audit, identity, proxies, tokens
from dashboard.security.throttle import Policy, throttle_key
from dashboard.settings import ConfigError
from dashboard.urls import own_endpoint, safe_next

EXTENSION_KEY = "dashboard_auth"

#: Actions a table view asks about, and what each role may do by default. ``admin`` may
#: also do whatever else is asked (pages added later ask for their own action names).
TABLE_ACTIONS: tuple[str, ...] = ("view", "create", "edit", "delete", "export")
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "viewer": frozenset({"view", "export"}),
    "editor": frozenset(TABLE_ACTIONS),
    "admin": frozenset(TABLE_ACTIONS),
}
ROLES: tuple[str, ...] = tuple(ROLE_ACTIONS)


MIN_PASSWORD_LENGTH = 10
#: The production method of ``PASSWORD_HASH_METHOD``: slow and memory-hard on purpose.
DEFAULT_HASH_METHOD = "scrypt"
USERNAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")

# Session keys (Flask-Login keeps its own ``_user_id``, ``_fresh`` and ``_id``).
_VERSION = "dashboard_session_version"
_LOGIN_AT = "dashboard_login_at"
_SEEN_AT = "dashboard_seen_at"
_KEPT_ACROSS_LOGIN = (_LOCALE_KEY,)

#: The login page's endpoint (``url_for(LOGIN_ENDPOINT)``); the blueprint is in the dashboard's namespace.
LOGIN_ENDPOINT = own_endpoint("auth.login")
_LOGOUT_ENDPOINT = own_endpoint("auth.logout")
# Endpoints served to anonymous requests (with single sign-on's, dashboard.security.oidc); any ``*.static`` too.
_PUBLIC_ENDPOINTS = frozenset({LOGIN_ENDPOINT, _LOGOUT_ENDPOINT, "healthz", "favicon", LANGUAGE_ENDPOINT}).union(
    {own_endpoint("oidc.start"), own_endpoint("oidc.callback")}
)
#: ``app.extensions`` key of the single sign-on settings, when it is configured.
SSO_EXTENSION_KEY = "dashboard_oidc"


@dataclass(frozen=True)
class AuthSettings:
    """What :func:`init_app` resolved from the settings, in ``app.extensions["dashboard_auth"]``."""

    idle_s: float
    lifetime_s: float
    user_header: str
    table_roles: dict[str, dict[str, frozenset[str]]]
    #: How failed logins are slowed down (:mod:`dashboard.security.throttle`).
    throttle: Policy = Policy()
    #: Seconds since the epoch, for the throttle; a test replaces it instead of sleeping.
    clock: t.Callable[[], float] = time.time
    #: ``PASSWORD_HASH_METHOD``: what an unknown name's password is checked against.
    hash_method: str = DEFAULT_HASH_METHOD


class User(UserMixin):
    """The logged-in operator of a request, from the record :mod:`~dashboard.security.identity` remembers."""

    def __init__(self, record: statedb.UserRecord, *, via_header: bool = False) -> None:
        self.id = record.id
        self.username = record.username
        self.role = record.role
        self.session_version = record.session_version
        #: Logged in by a request header (the trusted proxy's, or an API token): there is no
        #: session to log out of, and none is written.
        self.via_header = via_header

    def get_id(self) -> str:
        return str(self.id)


class LoginForm(FlaskForm):
    """User name and password; Flask-WTF adds ``csrf_token``."""

    username = StringField(lazy_gettext("User name"), validators=[DataRequired(), Length(max=150)])
    password = PasswordField(lazy_gettext("Password"), validators=[DataRequired(), Length(max=1024)])


# -- passwords ----------------------------------------------------------------------------


def hash_password(password: str, method: str = DEFAULT_HASH_METHOD) -> str:
    """A salted hash of ``password``, by default scrypt (Werkzeug's default method).

    :param method: a Werkzeug method (``PASSWORD_HASH_METHOD``); a check reads the method
        from the hash, so hashes made with another method keep working.
    """
    return generate_password_hash(password, method=method)


def password_problem(password: str) -> str | None:
    """Why ``password`` is too weak to accept, or ``None``."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return Message(N_("the password is too short: use at least %(length)s characters"), length=MIN_PASSWORD_LENGTH)
    return None


@functools.cache
def _dummy_hash(method: str = DEFAULT_HASH_METHOD) -> str:
    """A hash to check against when the user name is unknown: one check of ``method`` either way.

    A constant of the process per method (it hashes no secret), computed once.
    """
    return hash_password(secrets.token_hex(16), method)


def username_problem(username: str) -> str | None:
    """Why ``username`` cannot be a user name, or ``None``."""
    if not USERNAME_PATTERN.fullmatch(username):
        return Message(N_("a user name is 1 to 64 letters, digits and . _ @ -, starting with a letter or digit"))
    return None


# -- redirects ----------------------------------------------------------------------------


def _login_url_for_current_request() -> str:
    nxt = safe_next(request.script_root + request.full_path.rstrip("?"))
    return url_for(LOGIN_ENDPOINT, next=nxt) if nxt else url_for(LOGIN_ENDPOINT)


# -- permissions --------------------------------------------------------------------------


def parse_table_roles(tables: t.Mapping[str, t.Any]) -> dict[str, dict[str, frozenset[str]]]:
    """The ``roles`` of each ``TABLES`` entry, checked.

    :raises ConfigError: for an unknown role or action, or a value of the wrong shape.
    """
    parsed: dict[str, dict[str, frozenset[str]]] = {}
    for table, options in tables.items():
        raw = (options or {}).get("roles") if isinstance(options, t.Mapping) else None
        if raw is None:
            continue
        if not isinstance(raw, t.Mapping):
            raise ConfigError(
                Message(N_('TABLES.%(table)s.roles must be a table like { viewer = ["view"] }'), table=table)
            )
        per_role: dict[str, frozenset[str]] = {}
        for role, actions in raw.items():
            if role not in ROLE_ACTIONS:
                raise ConfigError(
                    Message(
                        N_("TABLES.%(table)s.roles: unknown role %(role)s; roles are %(roles)s"),
                        table=table,
                        role=repr(role),
                        roles=", ".join(ROLES),
                    )
                )
            if not isinstance(actions, list) or not all(isinstance(a, str) for a in actions):
                raise ConfigError(
                    Message(N_("TABLES.%(table)s.roles.%(role)s must be a list of actions"), table=table, role=role)
                )
            unknown = sorted(set(actions) - set(TABLE_ACTIONS))
            if unknown:
                raise ConfigError(
                    Message(
                        N_("TABLES.%(table)s.roles.%(role)s: unknown action(s) %(unknown)s; actions are %(actions)s"),
                        table=table,
                        role=role,
                        unknown=", ".join(unknown),
                        actions=", ".join(TABLE_ACTIONS),
                    )
                )
            per_role[role] = frozenset(actions)
        parsed[str(table)] = per_role
    return parsed


def make_authorizer(app: Flask) -> t.Callable[[t.Any, str], bool]:
    """``authorize(table_info, action)`` for the current operator; denies by default.

    ``table_info`` may be ``None`` for pages that are not a table: then only the role's
    own actions count (``admin`` has them all).
    """
    table_roles = _settings(app).table_roles

    def authorize(table_info: t.Any, action: str) -> bool:
        user = current_user
        if not getattr(user, "is_authenticated", False):
            return False
        role = getattr(user, "role", None)
        if role not in ROLE_ACTIONS:
            return False
        if table_info is not None:
            override = table_roles.get(table_info.endpoint)
            if override is None:
                override = table_roles.get(table_info.id)
            if override is not None and role in override:
                return action in override[role]
        return role == "admin" or action in ROLE_ACTIONS[role]

    return authorize


# -- logging in and out -------------------------------------------------------------------


def _settings(app: Flask | None = None) -> AuthSettings:
    return t.cast(AuthSettings, (app or current_app).extensions[EXTENSION_KEY])


def _client_address() -> str:
    return (request.remote_addr or "unknown")[:64]


def _wait_text(seconds: float) -> str:
    """``seconds`` as an operator reads a wait ("30 seconds", "2 minutes"), in their language."""
    from babel.dates import format_timedelta

    return format_timedelta(timedelta(seconds=math.ceil(seconds)), threshold=1.5, locale=current_locale())


def authenticate(store: statedb.StateStore, username: str, password: str) -> statedb.UserRecord | None:
    """The user if ``password`` is theirs, else ``None``, in the same time either way."""
    record = store.user_by_name(username.strip()) if username_problem(username.strip()) is None else None
    # Always one password check: an unknown name must not answer faster than a wrong password.
    hashed = record.password_hash if record else _dummy_hash(_settings().hash_method)
    matches = check_password_hash(hashed, password)
    if record is None or not matches or record.role not in ROLE_ACTIONS or record.disabled:
        return None
    return record


def _clear_session() -> None:
    """Empty the session except the operator's preferences (their language)."""
    kept = {key: session[key] for key in _KEPT_ACROSS_LOGIN if key in session}
    session.clear()
    session.update(kept)


def start_session(record: statedb.UserRecord, how: str) -> None:
    """Log ``record`` in: a fresh session, their last login noted, an audit entry saying ``how``."""
    statedb_users.record_login(statedb.get_store(current_app), record.id)
    if current_app.config["AUDIT_LOGINS"]:
        audit.record_write("login", None, username=record.username, role=record.role, message=how)
    # A fresh session: nothing an attacker planted in the cookie before login survives.
    _clear_session()
    session.permanent = True
    login_user(User(record))
    now = time.time()
    session[_VERSION] = record.session_version
    session[_LOGIN_AT] = now
    session[_SEEN_AT] = now


def login_view() -> t.Any:
    """``GET/POST /login``."""
    store = statedb.get_store(current_app)
    next_url = safe_next(request.values.get("next"))
    if request.method == "GET" and current_user.is_authenticated:
        return redirect(next_url or url_for("admin.index"))
    form = LoginForm()
    error = None
    status = 200
    retry_after = ""
    password_login = bool(current_app.config["PASSWORD_LOGIN"])
    if request.method == "POST" and not password_login:
        error = gettext("Logging in with a password is turned off: use single sign-on.")
        status = 403
    elif form.validate_on_submit():
        username = str(form.username.data or "")
        address = _client_address()
        settings = _settings()
        # Counted before the password is checked: requests racing on several workers take
        # their turns in the state database, so no more of them are checked than allowed.
        wait = store.claim_login_attempt(
            throttle_key(username), address, now=settings.clock(), policy=settings.throttle
        )
        if wait > 0:
            error = gettext(
                "Too many failed logins for this user name from your address. Try again in %(wait)s.",
                wait=_wait_text(wait),
            )
            status = 429
            retry_after = str(math.ceil(wait))
        else:
            record = authenticate(store, username, str(form.password.data or ""))
            if record is None:
                error = gettext("Wrong user name or password.")
            else:
                store.forget_login_failures(throttle_key(username), address)
                start_session(record, N_("password"))
                return redirect(next_url or url_for("admin.index"))
    elif request.method == "POST":
        error = gettext("Enter your user name and password.")
        status = 400
    form.password.data = ""
    sso = current_app.extensions.get(SSO_EXTENSION_KEY)
    body = render_template(
        "dashboard/login.html",
        form=form,
        next_url=next_url,
        error=error,
        no_users=password_login and store.count_users() == 0,
        password_login=password_login,
        sso_name=getattr(sso, "name", None),
    )
    return body, status, ({"Retry-After": retry_after} if status == 429 else {})


def logout_view() -> t.Any:
    """``POST /logout``: ends every session of this operator, on every device."""
    if current_user.is_authenticated and not getattr(current_user, "via_header", False):
        statedb.get_store(current_app).bump_session_version(int(current_user.id))
    logout_user()
    _clear_session()
    flash(gettext("You are logged out."), "info")
    return redirect(url_for(LOGIN_ENDPOINT))


# -- loading the operator of each request -------------------------------------------------


def _load_from_session(user_id: str) -> User | None:
    settings = _settings()
    if settings.user_header and request.headers.get(settings.user_header):
        return None  # the proxy's word wins over a cookie
    if tokens.bearer(request) is not None:
        return None  # so does an API token, good or bad: never a fall-back to the cookie
    try:
        uid = int(user_id)
    except (TypeError, ValueError):
        return None
    remembered = identity.remembered_operators(current_app)
    record = remembered.by_id(uid)
    if record is None or session.get(_VERSION) != record.session_version:
        # Read again before refusing: the session may be newer than what is remembered
        # (a login on another worker after a logout there).
        record = remembered.by_id(uid, fresh=True)
    if record is None or session.get(_VERSION) != record.session_version or record.disabled:
        return None
    now = time.time()
    login_at, seen_at = session.get(_LOGIN_AT), session.get(_SEEN_AT)
    if not isinstance(login_at, (int, float)) or not isinstance(seen_at, (int, float)):
        return None
    if now - login_at > settings.lifetime_s or now - seen_at > settings.idle_s:
        g.dashboard_session_expired = True
        return None
    return User(record)


def _load_from_header(req: t.Any) -> User | None:
    header = _settings().user_header
    name = (req.headers.get(header, "") if header else "").strip()
    if not name:
        return None
    record = identity.remembered_operators(current_app).by_name(name)
    return User(record, via_header=True) if record is not None and not record.disabled else None


def _load_from_request(req: t.Any) -> User | None:
    # An API token, when one is sent, decides alone (dashboard.security.tokens); else the proxy's header.
    if tokens.bearer(req) is not None:
        return t.cast("User | None", tokens.load_user(req, lambda record: User(record, via_header=True)))
    return _load_from_header(req)


def _require_login() -> t.Any:
    endpoint = request.endpoint or ""
    if endpoint in _PUBLIC_ENDPOINTS or endpoint == "static" or endpoint.endswith(".static"):
        return None
    if current_user.is_authenticated:
        if not current_user.via_header:
            session[_SEEN_AT] = time.time()
        return None
    if "_user_id" in session:
        # A cookie that was good once: expired, revoked at logout, or its user removed.
        expired = g.get("dashboard_session_expired", False)
        _clear_session()
        flash(gettext("Your session has expired. Log in again.") if expired else gettext("Log in again."), "info")
    # The API explorer's page (/api/) is for a browser: it goes to the login page like any page.
    if is_api_path(request.path) and request.path != f"{API_PATH}/":
        # A script gets a status it can act on, not the login page.
        return problem(
            401,
            gettext("Not logged in"),
            gettext("Send an API token (Authorization: Bearer ...) or log in."),
            headers={"WWW-Authenticate": 'Bearer realm="dashboard"'},
        )
    if request.method in ("GET", "HEAD"):
        return redirect(_login_url_for_current_request())
    abort(401)


def init_app(app: Flask) -> None:
    """Login pages, session rules and the login requirement for every request.

    Opens the state database (:func:`dashboard.statedb.init_app`) when that is not done yet.
    Call before :func:`dashboard.security.headers.init_app`, so an anonymous POST is refused as
    such before its CSRF token is looked at.

    :raises ConfigError: when ``TABLES`` roles, the session settings or
        ``IDENTITY_RECHECK_SECONDS`` are invalid.
    """
    store = statedb.init_app(app) if statedb.EXTENSION_KEY not in app.extensions else statedb.get_store(app)
    identity.init_app(app, store)
    idle_min = app.config["SESSION_IDLE_MINUTES"]
    lifetime_h = app.config["SESSION_LIFETIME_HOURS"]
    if not isinstance(idle_min, (int, float)) or idle_min <= 0:
        raise ConfigError(Message(N_("%(setting)s must be a positive number"), setting="SESSION_IDLE_MINUTES"))
    if not isinstance(lifetime_h, (int, float)) or lifetime_h <= 0:
        raise ConfigError(Message(N_("%(setting)s must be a positive number"), setting="SESSION_LIFETIME_HOURS"))
    hash_method = app.config["PASSWORD_HASH_METHOD"]
    try:
        # Computed now, so the first unknown name is not slower than the others.
        _dummy_hash(hash_method)
    except (TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(
            Message(N_("%(setting)s must name a password hash method such as scrypt"), setting="PASSWORD_HASH_METHOD")
        ) from exc
    app.extensions[EXTENSION_KEY] = AuthSettings(
        idle_s=float(idle_min) * 60,
        lifetime_s=float(lifetime_h) * 3600,
        user_header=str(app.config["TRUSTED_USER_HEADER"] or "").strip(),
        table_roles=parse_table_roles(app.config["TABLES"]),
        hash_method=hash_method,
    )
    # The client address the throttle counts by: the peer's, or behind TRUSTED_PROXIES the forwarded one.
    proxies.init_app(app)
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=float(lifetime_h))
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = bool(app.config["HTTPS"])

    manager = LoginManager()
    manager.init_app(app)
    manager.login_view = LOGIN_ENDPOINT
    manager.user_loader(_load_from_session)
    manager.request_loader(_load_from_request)

    blueprint = Blueprint(own_endpoint("auth"), __name__)
    blueprint.add_url_rule("/login", "login", login_view, methods=["GET", "POST"])
    blueprint.add_url_rule("/logout", "logout", logout_view, methods=["POST"])
    app.register_blueprint(blueprint)
    # A request with an API token is answered by its token first: a bad one is a 401 of its own.
    tokens.init_app(app)
    app.before_request(_require_login)
