"""Single sign-on with OpenID Connect: "Sign in with <name>" on the login page.

Configured by ``OIDC_ISSUER``, ``OIDC_CLIENT_ID`` and ``OIDC_CLIENT_SECRET`` (off while the
issuer is empty). The provider is found at ``<issuer>/.well-known/openid-configuration``
when the first person signs in (never at start: a provider that is down must not keep the
site from serving password logins), and its answer is kept for an hour.

The authorization-code flow, with Authlib's OAuth 2 client:

1. ``GET /login/oidc`` (the login page's button) makes a ``state``, a
   ``nonce`` and a PKCE verifier, keeps them in the state database
   (:mod:`dashboard.statedb_users`) and the state in the session too, and sends the browser
   to the provider.
2. ``GET /login/oidc/callback`` takes the state back: it must be this browser's (the
   session's) and unused; the row is deleted as it is read, so a replayed callback is
   refused on any worker. The code is exchanged for tokens with the verifier; the ID token
   is verified: its signature against the provider's keys (JWKS, fetched again once when a
   key id is unknown), ``iss``, ``aud`` (this client), ``exp``, ``iat`` and the ``nonce``.
3. The person is the operator linked to the token's ``iss`` and ``sub``; one signing in for
   the first time gets a new operator named by ``OIDC_USERNAME_CLAIM``. Their role comes
   from ``OIDC_ROLES_CLAIM`` through ``OIDC_ROLE_MAP`` (else ``OIDC_DEFAULT_ROLE``) at every
   sign-in; with no role, or a disabled operator, the sign-in is refused with a message.

Every failure is a message on the login page (the details go to the log), never an error
page; ``next`` is kept only when it is a path of this site (:func:`dashboard.urls.safe_next`).
"""

from __future__ import annotations

import logging
import secrets
import time
import typing as t
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from flask import Blueprint, Flask, current_app, flash, redirect, request, session, url_for
from sqlalchemy.exc import IntegrityError

from dashboard import clock, statedb, statedb_users
from dashboard.i18n.translation import gettext
from dashboard.messages import N_, Message
from dashboard.security import audit, auth
from dashboard.settings import ConfigError
from dashboard.urls import own_endpoint, safe_next

log = logging.getLogger(__name__)

#: How long a login may stay at the provider before its state is no longer accepted.
STATE_TTL_S = 600.0
#: Clock difference allowed with the provider when checking ``exp`` and ``iat``.
LEEWAY_S = 60
#: How long the provider's configuration and keys are kept before they are read again.
METADATA_TTL_S = 3600.0
HTTP_TIMEOUT_S = 10.0
_SESSION_STATE = "dashboard_oidc_state"
#: The strongest role wins when a person's groups map to several.
_RANK = {"viewer": 0, "editor": 1, "admin": 2}


class SignInError(Exception):
    """A sign-in refused: ``str(exc)`` is the message shown, in the operator's language."""


@dataclass
class Provider:
    """The OpenID Connect settings of an app, and what was read from the provider."""

    issuer: str
    client_id: str
    client_secret: str
    name: str
    scopes: str
    username_claim: str
    roles_claim: str
    role_map: dict[str, str]
    default_role: str
    _metadata: dict[str, t.Any] | None = field(default=None, repr=False)
    _jwks: dict[str, t.Any] | None = field(default=None, repr=False)
    _read_at: float = field(default=0.0, repr=False)

    def _get_json(self, url: str) -> dict[str, t.Any]:
        import requests

        response = requests.get(url, timeout=HTTP_TIMEOUT_S, headers={"Accept": "application/json"})
        response.raise_for_status()
        found = response.json()
        if not isinstance(found, dict):
            raise ValueError(f"{url} answered {type(found).__name__}, not a JSON object")
        return t.cast(dict[str, t.Any], found)

    def metadata(self) -> dict[str, t.Any]:
        """The provider's configuration (discovery), read at most every :data:`METADATA_TTL_S`."""
        if self._metadata is None or not 0 <= time.monotonic() - self._read_at < METADATA_TTL_S:
            found = self._get_json(self.issuer.rstrip("/") + "/.well-known/openid-configuration")
            if found.get("issuer") != self.issuer:
                # OpenID Connect Discovery 1.0, section 4.3: a provider answering for another
                # issuer is not the one configured.
                raise ValueError(f"the provider says its issuer is {found.get('issuer')!r}, not {self.issuer!r}")
            for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(found.get(key), str):
                    raise ValueError(f"the provider's configuration has no {key}")
            self._metadata, self._jwks, self._read_at = found, None, time.monotonic()
        return self._metadata

    def keys(self, *, fresh: bool = False) -> dict[str, t.Any]:
        """The provider's public keys (JWKS); ``fresh`` reads them again (a key id not seen yet)."""
        if self._jwks is None or fresh:
            self._jwks = self._get_json(self.metadata()["jwks_uri"])
        return self._jwks

    def role_for(self, claims: t.Mapping[str, t.Any]) -> str | None:
        """The role the ID token's groups give, else the default role, else ``None``."""
        groups = claims.get(self.roles_claim)
        if isinstance(groups, str):
            groups = [groups]
        roles = [self.role_map[g] for g in groups or [] if isinstance(g, str) and g in self.role_map]
        if roles:
            return max(roles, key=lambda role: _RANK.get(role, -1))
        return self.default_role or None


