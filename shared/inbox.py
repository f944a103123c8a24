"""Inbox: claim a message id in the same transaction as its effect.

`INSERT … ON CONFLICT DO NOTHING RETURNING` is the whole deduplication: two deliveries
racing each other both try the insert, the unique key lets exactly one through, and the
loser sees "already seen" (never check-then-insert, which races).
"""

from __future__ import annotations

from collections.abc import Sequence

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


async def claim_many(
    conn: asyncpg.Connection, consumer: str, message_ids: Sequence[str]
) -> set[str]:
    """The ids of `message_ids` that `consumer` sees for the first time: one statement.

    A batch may carry one id twice (a redelivery inside the batch): it is claimed once, and
    the caller applies it once by keeping only the first record with each claimed id.
    """
    if not message_ids:
        return set()
    rows = await conn.fetch(
        "INSERT INTO inbox (consumer, message_id) SELECT $1, m FROM unnest($2::text[]) AS m"
        " ON CONFLICT DO NOTHING RETURNING message_id",
        consumer,
        list(dict.fromkeys(message_ids)),
    )
    return {r["message_id"] for r in rows}
