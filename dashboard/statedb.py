"""The dashboard's own state database: its operators, their failed logins, their list columns
and the audit log.

This is never the database being administered. It is found from the setting
``STATE_DATABASE_URL``, else ``sqlite:///<instance folder>/state.db``, and its tables are
created on first use with ``metadata.create_all`` on that engine alone, once the servers
have said that it is not the target database (:mod:`dashboard.db.identity`). Several gunicorn
workers share it, so whatever must hold across workers (sessions revoked at logout, login
throttling) is kept here and not in process memory.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import typing as t
import weakref
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    IntegrityError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.pool import NullPool

from dashboard.db.engine import with_default_driver
from dashboard.db.errors import is_deadlock
from dashboard.db.identity import same_database
from dashboard.messages import N_, Message
from dashboard.settings import ConfigError
from dashboard.statedb_sql import add_missing_columns, insert_unless_present

if t.TYPE_CHECKING:
    from flask import Flask

    from dashboard.security.throttle import Policy

log = logging.getLogger(__name__)

EXTENSION_KEY = "dashboard_state"

metadata = sa.MetaData()

users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # Stored in the session at login and compared on every request: bumping it (logout,
    # password change, disabling, removal) makes every cookie issued before unusable.
    sa.Column("session_version", sa.Integer, nullable=False, default=0),
    # Added since the first version (statedb_sql.add_missing_columns upgrades older files):
    # a disabled user logs in by no means; when the user last logged in, by any means.
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
)

# Login throttling (dashboard.security.throttle): one row per user name and client address with
# failed tries, deleted at the pair's next correct password or once long forgotten. The
# key makes the row unique, so every worker counts on the same row.
login_throttle = sa.Table(
    "login_throttle",
    metadata,
    sa.Column("username", sa.String(150), primary_key=True),
    sa.Column("address", sa.String(64), primary_key=True),
    #: Tries counted since the pair's last correct password (each counted before it is checked).
    sa.Column("failures", sa.Integer, nullable=False),
    #: When the last try was counted, and when the next one may be (seconds since the epoch).
    sa.Column("last_try_at", sa.Double, nullable=False, index=True),
    sa.Column("locked_until", sa.Double, nullable=False),
)

# Every write made through the dashboard, and every one refused, written in a transaction
# of its own so it outlives the rollback of the write it describes (dashboard.security.audit).
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("username", sa.String(150), nullable=False, index=True),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("action", sa.String(32), nullable=False, index=True),
    sa.Column("table_id", sa.String(255), nullable=True, index=True),
    sa.Column("row_key", sa.Text, nullable=True),
    #: ``{column: {"old": text, "new": text}}``; for ``bulk_delete``, that per row key.
    sa.Column("changes", sa.JSON(none_as_null=True), nullable=True),
    sa.Column("outcome", sa.String(16), nullable=False, index=True),
    sa.Column("message", sa.Text, nullable=False, default=""),
    sa.Column("reason", sa.Text, nullable=True),  # why, as a plugin's write said (dashboard.writes)
)

# One row per create form submitted, keyed by the one-time token the form carried
# (dashboard.web.submissions): the same form posted again, by a double click or a browser
# resending after a time-out, finds its token taken and creates nothing. Shared by every
# worker, unlike process memory; rows older than a day are pruned.
form_submissions = sa.Table(
    "form_submissions",
    metadata,
    sa.Column("token", sa.String(64), primary_key=True),
    sa.Column("submitted_at", sa.Float, nullable=False, index=True),
)

# The columns each operator chose to see in a table's list, in their order, by column name
# (dashboard.web.column_choices); no row means the table's defaults.
column_choices = sa.Table(
    "column_choices",
    metadata,
    sa.Column("username", sa.String(150), primary_key=True),
    sa.Column("table_id", sa.String(255), primary_key=True),
    sa.Column("columns", sa.JSON, nullable=False),
    sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
)

#: The ``audit_log`` columns an audit listing may be filtered on, by exact value.
AUDIT_FILTERS: dict[str, sa.Column[t.Any]] = {
    "table": audit_log.c.table_id,
    "user": audit_log.c.username,
    "action": audit_log.c.action,
    "outcome": audit_log.c.outcome,
}


@dataclass(frozen=True)
class UserRecord:
    """One row of ``users``."""

    id: int
    username: str
    password_hash: str
    role: str
    created_at: dt.datetime
    session_version: int
    disabled: bool = False
    last_login_at: dt.datetime | None = None


class StateStore:
    """Reads and writes of the state database; one per app (``app.extensions``) or CLI run."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        #: Goes up after every write to ``users`` made through this store, so what this
        #: process remembers of an operator (:mod:`dashboard.security.identity`) is dropped
        #: at once; writes by other processes are picked up when it is rechecked.
        self.users_generation = 0
        self._generation_lock = threading.Lock()

    def _users_changed(self) -> None:
        # After the commit: a record read between the commit and this line is already fresh.
        with self._generation_lock:
            self.users_generation += 1

    def create_tables(self) -> None:
        """Create the state tables that do not exist yet (on this engine only)."""
        metadata.create_all(self.engine)
        add_missing_columns(self.engine, users, audit_log)

    # -- users ------------------------------------------------------------------------
    def user_by_name(self, username: str) -> UserRecord | None:
        """The user called exactly ``username``, or ``None``."""
        return self._one(sa.select(users).where(users.c.username == username))

    def user_by_id(self, user_id: int) -> UserRecord | None:
        """The user with id ``user_id``, or ``None``."""
        return self._one(sa.select(users).where(users.c.id == user_id))

    def list_users(self) -> list[UserRecord]:
        """Every user, by name."""
        with self.engine.connect() as connection:
            return [
                UserRecord(**row._mapping) for row in connection.execute(sa.select(users).order_by(users.c.username))
            ]

    def count_users(self) -> int:
        """How many users exist."""
        with self.engine.connect() as connection:
            return int(connection.execute(sa.select(sa.func.count()).select_from(users)).scalar_one())

    def add_user(self, username: str, password_hash: str, role: str) -> UserRecord:
        """Insert a user.

        :raises sqlalchemy.exc.IntegrityError: when the name is taken.
        """
        with self.engine.begin() as connection:
            connection.execute(
                users.insert().values(
                    username=username,
                    password_hash=password_hash,
                    role=role,
                    created_at=dt.datetime.now(dt.UTC),
                    session_version=0,
                )
            )
        self._users_changed()
        record = self.user_by_name(username)
        if record is None:
            raise LookupError(f"user {username!r} was removed as soon as it was added")
        return record

    def remove_user(self, username: str) -> bool:
        """Delete a user; whether one was deleted."""
        with self.engine.begin() as connection:
            removed = bool(connection.execute(users.delete().where(users.c.username == username)).rowcount)
            connection.execute(column_choices.delete().where(column_choices.c.username == username))
            # Their saved views (web/saved_views.py): the private ones go, the shared ones stay, unowned.
            if (views := metadata.tables.get("saved_views")) is not None:
                connection.execute(views.delete().where(views.c.owner == username, views.c.shared_role.is_(None)))
                connection.execute(views.update().where(views.c.owner == username).values(owner=""))
            # Their API tokens (dashboard.statedb_tokens) go with them.
            if (tokens := metadata.tables.get("api_tokens")) is not None:
                connection.execute(tokens.delete().where(tokens.c.username == username))
            # Their single sign-on identities (dashboard.statedb_users) too.
            if (links := metadata.tables.get("sso_identities")) is not None:
                connection.execute(links.delete().where(links.c.username == username))
        self._users_changed()
        return removed

    def set_password_hash(self, username: str, password_hash: str) -> bool:
        """Replace a user's password and revoke their sessions; whether the user exists."""
        with self.engine.begin() as connection:
            result = connection.execute(
                users.update()
                .where(users.c.username == username)
                .values(password_hash=password_hash, session_version=users.c.session_version + 1)
            )
        self._users_changed()
        return bool(result.rowcount)

    def bump_session_version(self, user_id: int) -> None:
        """Make every session issued to ``user_id`` so far invalid."""
        with self.engine.begin() as connection:
            connection.execute(
                users.update().where(users.c.id == user_id).values(session_version=users.c.session_version + 1)
            )
        self._users_changed()

    # -- login throttling ----------------------------------------------------------------
    def claim_login_attempt(self, username: str, address: str, *, now: float, policy: Policy) -> float:
        """Count one login try of ``username`` from ``address``, if one is allowed now.

        The try is counted before its password is checked (a correct password then calls
        :meth:`forget_login_failures`), by a single ``UPDATE ... WHERE locked_until <= now``:
        the database row lock makes concurrent tries on any number of workers take their
        turns, so no more tries get through than the policy allows.

        :returns: ``0.0`` when the try may go ahead, else how many seconds are left to wait.
        """
        username, address = username[:150], address[:64]
        row = (login_throttle.c.username == username) & (login_throttle.c.address == address)
        forgotten = login_throttle.c.last_try_at < now - policy.forget_after_s
        counted = sa.case((forgotten, 1), else_=login_throttle.c.failures + 1)
        # The back-off as a CASE on the new count: SQLite has no power function to compute it.
        # Free tries leave no lock at all (0, not "now"): a worker whose clock reads a moment
        # earlier must not find a lock set by a try that was free.
        locked_until = sa.case(
            (counted < policy.free_failures, 0.0),
            *[(counted == failures, now + delay) for failures, delay in policy.steps()],
            else_=now + policy.max_delay_s,
        )
        # In this order: MySQL and MariaDB evaluate SET from left to right, each assignment
        # seeing the ones before it, and both expressions read the old count and time.
        claim = (
            login_throttle.update()
            .where(row, login_throttle.c.locked_until <= now)
            .ordered_values(
                (login_throttle.c.locked_until, locked_until),
                (login_throttle.c.failures, counted),
                (login_throttle.c.last_try_at, now),
            )
        )
        for _ in range(3):
            try:
                with self.engine.begin() as connection:
                    if connection.execute(claim).rowcount:
                        return 0.0
            except OperationalError as exc:  # rolled back to break a deadlock with another first try
                if not is_deadlock(exc):
                    raise
                continue
            with self.engine.connect() as connection:
                found = connection.execute(sa.select(login_throttle.c.locked_until).where(row)).first()
            if found is not None and found.locked_until > now:
                return float(found.locked_until - now)
            if found is None:
                # The pair's first try: a blank row for the claim above to count on, unless
                # another worker made it first. Forgotten pairs are cleared out meanwhile.
                blank = {
                    "username": username,
                    "address": address,
                    "failures": 0,
                    "last_try_at": now,
                    "locked_until": 0.0,
                }
                self._forget_old_pairs(now, policy)
                try:
                    with self.engine.begin() as connection:
                        connection.execute(insert_unless_present(self.engine, login_throttle, blank))
                except (IntegrityError, OperationalError) as exc:
                    # Another worker's first try of the pair came first (or, on MariaDB, the
                    # two inserts deadlocked and this one was rolled back): claim again.
                    log.debug("login throttle row for a first try not inserted: %s", exc)
            # Then claim again (a row unlocked between two statements too).
        return policy.first_delay_s

    def _forget_old_pairs(self, now: float, policy: Policy) -> None:
        """Delete the pairs without a try for ``policy.forget_after_s`` (housekeeping: it may fail)."""
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    login_throttle.delete().where(
                        login_throttle.c.last_try_at < now - policy.forget_after_s, login_throttle.c.locked_until <= now
                    )
                )
        except OperationalError as exc:
            log.debug("old login throttle rows not deleted this time: %s", exc)

    def forget_login_failures(self, username: str, address: str) -> None:
        """Clear the tries of ``username`` from ``address`` (its correct password was given)."""
        with self.engine.begin() as connection:
            connection.execute(
                login_throttle.delete().where(
                    login_throttle.c.username == username[:150], login_throttle.c.address == address[:64]
                )
            )

    # -- form submissions -------------------------------------------------------------------
    def claim_submission(self, token: str, *, keep_s: float, now: float | None = None) -> bool:
        """Take ``token`` for one form submission; ``False`` when it was taken before.

        Two workers claiming the same token at once cannot both succeed: the token is the
        table's primary key.
        """
        now = time.time() if now is None else now
        try:
            with self.engine.begin() as connection:
                connection.execute(form_submissions.delete().where(form_submissions.c.submitted_at < now - keep_s))
                connection.execute(form_submissions.insert().values(token=token[:64], submitted_at=now))
        except IntegrityError:
            return False
        return True

    def release_submission(self, token: str) -> None:
        """Give ``token`` back: its submission created nothing, and may be sent again."""
        with self.engine.begin() as connection:
            connection.execute(form_submissions.delete().where(form_submissions.c.token == token[:64]))

    # -- audit log ----------------------------------------------------------------------------
    def add_audit_entry(self, values: t.Mapping[str, t.Any]) -> None:
        """Insert one ``audit_log`` row, committed at once in a transaction of its own."""
        with self.engine.begin() as connection:
            connection.execute(audit_log.insert().values(**values))

    def audit_entries(
        self, filters: t.Mapping[str, str], *, offset: int = 0, limit: int = 50
    ) -> list[dict[str, t.Any]]:
        """Audit entries matching ``filters`` (keys of :data:`AUDIT_FILTERS`), newest first."""
        statement = (
            sa.select(audit_log)
            .where(*self._audit_conditions(filters))
            .order_by(audit_log.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(statement)]

    def count_audit_entries(self, filters: t.Mapping[str, str]) -> int:
        """How many audit entries match ``filters``."""
        statement = sa.select(sa.func.count()).select_from(audit_log).where(*self._audit_conditions(filters))
        with self.engine.connect() as connection:
            return int(connection.execute(statement).scalar_one())

    def audit_values(self, name: str) -> list[str]:
        """The distinct values of filter ``name`` found in the audit log, sorted."""
        column = AUDIT_FILTERS[name]
        statement = sa.select(column).where(column.is_not(None)).distinct().order_by(column).limit(1000)
        with self.engine.connect() as connection:
            return [str(value) for value in connection.execute(statement).scalars()]

    @staticmethod
    def _audit_conditions(filters: t.Mapping[str, str]) -> list[sa.ColumnElement[bool]]:
        return [AUDIT_FILTERS[name] == value for name, value in filters.items() if name in AUDIT_FILTERS]

    def _one(self, statement: sa.Select[t.Any]) -> UserRecord | None:
        with self.engine.connect() as connection:
            row = connection.execute(statement).first()
        return UserRecord(**row._mapping) if row is not None else None


def state_database_url(config: t.Mapping[str, t.Any], instance_path: str | Path) -> str:
    """``STATE_DATABASE_URL``, else an SQLite file ``state.db`` in the instance folder."""
    return str(config.get("STATE_DATABASE_URL") or f"sqlite:///{Path(instance_path) / 'state.db'}")


def make_state_store(url: str) -> StateStore:
    """Open the state database at ``url`` and create its tables."""
    store = StateStore(open_state_engine(url))
    store.create_tables()
    return store


def open_state_engine(url: str) -> Engine:
    """An engine on the state database at ``url``, whose tables may not exist yet.

    A URL naming no driver gets the one we install, as ``DATABASE_URL`` does. SQLite files
    get a busy timeout and write-ahead logging, so several workers can log operators in at
    once without "database is locked" errors. Connections are pooled on every backend:
    opening an SQLite file and setting its pragmas costs more than the query a request makes.
    """
    parsed = with_default_driver(make_url(url))
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        # SQLAlchemy's default pool for a file: connections kept and shared by the threads
        # of a worker (a forked worker starts with its own, dashboard.cli.server).
        engine = sa.create_engine(parsed, connect_args={"timeout": 15})
        if parsed.database and parsed.database != ":memory:":
            sa.event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = sa.create_engine(parsed, pool_pre_ping=True)
    return engine


def _is_target_database(state: Engine, target_url: str) -> bool:
    """Whether the state database is the target's, as the servers tell (URL text cannot).

    Falls back to comparing the URLs, and logs it, when a server cannot be asked.
    """
    target: Engine | None = None
    try:
        target = sa.create_engine(with_default_driver(make_url(target_url)), poolclass=NullPool)
        return same_database(state, target)
    except (SQLAlchemyError, ImportError) as exc:
        # The driver's own words: SQLAlchemy's message may quote a URL and its password.
        reason = exc.orig if isinstance(exc, DBAPIError) else type(exc).__name__
        log.warning(
            "Could not ask the servers whether STATE_DATABASE_URL is DATABASE_URL (%s); compared the URLs instead",
            reason,
        )
        return _same_url(state.url.render_as_string(hide_password=False), target_url)
    finally:
        if target is not None:
            target.dispose()


def _same_url(first: str, second: str) -> bool:
    try:
        a, b = make_url(first), make_url(second)
    except ArgumentError:
        return first == second
    if a.get_backend_name() == b.get_backend_name() == "sqlite":
        return (
            bool(a.database)
            and a.database != ":memory:"
            and Path(a.database or "").resolve() == Path(b.database or "").resolve()
        )
    return (a.get_backend_name(), a.host, a.port, a.database) == (b.get_backend_name(), b.host, b.port, b.database)


def _sqlite_pragmas(dbapi_connection: t.Any, _record: t.Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def init_app(app: Flask) -> StateStore:
    """Open the app's state database and keep it in ``app.extensions["dashboard_state"]``.

    :raises ConfigError: when it would be the database being administered, whose tables
        are all served: the users table with its password hashes would be one of them.
    """
    engine = open_state_engine(state_database_url(app.config, app.instance_path))
    # Asked before any table is created: the refusal must leave the target as it was.
    if app.config.get("DATABASE_URL") and _is_target_database(engine, str(app.config["DATABASE_URL"])):
        engine.dispose()
        raise ConfigError(Message(N_("STATE_DATABASE_URL must not be the database being administered (DATABASE_URL)")))
    store = StateStore(engine)
    store.create_tables()
    app.extensions[EXTENSION_KEY] = store
    # The pooled connections close with the app, not whenever the interpreter gets to them
    # (a test process builds hundreds of apps on temporary folders).
    weakref.finalize(app, store.engine.dispose)
    return store


def get_store(app: Flask) -> StateStore:
    """The state store of ``app`` (opened by :func:`init_app`)."""
    return t.cast(StateStore, app.extensions[EXTENSION_KEY])
