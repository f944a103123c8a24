"""Outbox: outgoing events written in the handler's transaction, published by the relay.

A handler never publishes (STYLE principle 4): it calls `enqueue` inside its transaction,
so the event exists if and only if the state change committed.

Every event written here is a service's decision, so it is logged here once, at INFO, with
ids only (`event_decided`: topic, type, event, tenant, order and cause ids; the consumed
record's ids come from the bound context). It is logged inside the transaction: a batch that
rolls back and is replayed record by record logs its decisions again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from orderflow.shared import tracing
from orderflow.shared.envelope import Envelope, OutgoingEvent, record_key
from orderflow.shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class OutboxRow:
    id: int
    event_id: str
    topic: str
    key: bytes | None
    value: bytes
    headers: dict[str, str] | None = None


async def enqueue(
    conn: asyncpg.Connection, topic: str, event: Envelope, key: bytes | None = None
) -> None:
    """Write one event to the outbox; keyed by `<tenant>:<order_id>` unless a key is given.

    Re-enqueueing the same (topic, event_id) is a no-op, so a decision replayed after a crash
    cannot produce a second row.
    """
    if key is None and event.order_id is not None:
        key = record_key(event.tenant, event.order_id)
    await conn.execute(
        "INSERT INTO outbox (event_id, topic, key, value, headers) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (topic, event_id) DO NOTHING",
        event.event_id,
        topic,
        key,
        event.to_bytes(),
        _trace(event),
    )
    _decided(topic, event)


async def enqueue_many(
    conn: asyncpg.Connection, items: Sequence[tuple[str, OutgoingEvent, bytes | None]]
) -> None:
    """`enqueue` for a whole batch, `(topic, event, key)` in order: one statement.

    Rows get ids in the order given (the relay publishes in id order), so one key's events
    keep the order the handler decided them in.
    """
    if not items:
        return
    keys = [
        key if key is not None or e.order_id is None else record_key(e.tenant, e.order_id)
        for _, e, key in items
    ]
    await conn.execute(
        "INSERT INTO outbox (event_id, topic, key, value, headers)"
        " SELECT e, t, k, v, h::jsonb"
        " FROM unnest($1::text[], $2::text[], $3::bytea[], $4::bytea[], $5::text[])"
        " WITH ORDINALITY AS r(e, t, k, v, h, n) ORDER BY n"
        " ON CONFLICT (topic, event_id) DO NOTHING",
        [e.event_id for _, e, _ in items],
        [topic for topic, _, _ in items],
        keys,
        [e.to_bytes() for _, e, _ in items],
        _traces([e.causation_id for _, e, _ in items]),
    )
    for topic, event, _ in items:
        _decided(topic, event)


def _decided(topic: str, event: OutgoingEvent) -> None:
    log.info(
        "event_decided",
        topic=topic,
        type=event.type,
        event_id=event.event_id,
        tenant=event.tenant,
        order_id=event.order_id,
        causation_id=event.causation_id,
    )


async def enqueue_again(
    conn: asyncpg.Connection, items: Sequence[tuple[str, Envelope, bytes | None]]
) -> None:
    """Publish these events again, under their own event ids (a replay): a row still in the
    outbox is queued again where it is, a pruned one is written anew. Consumers' inboxes
    absorb what they already had. One transaction: it waits for the relay's batch in flight."""
    async with conn.transaction():
        await _wait_for_the_batch_in_flight(conn)
        await conn.executemany(
            "INSERT INTO outbox (event_id, topic, key, value) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (topic, event_id) DO UPDATE SET sent_at = NULL, parked_at = NULL,"
            " error = NULL",
            [
                (e.event_id, topic, key or record_key(e.tenant, e.order_id or ""), e.to_bytes())
                for topic, e, key in items
            ],
        )


def _traces(causation_ids: list[str]) -> list[str | None]:
    """`_trace` of each event, each distinct carrier encoded once."""
    encoded: dict[int, str | None] = {}
    out = []
    for carrier in tracing.carriers_for(causation_ids):
        if id(carrier) not in encoded:
            encoded[id(carrier)] = json.dumps(carrier) if carrier else None
        out.append(encoded[id(carrier)])
    return out


def _trace(event: OutgoingEvent) -> str | None:
    carrier = tracing.carrier_for(event.causation_id)
    return json.dumps(carrier) if carrier else None


