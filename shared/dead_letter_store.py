"""The kept dead letters of one service's schema: find them, and replay one exactly once.

A replay writes the original record (key and value, byte for byte) to the outbox for its
original topic and marks the dead letter replayed, in one transaction; the service's relay
publishes it. A second replay of the same dead letter finds it replayed and does nothing,
and the outbox row's event id (`replay:<dead letter id>`) is unique besides; the consumer's
own deduplication (inbox, report identity) absorbs the record if it had an effect before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

_COLUMNS = (
    'event_id, topic, partition, "offset", key, value, tenant, error_type, error, attempts,'
    " first_failed_at, dead_at, replayed_at"
)


@dataclass(frozen=True)
class DeadLetter:
    event_id: str
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    tenant: str
    error_type: str
    error: str
    attempts: int
    first_failed_at: datetime
    dead_at: datetime
    replayed_at: datetime | None


@dataclass(frozen=True)
class Filters:
    since: datetime | None = None
    error_type: str | None = None
    event_ids: tuple[str, ...] = ()
    include_replayed: bool = True


async def find(conn: asyncpg.Connection, filters: Filters, limit: int = 1000) -> list[DeadLetter]:
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM dead_letters"
        " WHERE ($1::timestamptz IS NULL OR dead_at >= $1)"
        " AND ($2::text IS NULL OR error_type = $2)"
        " AND (cardinality($3::text[]) = 0 OR event_id = ANY($3::text[]))"
        " AND ($4 OR replayed_at IS NULL)"
        " ORDER BY dead_at, event_id LIMIT $5",
        filters.since,
        filters.error_type,
        list(filters.event_ids),
        filters.include_replayed,
        limit,
    )
    return [DeadLetter(**dict(row)) for row in rows]


async def replay(conn: asyncpg.Connection, event_id: str) -> bool:
    """Queue the original record again, once; False if it was replayed already (or is gone)."""
    async with conn.transaction():
        row = await conn.fetchrow(
            "UPDATE dead_letters SET replayed_at = now()"
            " WHERE event_id = $1 AND replayed_at IS NULL RETURNING topic, key, value",
            event_id,
        )
        if row is None:
            return False
        await conn.execute(
            "INSERT INTO outbox (event_id, topic, key, value) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (topic, event_id) DO NOTHING",
            f"replay:{event_id}",
            row["topic"],
            row["key"],
            row["value"],
        )
    return True


async def counts(conn: asyncpg.Connection) -> tuple[int, int]:
    """(dead letters not replayed, replayed)."""
    row = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE replayed_at IS NULL) AS waiting,"
        " count(*) FILTER (WHERE replayed_at IS NOT NULL) AS replayed FROM dead_letters"
    )
    assert row is not None
    return int(row["waiting"]), int(row["replayed"])
