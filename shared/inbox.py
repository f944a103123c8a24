"""Inbox: claim a message id in the same transaction as its effect.

`INSERT … ON CONFLICT DO NOTHING RETURNING` is the whole deduplication: two deliveries
racing each other both try the insert, the unique key lets exactly one through, and the
loser sees "already seen" (never check-then-insert, which races).
"""

from __future__ import annotations

import asyncpg


async def claim(conn: asyncpg.Connection, consumer: str, message_id: str) -> bool:
    """True when this is the first time `consumer` sees `message_id` (call inside the transaction)."""
    row = await conn.fetchval(
        "INSERT INTO inbox (consumer, message_id) VALUES ($1, $2)"
        " ON CONFLICT DO NOTHING RETURNING 1",
        consumer,
        message_id,
    )
    return row is not None
