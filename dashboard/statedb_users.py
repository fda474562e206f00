"""Operators' accounts beyond their password: disabling, roles, last logins, single sign-on.

Kept beside :mod:`dashboard.statedb` (which owns the ``users`` table) like
:mod:`dashboard.statedb_tokens`. Two tables of its own:

``sso_identities``
    Which operator an OpenID Connect identity is: the provider's ``iss`` and ``sub``,
    which never change for a person, unlike a name or an e-mail address. A person signing
    in for the first time gets a new operator (:mod:`dashboard.security.oidc`); an operator
    made by ``dashboard users`` is never taken over by an identity that claims their name.
``sso_states``
    One row per login that was sent to the provider, keyed by its ``state``: the nonce and
    PKCE verifier it needs when it comes back. The callback deletes the row as it reads it
    (:func:`take_sso_state`), in one statement, so a state is used once, on any worker.
"""

from __future__ import annotations

import datetime as dt
import typing as t
from dataclasses import dataclass

import sqlalchemy as sa

from dashboard import statedb

users = statedb.users

sso_identities = sa.Table(
    "sso_identities",
    statedb.metadata,
    sa.Column("issuer", sa.String(255), primary_key=True),
    sa.Column("subject", sa.String(255), primary_key=True),
    #: The operator, by id and name: removing a user deletes their rows (StateStore.remove_user).
    sa.Column("user_id", sa.Integer, nullable=False, index=True),
    sa.Column("username", sa.String(150), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

sso_states = sa.Table(
    "sso_states",
    statedb.metadata,
    sa.Column("state", sa.String(128), primary_key=True),
    sa.Column("nonce", sa.String(128), nullable=False),
    sa.Column("code_verifier", sa.String(128), nullable=False),
    #: Where to go after the login (already checked to be a path of this site), or "".
    sa.Column("next_url", sa.Text, nullable=False),
    #: Seconds since the epoch by the app's clock; older rows are no longer accepted.
    sa.Column("created_at", sa.Float, nullable=False, index=True),
)


@dataclass(frozen=True)
class SsoState:
    """What a login sent to the provider needs back at its callback."""

    nonce: str
    code_verifier: str
    next_url: str
    created_at: float


# -- accounts ---------------------------------------------------------------------------------


def record_login(store: statedb.StateStore, user_id: int) -> None:
    """Note that ``user_id`` logged in now."""
    with store.engine.begin() as connection:
        connection.execute(users.update().where(users.c.id == user_id).values(last_login_at=dt.datetime.now(dt.UTC)))
    store._users_changed()


def set_disabled(store: statedb.StateStore, username: str, disabled: bool) -> bool:
    """Disable or enable ``username``; disabling also ends their sessions. Whether the user exists."""
    values: dict[str, t.Any] = {"disabled": disabled}
    if disabled:
        values["session_version"] = users.c.session_version + 1
    with store.engine.begin() as connection:
        found = connection.execute(users.update().where(users.c.username == username).values(**values)).rowcount
    store._users_changed()
    return bool(found)


def set_role(store: statedb.StateStore, username: str, role: str) -> bool:
    """Give ``username`` the role ``role``; whether the user exists."""
    with store.engine.begin() as connection:
        found = connection.execute(users.update().where(users.c.username == username).values(role=role)).rowcount
    store._users_changed()
    return bool(found)


def active_admins(store: statedb.StateStore) -> list[str]:
    """The names of the enabled administrators."""
    statement = sa.select(users.c.username).where(users.c.role == "admin", sa.not_(users.c.disabled))
    with store.engine.connect() as connection:
        return [str(name) for name in connection.execute(statement).scalars()]


# -- single sign-on ---------------------------------------------------------------------------


def user_by_identity(store: statedb.StateStore, issuer: str, subject: str) -> statedb.UserRecord | None:
    """The operator linked to ``issuer``'s ``subject``, or ``None``."""
    statement = (
        sa.select(users)
        .join(
            sso_identities,
            (sso_identities.c.user_id == users.c.id) & (sso_identities.c.username == users.c.username),
        )
        .where(sso_identities.c.issuer == issuer[:255], sso_identities.c.subject == subject[:255])
    )
    with store.engine.connect() as connection:
        row = connection.execute(statement).first()
    return statedb.UserRecord(**row._mapping) if row is not None else None


def add_sso_user(
    store: statedb.StateStore, username: str, password_hash: str, role: str, *, issuer: str, subject: str
) -> statedb.UserRecord:
    """Create operator ``username`` and link ``issuer``'s ``subject`` to them.

    :raises sqlalchemy.exc.IntegrityError: when the name is taken (or the identity linked meanwhile).
    """
    record = store.add_user(username, password_hash, role)
    try:
        with store.engine.begin() as connection:
            connection.execute(
                sso_identities.insert().values(
                    issuer=issuer[:255],
                    subject=subject[:255],
                    user_id=record.id,
                    username=record.username,
                    created_at=dt.datetime.now(dt.UTC),
                )
            )
    except sa.exc.IntegrityError:
        store.remove_user(username)
        raise
    return record


def save_sso_state(store: statedb.StateStore, state: str, found: SsoState, *, keep_s: float) -> None:
    """Keep what the login ``state`` needs at its callback; rows older than ``keep_s`` go."""
    with store.engine.begin() as connection:
        connection.execute(sso_states.delete().where(sso_states.c.created_at < found.created_at - keep_s))
        connection.execute(
            sso_states.insert().values(
                state=state,
                nonce=found.nonce,
                code_verifier=found.code_verifier,
                next_url=found.next_url,
                created_at=found.created_at,
            )
        )


def take_sso_state(store: statedb.StateStore, state: str) -> SsoState | None:
    """The login of ``state``, deleted as it is read: ``None`` when unknown or used before.

    Two callbacks racing with the same state cannot both get it: only the ``DELETE`` that
    removed the row hands it out.
    """
    state = state[:128]
    with store.engine.begin() as connection:
        row = connection.execute(sa.select(sso_states).where(sso_states.c.state == state)).first()
        if row is None:
            return None
        if not connection.execute(sso_states.delete().where(sso_states.c.state == state)).rowcount:
            return None
    return SsoState(row.nonce, row.code_verifier, row.next_url, float(row.created_at))


def linked_usernames(store: statedb.StateStore) -> frozenset[str]:
    """The names of the operators who sign in through single sign-on."""
    with store.engine.connect() as connection:
        return frozenset(str(name) for name in connection.execute(sa.select(sso_identities.c.username)).scalars())