def parse_provider(config: t.Mapping[str, t.Any]) -> Provider | None:
    """The ``OIDC_*`` settings, checked; ``None`` when ``OIDC_ISSUER`` is empty.

    :raises ConfigError: for an issuer that is not an http(s) URL, a missing client id, or
        a role map or default role naming no role.
    """
    issuer = str(config.get("OIDC_ISSUER") or "").strip()
    if not issuer:
        return None
    parts = urlsplit(issuer)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ConfigError(
            Message(N_("%(setting)s must be a URL such as https://login.example.com"), setting="OIDC_ISSUER")
        )
    if not str(config.get("OIDC_CLIENT_ID") or "").strip():
        raise ConfigError(Message(N_("%(setting)s is needed with OIDC_ISSUER"), setting="OIDC_CLIENT_ID"))
    role_map = config.get("OIDC_ROLE_MAP") or {}
    if not isinstance(role_map, t.Mapping) or not all(
        isinstance(group, str) and role in auth.ROLES for group, role in role_map.items()
    ):
        raise ConfigError(
            Message(
                N_('%(setting)s must map groups to roles (%(roles)s), e.g. {"dba" = "admin"}'),
                setting="OIDC_ROLE_MAP",
                roles=", ".join(auth.ROLES),
            )
        )
    default_role = str(config.get("OIDC_DEFAULT_ROLE") or "")
    if default_role and default_role not in auth.ROLES:
        raise ConfigError(
            Message(
                N_("%(setting)s must be empty or one of %(roles)s"),
                setting="OIDC_DEFAULT_ROLE",
                roles=", ".join(auth.ROLES),
            )
        )
    scopes = str(config.get("OIDC_SCOPES") or "")
    if "openid" not in scopes.split():
        scopes = f"openid {scopes}".strip()
    return Provider(
        issuer=issuer,
        client_id=str(config["OIDC_CLIENT_ID"]).strip(),
        client_secret=str(config.get("OIDC_CLIENT_SECRET") or ""),
        name=str(config.get("OIDC_NAME") or "single sign-on"),
        scopes=scopes,
        username_claim=str(config.get("OIDC_USERNAME_CLAIM") or "preferred_username"),
        roles_claim=str(config.get("OIDC_ROLES_CLAIM") or "groups"),
        role_map=dict(role_map),
        default_role=default_role,
    )


def _provider() -> Provider:
    return t.cast(Provider, current_app.extensions[auth.SSO_EXTENSION_KEY])


def _client(provider: Provider) -> t.Any:
    from authlib.integrations.requests_client import OAuth2Session

    return OAuth2Session(
        provider.client_id,
        provider.client_secret,
        scope=provider.scopes,
        # Behind a proxy that ends TLS the request itself looks like http: HTTPS says otherwise.
        redirect_uri=url_for(
            own_endpoint("oidc.callback"), _external=True, _scheme="https" if current_app.config["HTTPS"] else None
        ),
        code_challenge_method="S256",
        timeout=HTTP_TIMEOUT_S,
    )


def _to_login(message: str, next_url: str | None = None) -> t.Any:
    flash(message, "error")
    return redirect(url_for(auth.LOGIN_ENDPOINT, next=next_url) if next_url else url_for(auth.LOGIN_ENDPOINT))


