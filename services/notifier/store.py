"""The SQL of the notifier's own schema: contacts, order members, notifications."""

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


async def lock_order(conn: asyncpg.Connection, tenant: str, order_id: str) -> None:
    """Serialise an order's events with its attributions, so a member joining concurrently
    with an event either sees the event kept or is seen by it."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"notifier:{tenant}:{order_id}"
    )


async def save_contact(conn: asyncpg.Connection, contact: Contact) -> None:
    # A later report without an email or name keeps what an earlier one said.
    await conn.execute(
        "INSERT INTO contacts (tenant, order_id, customer_id, email, name) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (tenant, order_id) DO UPDATE SET customer_id = EXCLUDED.customer_id,"
        " email = COALESCE(EXCLUDED.email, contacts.email),"
        " name = COALESCE(EXCLUDED.name, contacts.name), updated_at = now()",
        contact.tenant,
        contact.order_id,
        contact.customer_id,
        contact.email,
        contact.name,
    )


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


async def customer_of_order(conn: asyncpg.Connection, tenant: str, order_id: str) -> str | None:
    value = await conn.fetchval(
        "SELECT customer_id FROM contacts WHERE tenant = $1 AND order_id = $2", tenant, order_id
    )
    return cast(str | None, value)


async def add_member(conn: asyncpg.Connection, tenant: str, order_id: str, member_id: str) -> None:
    await conn.execute(
        "INSERT INTO order_members (tenant, order_id, member_id) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING",
        tenant,
        order_id,
        member_id,
    )


async def remove_members(conn: asyncpg.Connection, tenant: str, order_id: str) -> None:
    await conn.execute(
        "DELETE FROM order_members WHERE tenant = $1 AND order_id = $2", tenant, order_id
    )


async def members_of(conn: asyncpg.Connection, tenant: str, order_id: str) -> tuple[str, ...]:
    rows = await conn.fetch(
        "SELECT member_id FROM order_members WHERE tenant = $1 AND order_id = $2"
        " ORDER BY member_id",
        tenant,
        order_id,
    )
    return tuple(r["member_id"] for r in rows)


async def keep_order_event(conn: asyncpg.Connection, cause: Cause) -> None:
    await conn.execute(
        "INSERT INTO order_events (tenant, order_id, event_id, type, occurred_at, correlation_id,"
        " data) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb) ON CONFLICT DO NOTHING",
        cause.tenant,
        cause.order_id,
        cause.event_id,
        cause.type,
        cause.occurred_at,
        cause.correlation_id,
        json.dumps(dict(cause.data)),
    )


async def order_events(conn: asyncpg.Connection, tenant: str, order_id: str) -> list[Cause]:
    rows = await conn.fetch(
        "SELECT * FROM order_events WHERE tenant = $1 AND order_id = $2 ORDER BY occurred_at",
        tenant,
        order_id,
    )
    return [_cause(r, r["event_id"], r["type"]) for r in rows]


async def insert_notifications(
    conn: asyncpg.Connection, cause: Cause, planned: Sequence[Planned]
) -> int:
    """Insert each planned notification unless its (cause, recipient, channel) exists."""
    inserted = 0
    for p in planned:
        row = await conn.fetchval(
            "INSERT INTO notifications (notification_id, tenant, cause_event_id, cause_type,"
            " order_id, occurred_at, correlation_id, data, role, recipient_id, channel, template)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, $12)"
            " ON CONFLICT DO NOTHING RETURNING 1",
            p.notification_id,
            cause.tenant,
            cause.event_id,
            cause.type,
            cause.order_id,
            cause.occurred_at,
            cause.correlation_id,
            json.dumps(dict(cause.data)),
            p.recipient.role,
            p.recipient.id,
            p.channel,
            p.template,
        )
        inserted += row is not None
    return inserted


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


def _cause(row: asyncpg.Record, event_id: str, event_type: str) -> Cause:
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
        _cause(row, row["cause_event_id"], row["cause_type"]),
        Recipient(cast(Role, row["role"]), row["recipient_id"]),
        cast(Channel, row["channel"]),
        row["template"],
        row["attempts"],
    )
