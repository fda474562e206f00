"""The webhook delivery log in the state database: one row per payload sent to one URL.

The built-in webhooks plugin (:mod:`dashboard.plugins.builtins.webhooks`) adds a row when a
committed write is queued for a URL, and updates it after each attempt: how many there
were, the last HTTP status or error, and whether it was delivered, is waiting for its next
try, or was given up; rows older than :data:`KEEP_SECONDS` are forgotten when an app starts.
Administrators read it at ``/admin/-/pages/webhooks/``. Times are
seconds since the epoch by the app's clock (:mod:`dashboard.clock`).
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

import sqlalchemy as sa

from dashboard import statedb

#: How long deliveries stay in the log (forgotten when an app starts).
KEEP_SECONDS = 30 * 24 * 3600
#: What a delivery is: waiting for an attempt, delivered (a 2xx answer), or given up.
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    statedb.metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("url", sa.String(2000), nullable=False),
    sa.Column("table_id", sa.String(255), nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("row_key", sa.Text, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False, index=True),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    #: The HTTP status of the last answer, or NULL when there was none (refused, timed out).
    sa.Column("last_status", sa.Integer, nullable=True),
    sa.Column("last_error", sa.String(500), nullable=False, default=""),
    sa.Column("last_attempt_at", sa.Float, nullable=True),
    sa.Column("next_attempt_at", sa.Float, nullable=True),
)


@dataclass(frozen=True)
class Delivery:
    """One row of ``webhook_deliveries``."""

    id: int
    url: str
    table_id: str
    action: str
    row_key: str | None
    created_at: float
    state: str
    attempts: int
    last_status: int | None
    last_error: str
    last_attempt_at: float | None
    next_attempt_at: float | None


def add_delivery(
    store: statedb.StateStore, *, url: str, table_id: str, action: str, row_key: str | None, now: float
) -> int:
    """Record a payload queued for ``url``; its id."""
    with store.engine.begin() as connection:
        result = connection.execute(
            webhook_deliveries.insert().values(
                url=url[:2000],
                table_id=table_id[:255],
                action=action,
                row_key=row_key,
                created_at=now,
                state=PENDING,
                attempts=0,
                last_error="",
                next_attempt_at=now,
            )
        )
        return int(t.cast(t.Any, result.inserted_primary_key)[0])


def record_attempt(
    store: statedb.StateStore,
    delivery_id: int,
    *,
    state: str,
    status: int | None,
    error: str,
    now: float,
    next_attempt_at: float | None,
) -> None:
    """Record one attempt of delivery ``delivery_id`` and what it left it as (``state``)."""
    with store.engine.begin() as connection:
        connection.execute(
            webhook_deliveries.update()
            .where(webhook_deliveries.c.id == delivery_id)
            .values(
                state=state,
                attempts=webhook_deliveries.c.attempts + 1,
                last_status=status,
                last_error=error[:500],
                last_attempt_at=now,
                next_attempt_at=next_attempt_at,
            )
        )


def forget_old(store: statedb.StateStore, *, before: float) -> int:
    """Forget the deliveries queued before ``before``; how many there were."""
    with store.engine.begin() as connection:
        statement = webhook_deliveries.delete().where(webhook_deliveries.c.created_at < before)
        return int(connection.execute(statement).rowcount)


def list_deliveries(store: statedb.StateStore, *, limit: int = 100) -> list[Delivery]:
    """The latest deliveries, newest first."""
    statement = sa.select(webhook_deliveries).order_by(webhook_deliveries.c.id.desc()).limit(limit)
    with store.engine.connect() as connection:
        return [Delivery(**dict(row._mapping)) for row in connection.execute(statement)]