def start_view() -> t.Any:
    """``GET /login/oidc``: off to the provider, with a fresh state, nonce and PKCE verifier.

    A link rather than a form (the CSP's ``form-action 'self'`` would stop a form's redirect
    to the provider): starting a sign-in changes nothing but a state row, and what could be
    forged, a login into someone else's account, is stopped at the callback, whose state
    must be the one this browser's session holds.
    """
    from authlib.common.security import generate_token

    provider = _provider()
    next_url = safe_next(request.values.get("next")) or ""
    try:
        endpoint = provider.metadata()["authorization_endpoint"]
    except Exception as exc:  # any failure to reach or read the provider: a message, not a 500
        log.warning("OpenID Connect provider %s not usable: %s", provider.issuer, exc)
        return _to_login(gettext("%(name)s cannot be reached right now. Try again later.", name=provider.name))
    state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), generate_token(64)
    saved = statedb_users.SsoState(nonce=nonce, code_verifier=verifier, next_url=next_url, created_at=clock.now())
    statedb_users.save_sso_state(statedb.get_store(current_app), state, saved, keep_s=STATE_TTL_S)
    session[_SESSION_STATE] = state
    url, _state = _client(provider).create_authorization_url(endpoint, state=state, nonce=nonce, code_verifier=verifier)
    return redirect(url)


def callback_view() -> t.Any:
    """``GET /login/oidc/callback``: the provider's answer, checked, and the operator logged in."""
    provider = _provider()
    state = request.args.get("state", "")
    expected = session.pop(_SESSION_STATE, None)
    saved = None
    if state and isinstance(expected, str) and secrets.compare_digest(state, expected):
        saved = statedb_users.take_sso_state(statedb.get_store(current_app), state)
    if saved is None or not 0 <= clock.now() - saved.created_at < STATE_TTL_S:
        return _to_login(gettext("This sign-in was used already or took too long. Sign in again."))
    next_url = saved.next_url or None
    if request.args.get("error"):
        log.info("OpenID Connect provider refused a sign-in: %s", request.args.get("error_description", ""))
        return _to_login(gettext("%(name)s did not sign you in. Try again.", name=provider.name), next_url)
    try:
        claims = _verified_claims(provider, request.args.get("code", ""), saved)
        record = _operator_for(provider, claims)
    except SignInError as refusal:
        if current_app.config["AUDIT_LOGINS"]:
            audit.record_write("login", None, outcome="failed", message=str(refusal), username="(sso)", role="")
        return _to_login(str(refusal), next_url)
    auth.start_session(record, N_("single sign-on"))
    return redirect(safe_next(next_url) or url_for("admin.index"))


def _verified_claims(provider: Provider, code: str, saved: statedb_users.SsoState) -> dict[str, t.Any]:
    """The ID token's claims after the code is exchanged and the token verified.

    :raises SignInError: when the exchange fails or the token is not valid.
    """
    from authlib.common.errors import AuthlibBaseError
    from authlib.oidc.core import CodeIDToken
    from joserfc import jwt
    from joserfc.errors import InvalidKeyIdError, JoseError
    from joserfc.jwk import KeySet

    if not code:
        raise SignInError(gettext("%(name)s sent no sign-in code. Try again.", name=provider.name))
    try:
        metadata = provider.metadata()
        token = _client(provider).fetch_token(
            metadata["token_endpoint"], code=code, code_verifier=saved.code_verifier, grant_type="authorization_code"
        )
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise ValueError("the token answer holds no id_token")
        # Never an unsigned token, whatever the provider's configuration lists.
        offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [alg for alg in offered if isinstance(alg, str) and alg.lower() != "none"]
        try:
            decoded = jwt.decode(id_token, KeySet.import_key_set(t.cast(t.Any, provider.keys())), algorithms=algorithms)
        except InvalidKeyIdError:  # the provider rotated its keys since they were read
            decoded = jwt.decode(
                id_token, KeySet.import_key_set(t.cast(t.Any, provider.keys(fresh=True))), algorithms=algorithms
            )
        claims = CodeIDToken(
            decoded.claims,
            decoded.header,
            {
                "iss": {"essential": True, "value": provider.issuer},
                "aud": {"essential": True, "value": provider.client_id},
            },
            {"nonce": saved.nonce, "client_id": provider.client_id, "access_token": token.get("access_token")},
        )
        claims.validate(now=int(clock.now()), leeway=LEEWAY_S)
    except (JoseError, AuthlibBaseError, ValueError, KeyError, TypeError) as exc:
        log.warning("OpenID Connect sign-in refused: %s: %s", type(exc).__name__, exc)
        raise SignInError(
            gettext("The sign-in answer of %(name)s was not valid. Try again.", name=provider.name)
        ) from exc
    except Exception as exc:  # the provider down or answering nonsense: a message, not a 500
        log.warning("OpenID Connect code exchange failed: %s: %s", type(exc).__name__, exc)
        raise SignInError(
            gettext("%(name)s cannot be reached right now. Try again later.", name=provider.name)
        ) from exc
    return dict(claims)