async def fetch_unsent(conn: asyncpg.Connection, limit: int) -> list[OutboxRow]:
    # The ids come from the narrow `outbox_pending` (migration 0007), each row by its primary
    # key: `OFFSET 0` keeps that a nested loop in id order, however many sent rows the table
    # holds. A parked row holds back the later rows of its key (per-key order): the NOT
    # EXISTS probes `outbox_parked`, nearly always empty.
    rows = await conn.fetch(
        "SELECT o.id, o.event_id, o.topic, o.key, o.value, o.headers FROM outbox_pending q"
        " CROSS JOIN LATERAL (SELECT * FROM outbox WHERE id = q.id OFFSET 0) o"
        " WHERE o.sent_at IS NULL AND o.parked_at IS NULL AND NOT EXISTS ("
        "  SELECT 1 FROM outbox_parked p WHERE p.topic = o.topic"
        "  AND p.key IS NOT DISTINCT FROM o.key AND p.id < o.id)"
        " ORDER BY q.id LIMIT $1",
        limit,
    )
    return [
        OutboxRow(
            r["id"],
            r["event_id"],
            r["topic"],
            r["key"],
            r["value"],
            json.loads(r["headers"]) if r["headers"] else None,
        )
        for r in rows
    ]


async def mark_sent(conn: asyncpg.Connection, ids: list[int]) -> None:
    # A heap-only update on the row's own page; the trigger takes the ids off outbox_pending.
    await conn.execute("UPDATE outbox SET sent_at = now() WHERE id = ANY($1::bigint[])", ids)


async def park(conn: asyncpg.Connection, row_id: int, error: str) -> None:
    await conn.execute(
        "UPDATE outbox SET parked_at = now(), error = $2 WHERE id = $1", row_id, error
    )


async def prune_sent(conn: asyncpg.Connection, older_than_hours: float) -> int:
    """Delete the rows sent longer ago than the retention (found by the BRIN index on
    sent_at), and the ids of rows deleted unsent (by hand) from the pending queue."""
    result: str = await conn.execute(
        "DELETE FROM outbox WHERE sent_at < now() - make_interval(secs => $1)",
        older_than_hours * 3600.0,
    )
    for listed in ("outbox_pending", "outbox_parked"):
        await conn.execute(
            f"DELETE FROM {listed} q WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.id = q.id)"
        )
    return int(result.split()[-1])


async def pending_count(conn: asyncpg.Connection) -> int:
    return (await backlog(conn))[0]


async def backlog(conn: asyncpg.Connection) -> tuple[int, int]:
    """(rows waiting to be published, rows parked), from the two narrow lists, never by a
    scan of the outbox (which holds every row sent within the retention)."""
    row = await conn.fetchrow(
        "SELECT (SELECT count(*) FROM outbox_pending) - p.parked AS pending, p.parked"
        " FROM (SELECT count(*) AS parked FROM outbox_parked) p"
    )
    assert row is not None
    return int(row["pending"]), int(row["parked"])


async def release(conn: asyncpg.Connection, ids: Sequence[int] | None = None) -> int:
    """Un-park rows (all, or the given ids) once their cause is fixed; returns how many."""
    result: str = await conn.execute(
        "UPDATE outbox SET parked_at = NULL, error = NULL"
        " WHERE id IN (SELECT id FROM outbox_parked) AND parked_at IS NOT NULL"
        " AND sent_at IS NULL AND ($1::bigint[] IS NULL OR id = ANY($1::bigint[]))",
        list(ids) if ids is not None else None,
    )
    return int(result.split()[-1])


async def resend(conn: asyncpg.Connection, since: datetime) -> int:
    """Mark rows sent at or after `since` unsent again, so the relay republishes them in id
    order (after a broker lost its data); downstream inboxes absorb what they already had.
    The trigger puts them back on outbox_pending."""
    async with conn.transaction():
        await _wait_for_the_batch_in_flight(conn)
        result: str = await conn.execute(
            "UPDATE outbox SET sent_at = NULL WHERE sent_at >= $1", since
        )
    return int(result.split()[-1])


# Queuing sent rows again and the relay's batches exclude each other. A batch the relay has
# fetched and is publishing is marked sent only once the broker acknowledged it, which can be
# long after: a lane waits up to the producer's request timeout, and the broker may have lost
# the records by then. Rows queued again in that window would be marked sent by that late
# mark, and a resend after a broker's loss would miss exactly the batch that was in flight.
# So the relay holds this lock shared from fetch to mark (`relay.OutboxRelay.publish_once`,
# on its own connection: a session lock), and whoever queues rows again takes it exclusively,
# in its own transaction, before its statement (whose snapshot then sees the batch's marks).
# Waiting exclusive requests go ahead of later shared ones, so a resend waits for at most the
# batch in flight. Keyed by schema: one per outbox.
SENDING_LOCK = "hashtext('outbox-sending:' || current_schema())"


async def _wait_for_the_batch_in_flight(conn: asyncpg.Connection) -> None:
    """Inside the caller's transaction; released at its end."""
    await conn.execute(f"SELECT pg_advisory_xact_lock({SENDING_LOCK})")
