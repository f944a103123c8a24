"""The rebuild of changed segments on a real connection: its moves, its events, its retry.

Customers' statistics are seeded at random; every rebuild's membership is compared with the
pure evaluation (`customers.members`), its timers with `customers.due`, and its outbox rows
with the moves that evaluation implies: one event per move, none twice, none after a retry.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from orderflow.services.rewards import customer_store
from orderflow.services.rewards.customers import Customer, due, members
from orderflow.services.rewards.segment_conditions import CustomerStats
from orderflow.services.rewards.segment_rebuild import rebuild_tenant
from orderflow.shared import topics
from orderflow.shared.envelope import Envelope
from orderflow.shared.tenant_segments import Segment, SegmentWhen
from tests.batch_support import connect_service

pytestmark = pytest.mark.integration
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def segment(id: str, **when: Any) -> Segment:
    return Segment(id=id, when=SegmentWhen.model_validate(when))


BEFORE = (segment("loyal", min_orders=3), segment("recent", last_purchase_within="30d"))
AFTER = (
    segment("loyal", min_orders=2, max_orders=4),  # changed: some enter, some leave
    segment("recent", last_purchase_within="30d"),  # unchanged: not rebuilt
    segment("big", min_spent={"amount": "300.00", "currency": "EUR"}, no_purchase_within="10d"),
)


def seeded() -> list[Customer]:
    rng = random.Random(13)
    customers = []
    for n in range(150):
        count = rng.randint(1, 6)
        spent = {"EUR": Decimal(rng.randint(0, 60_000)) / 100}
        last = NOW - timedelta(hours=rng.randint(0, 24 * 60))
        customers.append(Customer("seg", f"c-{n}", CustomerStats(count, spent, last - DAY, last)))
    return customers


SEEDED = seeded()


@pytest.fixture
async def conn(stack_env: dict[str, str]) -> AsyncIterator[asyncpg.Connection]:
    connection = await connect_service(stack_env, "rewards")
    try:
        async with connection.transaction():
            await customer_store.save(connection, SEEDED)
        yield connection
    finally:
        await connection.close()


def expected(segments: Sequence[Segment]) -> set[tuple[str, str]]:
    return {(s, c.customer_id) for c in SEEDED for s in members(segments, c.stats, NOW)}


async def membership(conn: asyncpg.Connection) -> set[tuple[str, str]]:
    rows = await conn.fetch("SELECT segment_id, customer_id FROM segment_members")
    return {(r["segment_id"], r["customer_id"]) for r in rows}


async def events(conn: asyncpg.Connection) -> list[tuple[str, str, str, str]]:
    """(causation, type, segment, customer) of every segments.v1 row, checked on the way."""
    rows = await conn.fetch(
        "SELECT event_id, key, value FROM outbox WHERE topic = $1 ORDER BY id", topics.SEGMENTS
    )
    found = []
    for row in rows:
        event = Envelope.from_bytes(row["value"])
        customer = event.data["customer_id"]
        assert row["event_id"] == event.event_id and row["key"] == f"seg:{customer}".encode()
        assert event.occurred_at == NOW and event.causation_id == event.correlation_id
        found.append((event.causation_id, event.type, event.data["segment_id"], customer))
    return found


async def rebuild(conn: asyncpg.Connection, segments: Sequence[Segment]) -> int:
    async with conn.transaction():
        return await rebuild_tenant(conn, "seg", segments, NOW)


async def test_a_rebuild_moves_customers_in_and_out_with_one_event_per_move(
    conn: asyncpg.Connection,
) -> None:
    first = expected(BEFORE)
    assert await rebuild(conn, BEFORE) == len(first) > 0
    assert await membership(conn) == first
    second = expected(AFTER)
    entered, left = second - first, first - second
    assert {s for s, _ in entered} == {"loyal", "big"} and {s for s, _ in left} == {"loyal"}
    assert await rebuild(conn, AFTER) == len(entered) + len(left)
    assert await membership(conn) == second
    assert await rebuild(conn, AFTER) == 0  # the hashes are current: nothing twice
    written = await events(conn)
    assert len({row for row in written}) == len(written)  # no event twice
    later = [e for e in written if e[0] != "segment-rebuild:seg:loyal:1"]
    later = [e for e in later if e[0] != "segment-rebuild:seg:recent:1"]
    assert Counter((t.rsplit("_")[-1], s, c) for _, t, s, c in later) == Counter(
        [("entered", s, c) for s, c in entered] + [("left", s, c) for s, c in left]
    )
    assert {cause for cause, *_ in later} == {
        "segment-rebuild:seg:loyal:2",
        "segment-rebuild:seg:big:1",
    }
    # Every customer's timer is the pure step's: the earliest instant a condition can flip.
    rows = await conn.fetch("SELECT customer_id, segments_due_at FROM customers")
    assert {r["customer_id"]: r["segments_due_at"] for r in rows} == {
        c.customer_id: due(AFTER, c.stats, NOW) for c in SEEDED
    }
    assert await rebuild(conn, ()) == len(second)  # removed segments: everybody leaves
    assert await membership(conn) == set()


class CrashingAt:
    """A connection that fails its `n`th rebuild statement, as a crash mid-rebuild would."""

    def __init__(self, conn: asyncpg.Connection, n: int) -> None:
        self._conn, self._left = conn, n

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)

    async def execute(self, query: str, *args: object) -> str:
        if query.startswith("WITH target"):
            self._left -= 1
            if self._left == 0:
                raise ConnectionResetError("the rebuild's connection was lost")
        result: str = await self._conn.execute(query, *args)
        return result


async def test_a_rebuild_that_crashes_midway_and_is_retried_writes_each_event_once(
    conn: asyncpg.Connection,
) -> None:
    await rebuild(conn, BEFORE)
    before = await events(conn)
    crashing = CrashingAt(conn, 2)  # the first changed segment is written, the second fails
    with pytest.raises(ConnectionResetError):
        async with conn.transaction():
            await rebuild_tenant(crashing, "seg", AFTER, NOW)
    assert await events(conn) == before and await membership(conn) == expected(BEFORE)
    moved = await rebuild(conn, AFTER)
    written = await events(conn)
    assert len(written) == len(before) + moved and len(set(written)) == len(written)
    assert await membership(conn) == expected(AFTER)
    assert await rebuild(conn, AFTER) == 0 and await events(conn) == written


class Explaining(CrashingAt):
    """A connection that plans each rebuild statement (EXPLAIN) instead of running it."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        super().__init__(conn, 0)
        self.plans: list[str] = []

    async def execute(self, query: str, *args: object) -> str:
        if not query.startswith("WITH target"):
            return await super().execute(query, *args)
        rows = await self._conn.fetch(f"EXPLAIN {query}", *args)
        self.plans.append("\n".join(r[0] for r in rows))
        return "INSERT 0 0"


async def test_the_diff_is_never_a_nested_loop_even_on_a_freshly_vacuumed_empty_table(
    conn: asyncpg.Connection,
) -> None:
    # An empty table just vacuumed is estimated at one row: the former anti-joins became
    # nested loops re-scanning the rows their own statement inserted (58 s for 110,000).
    await conn.execute("VACUUM ANALYZE segment_members")
    explaining = Explaining(conn)
    async with conn.transaction():
        await rebuild_tenant(explaining, "seg", AFTER, NOW)
    assert len(explaining.plans) == 3
    for plan in explaining.plans:
        assert "Full Join" in plan and "Nested Loop" not in plan, plan
