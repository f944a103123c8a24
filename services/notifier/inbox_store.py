"""The SQL of the in-app inbox: messages written on delivery, read and marked by the API."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

import asyncpg

from orderflow.services.notifier.store import Due
from orderflow.services.notifier.templates import Rendered


@dataclass(frozen=True)
class Message:
    seq: int
    notification_id: str
    event_type: str
    order_id: str | None
    occurred_at: datetime
    template: str
    subject: str
    body: str
    created_at: datetime
    read_at: datetime | None


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the last message's (occurred_at, seq)."""

    occurred_at: datetime
    seq: int


@dataclass(frozen=True)
class Owner:
    tenant: str
    role: str
    recipient_id: str


async def insert(conn: asyncpg.Connection, due: Due, rendered: Rendered) -> None:
    """One message per notification, whatever happens around it (unique notification_id)."""
    await conn.execute(
        "INSERT INTO in_app_messages (notification_id, tenant, role, recipient_id, event_type,"
        " order_id, occurred_at, template, subject, body)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (notification_id) DO NOTHING",
        due.notification_id,
        due.cause.tenant,
        due.recipient.role,
        due.recipient.id,
        due.cause.type,
        due.cause.order_id,
        due.cause.occurred_at,
        due.template,
        rendered.subject,
        rendered.text,
    )


async def page(
    conn: asyncpg.Connection, owner: Owner, limit: int, after: Cursor | None
) -> list[Message]:
    """Newest event first; `after` is where the previous page ended."""
    rows = await conn.fetch(
        "SELECT * FROM in_app_messages WHERE tenant = $1 AND role = $2 AND recipient_id = $3"
        " AND ($4::timestamptz IS NULL OR (occurred_at, seq) < ($4, $5))"
        " ORDER BY occurred_at DESC, seq DESC LIMIT $6",
        owner.tenant,
        owner.role,
        owner.recipient_id,
        after.occurred_at if after else None,
        after.seq if after else 0,
        limit,
    )
    return [
        Message(
            r["seq"],
            r["notification_id"],
            r["event_type"],
            r["order_id"],
            r["occurred_at"],
            r["template"],
            r["subject"],
            r["body"],
            r["created_at"],
            r["read_at"],
        )
        for r in rows
    ]


async def unread(conn: asyncpg.Connection, owner: Owner) -> int:
    count = await conn.fetchval(
        "SELECT count(*) FROM in_app_messages WHERE tenant = $1 AND role = $2"
        " AND recipient_id = $3 AND read_at IS NULL",
        owner.tenant,
        owner.role,
        owner.recipient_id,
    )
    return cast(int, count)


async def mark_read(conn: asyncpg.Connection, owner: Owner, ids: Sequence[str] | None) -> int:
    """Mark the given notification ids (all when None) read; returns how many changed."""
    result = await conn.execute(
        "UPDATE in_app_messages SET read_at = now() WHERE tenant = $1 AND role = $2"
        " AND recipient_id = $3 AND read_at IS NULL"
        " AND ($4::text[] IS NULL OR notification_id = ANY($4::text[]))",
        owner.tenant,
        owner.role,
        owner.recipient_id,
        list(ids) if ids is not None else None,
    )
    return int(cast(str, result).split()[-1])
