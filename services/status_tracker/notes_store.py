"""Notes on an order (CONTRACTS §7): stored with their `order.note_added` event, in one
transaction, so the event is published (by the relay) exactly when the note exists."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from orderflow.services.status_tracker import messages
from orderflow.shared import outbox


async def add_note(
    conn: asyncpg.Connection, tenant: str, order_id: str, text: str, author: str, now: datetime
) -> dict[str, Any] | None:
    """The note as stored, or None when the tracker has no report of the order."""
    correlation = await conn.fetchval(
        "SELECT correlation_id FROM orders WHERE tenant = $1 AND order_id = $2", tenant, order_id
    )
    if correlation is None:
        return None
    note_id = str(uuid.uuid4())
    await conn.execute(
        "INSERT INTO order_notes (tenant, order_id, note_id, text, author, created_at)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        tenant, order_id, note_id, text, author, now,
    )  # fmt: skip
    event = messages.note_added(tenant, order_id, note_id, author, now, correlation)
    await outbox.enqueue_many(conn, [event])
    return {"note_id": note_id, "text": text, "author": author, "created_at": now.isoformat()}
