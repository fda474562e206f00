"""API tokens in the state database: one row per token, keyed by the token's hash.

The token itself is never stored: only its SHA-256 (:mod:`dashboard.security.tokens` makes
and hashes them), so a copy of the state database gives nobody a usable token. A request's
token is found by its hash together with its user's current record, in one query
(:func:`token_with_user`): a token is refused at once when it is revoked (its row deleted),
when its user is removed, and it carries the user's role as it is now, not as it was when
the token was made. Token names are per user: two operators may each have a ``ci`` token.

Times are seconds since the epoch by the app's clock (:mod:`dashboard.clock`), so a test
moves past an expiry instead of waiting.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

import sqlalchemy as sa

from dashboard import statedb

api_tokens = sa.Table(
    "api_tokens",
    statedb.metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    #: The owner, by id, name and creation time: a later user who gets the same id (SQLite
    #: reuses the highest one), even under the same name, owns none of them. Removing a user
    #: deletes them too (dashboard.statedb.StateStore.remove_user).
    sa.Column("user_id", sa.Integer, nullable=False, index=True),
    sa.Column("username", sa.String(150), nullable=False),
    sa.Column("user_created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    #: Hex SHA-256 of the whole token: what a request's token is looked up by.
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("read_only", sa.Boolean, nullable=False, default=False),
    #: Endpoints of the relations the token may reach; NULL: every one its user may.
    sa.Column("tables", sa.JSON(none_as_null=True), nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=True),
    #: Written at most once a minute per token (:data:`dashboard.security.tokens.LAST_USED_EVERY_S`).
    sa.Column("last_used_at", sa.Float, nullable=True),
    sa.UniqueConstraint("user_id", "name", name="uq_api_tokens_user_name"),
)


@dataclass(frozen=True)
class TokenRecord:
    """One row of ``api_tokens`` (without its hash, which nobody needs to read back)."""

    id: int
    user_id: int
    username: str
    name: str
    read_only: bool
    tables: tuple[str, ...] | None
    created_at: float
    expires_at: float | None
    last_used_at: float | None

    def expired(self, now: float) -> bool:
        """Whether the token's time is up at ``now``."""
        return self.expires_at is not None and now >= self.expires_at


_COLUMNS = [c for c in api_tokens.c if c.name not in ("token_hash", "user_created_at")]


def _record(row: t.Any) -> TokenRecord:
    values = {c.name: row._mapping[c] for c in _COLUMNS}
    tables = values["tables"]
    values["tables"] = tuple(str(name) for name in tables) if isinstance(tables, list) else None
    values["read_only"] = bool(values["read_only"])
    return TokenRecord(**values)


def add_token(
    store: statedb.StateStore,
    user: statedb.UserRecord,
    name: str,
    token_hash: str,
    *,
    read_only: bool,
    tables: t.Sequence[str] | None,
    created_at: float,
    expires_at: float | None,
) -> None:
    """Store a token of ``user``.

    :raises sqlalchemy.exc.IntegrityError: when ``user`` has a token called ``name`` already.
    """
    with store.engine.begin() as connection:
        connection.execute(
            api_tokens.insert().values(
                user_id=user.id,
                username=user.username,
                user_created_at=user.created_at,
                name=name,
                token_hash=token_hash,
                read_only=read_only,
                tables=sorted(set(tables)) if tables is not None else None,
                created_at=created_at,
                expires_at=expires_at,
            )
        )


def token_with_user(store: statedb.StateStore, token_hash: str) -> tuple[TokenRecord, str, statedb.UserRecord] | None:
    """The token with hash ``token_hash``, its stored hash and its user as they are now; ``None``
    when no such token exists or its user was removed."""
    users = statedb.users
    statement = (
        sa.select(*_COLUMNS, api_tokens.c.token_hash, *[c.label(f"owner_{c.name}") for c in users.c])
        .select_from(
            api_tokens.join(
                users,
                (users.c.id == api_tokens.c.user_id)
                & (users.c.username == api_tokens.c.username)
                & (users.c.created_at == api_tokens.c.user_created_at),
            )
        )
        .where(api_tokens.c.token_hash == token_hash)
    )
    with store.engine.connect() as connection:
        row = connection.execute(statement).first()
    if row is None:
        return None
    user = statedb.UserRecord(**{c.name: row._mapping[f"owner_{c.name}"] for c in users.c})
    return _record(row), str(row.token_hash), user


def list_tokens(store: statedb.StateStore, user_id: int | None = None) -> list[TokenRecord]:
    """Every token (of ``user_id`` only, when given), by user name and token name."""
    statement = sa.select(*_COLUMNS).order_by(api_tokens.c.username, api_tokens.c.name)
    if user_id is not None:
        statement = statement.where(api_tokens.c.user_id == user_id)
    with store.engine.connect() as connection:
        return [_record(row) for row in connection.execute(statement)]


def remove_token(store: statedb.StateStore, user_id: int, name: str) -> bool:
    """Revoke the token ``name`` of ``user_id`` (delete its row); whether one was revoked."""
    with store.engine.begin() as connection:
        result = connection.execute(
            api_tokens.delete().where(api_tokens.c.user_id == user_id, api_tokens.c.name == name)
        )
    return bool(result.rowcount)


def mark_used(store: statedb.StateStore, token_id: int, now: float) -> None:
    """Note that token ``token_id`` was used at ``now``."""
    with store.engine.begin() as connection:
        connection.execute(api_tokens.update().where(api_tokens.c.id == token_id).values(last_used_at=now))
