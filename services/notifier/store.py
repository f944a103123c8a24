"""The SQL of the notifier's notifications: planned in batches, leased and finished one by one.

What it keeps about orders (contacts, members, kept events) is in `order_store`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import asyncpg

from orderflow.services.notifier.domain import Cause, Channel, Planned, Recipient, Role
from orderflow.services.notifier.messages import Contact


@dataclass(frozen=True)
class Due:
    """A leased notification: `attempts` already counts the attempt about to be made."""

    notification_id: str
    cause: Cause
    recipient: Recipient
    channel: Channel
    template: str
    attempts: int


async def contact(
    conn: asyncpg.Connection, tenant: str, customer_id: str, order_id: str | None
) -> Contact | None:
    """The customer's contact: from this order when known, else their latest order's."""
    row = await conn.fetchrow(
        "SELECT * FROM contacts WHERE tenant = $1 AND customer_id = $2"
        " ORDER BY (order_id = $3) IS TRUE DESC, updated_at DESC LIMIT 1",
        tenant,
        customer_id,
        order_id,
    )
    if row is None:
        return None
    return Contact(row["tenant"], row["order_id"], row["customer_id"], row["email"], row["name"])


async def insert_notifications(
    conn: asyncpg.Connection, notifications: Sequence[tuple[Cause, Planned]]
) -> int:
    """Insert each planned notification unless its (cause, recipient, channel) exists: one
    statement for the batch; returns how many are new. Pass each notification id once."""
    if not notifications:
        return 0
    causes = [c for c, _ in notifications]
    planned = [p for _, p in notifications]
    rows = await conn.fetch(
        "INSERT INTO notifications (notification_id, tenant, cause_event_id, cause_type,"
        " order_id, occurred_at, correlation_id, data, role, recipient_id, channel, template)"
        " SELECT n, t, e, ty, o, at, c, d::jsonb, r, i, ch, tm FROM unnest($1::text[],"
        " $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[],"
        " $8::text[], $9::text[], $10::text[], $11::text[], $12::text[]) WITH ORDINALITY"
        " AS x(n, t, e, ty, o, at, c, d, r, i, ch, tm, k) ORDER BY k"
        " ON CONFLICT DO NOTHING RETURNING 1",
        [p.notification_id for p in planned],
        [c.tenant for c in causes],
        [c.event_id for c in causes],
        [c.type for c in causes],
        [c.order_id for c in causes],
        [c.occurred_at for c in causes],
        [c.correlation_id for c in causes],
        [json.dumps(dict(c.data)) for c in causes],
        [p.recipient.role for p in planned],
        [p.recipient.id for p in planned],
        [p.channel for p in planned],
        [p.template for p in planned],
    )
    return len(rows)


async def lease_due(
    conn: asyncpg.Connection, now: datetime, limit: int, lease: timedelta
) -> list[Due]:
    """Claim due notifications for one attempt each; SKIP LOCKED lets replicas share the work.

    The lease (next_attempt_at moved ahead) is what hands a claim back if its sender dies.
    """
    rows = await conn.fetch(
        "UPDATE notifications SET attempts = attempts + 1, next_attempt_at = $1::timestamptz + $3"
        " WHERE notification_id IN (SELECT notification_id FROM notifications"
        "  WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at"
        "  LIMIT $2 FOR UPDATE SKIP LOCKED) RETURNING *",
        now,
        limit,
        lease,
    )
    return [_due(r) for r in rows]


async def finish(
    conn: asyncpg.Connection, due: Due, status: str, now: datetime, error: str | None
) -> bool:
    """Record the final state; False when this lease is stale (another attempt took over)."""
    result = await conn.execute(
        "UPDATE notifications SET status = $3, finished_at = $4, last_error = $5"
        " WHERE notification_id = $1 AND attempts = $2 AND status = 'pending'",
        due.notification_id,
        due.attempts,
        status,
        now,
        error,
    )
    return cast(str, result).endswith(" 1")


async def retry_at(conn: asyncpg.Connection, due: Due, at: datetime, error: str) -> None:
    await conn.execute(
        "UPDATE notifications SET next_attempt_at = $3, last_error = $4"
        " WHERE notification_id = $1 AND attempts = $2 AND status = 'pending'",
        due.notification_id,
        due.attempts,
        at,
        error,
    )


def cause_of_row(row: asyncpg.Record, event_id: str, event_type: str) -> Cause:
    """The cause a notification (or a kept order event) row holds."""
    data: dict[str, Any] = json.loads(row["data"])
    return Cause(
        event_id,
        event_type,
        row["tenant"],
        row["order_id"],
        data,
        row["occurred_at"],
        row["correlation_id"],
    )


def _due(row: asyncpg.Record) -> Due:
    return Due(
        row["notification_id"],
        cause_of_row(row, row["cause_event_id"], row["cause_type"]),
        Recipient(cast(Role, row["role"]), row["recipient_id"]),
        cast(Channel, row["channel"]),
        row["template"],
        row["attempts"],
    )