def _operator_for(provider: Provider, claims: t.Mapping[str, t.Any]) -> statedb.UserRecord:
    """The operator ``claims`` sign in as, created on their first sign-in, with the role of their groups.

    :raises SignInError: no role for them, a disabled operator, or a name taken by another operator.
    """
    store = statedb.get_store(current_app)
    role = provider.role_for(claims)
    if role is None:
        raise SignInError(
            gettext("Your account at %(name)s has no role in this dashboard. Ask an administrator.", name=provider.name)
        )
    issuer, subject = str(claims["iss"]), str(claims["sub"])
    record = statedb_users.user_by_identity(store, issuer, subject)
    if record is None:
        username = next(
            (str(claims[c]) for c in (provider.username_claim, "email", "sub") if isinstance(claims.get(c), str)), ""
        )[:64]
        if auth.username_problem(username) is not None:
            raise SignInError(gettext("Your name at %(name)s cannot be a user name here.", name=provider.name))
        if store.user_by_name(username) is not None:
            raise SignInError(
                gettext(
                    "A user called %(user)s exists already and is not linked to %(name)s. Ask an administrator.",
                    user=username,
                    name=provider.name,
                )
            )
        # A password nobody knows: this operator signs in through the provider only.
        unusable = auth.hash_password(secrets.token_urlsafe(32), current_app.config["PASSWORD_HASH_METHOD"])
        try:
            record = statedb_users.add_sso_user(store, username, unusable, role, issuer=issuer, subject=subject)
        except IntegrityError as exc:  # the same person signing in twice at once
            raise SignInError(gettext("Sign in again.")) from exc
        audit.record_write(
            "user",
            None,
            row_key=username,
            changes={"role": {"old": None, "new": role}},
            username=username,
            role=role,
            message=N_("created at first sign-in"),
        )
    if record.disabled:
        raise SignInError(gettext("Your account is disabled. Ask an administrator."))
    if record.role != role:
        statedb_users.set_role(store, record.username, role)
        audit.record_write(
            "user",
            None,
            row_key=record.username,
            changes={"role": {"old": record.role, "new": role}},
            username=record.username,
            role=role,
            message=N_("role from the provider's groups"),
        )
        record = store.user_by_id(record.id) or record
    return record


def init_app(app: Flask) -> None:
    """Single sign-on's routes, when ``OIDC_ISSUER`` is set; checks ``PASSWORD_LOGIN``.

    Call after :func:`dashboard.security.auth.init_app`.

    :raises ConfigError: for invalid ``OIDC_*`` settings, or ``PASSWORD_LOGIN = false``
        with no other way to log in (single sign-on or ``TRUSTED_USER_HEADER``).
    """
    provider = parse_provider(app.config)
    if not app.config["PASSWORD_LOGIN"] and provider is None and not app.config["TRUSTED_USER_HEADER"]:
        raise ConfigError(
            Message(N_("%(setting)s = false needs OIDC_ISSUER or TRUSTED_USER_HEADER"), setting="PASSWORD_LOGIN")
        )
    if provider is None:
        return
    app.extensions[auth.SSO_EXTENSION_KEY] = provider
    blueprint = Blueprint(own_endpoint("oidc"), __name__)
    blueprint.add_url_rule("/login/oidc", "start", start_view, methods=["GET"])
    blueprint.add_url_rule("/login/oidc/callback", "callback", callback_view, methods=["GET"])
    app.register_blueprint(blueprint)
