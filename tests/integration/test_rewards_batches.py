"""rewards' batch handlers on a real connection to its schema, without a broker.

The test plays the relay for the internal topic: member facts the order-keyed step wrote to
the outbox are handed to the member-keyed step as its batch, keyed `<tenant>:<member_id>`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import asyncpg
import pytest
from aiokafka import ConsumerRecord
from asyncpg.connection import LoggedQuery

from orderflow.services.rewards import handlers, messages, store
from orderflow.services.rewards.app import MIGRATIONS, NAME
from orderflow.shared import topics
from orderflow.shared.db import SHARED_MIGRATIONS, migrate
from orderflow.shared.envelope import Envelope
from orderflow.shared.errors import Rejected
from orderflow.shared.provision import role_name, schema_name
from orderflow.shared.runner import Record
from orderflow.shared.settings import DatabaseSettings
from tests.rewards_support import attributed, lifecycle_story, programme, voided
from tests.unit.rewards_world import World

pytestmark = pytest.mark.integration
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PROGRAMMES = {"aff": programme("aff", holding_days=30)}
Handle = Callable[[asyncpg.Connection, Sequence[Record]], Awaitable[None]]
ON_LIFECYCLE: Handle = partial(
    handlers.on_orders, programmes=PROGRAMMES, fact_of=messages.lifecycle_fact
)
ON_ATTRIBUTION: Handle = partial(
    handlers.on_orders, programmes=PROGRAMMES, fact_of=messages.attribution_fact
)
ON_MEMBER_FACTS: Handle = partial(handlers.on_member_facts, programmes=PROGRAMMES)
ATTRIBUTION_TYPES = {"order.attributed", "order.attribution_voided"}


async def _connect(env: dict[str, str]) -> asyncpg.Connection:
    db = DatabaseSettings.model_validate({"DATABASE_URL": env["DATABASE_URL"]})
    schema = schema_name(NAME)
    conn = await asyncpg.connect(
        db.dsn_for_role(role_name(NAME)), server_settings={"search_path": schema}
    )
    await migrate(conn, schema, [SHARED_MIGRATIONS, MIGRATIONS])
    return conn


@pytest.fixture
async def conn(stack_env: dict[str, str]) -> AsyncIterator[asyncpg.Connection]:
    connection = await _connect(stack_env)
    try:
        yield connection
    finally:
        await connection.close()


def records(topic: str, events: Sequence[Envelope], keys: Sequence[bytes]) -> list[Record]:
    return [
        ConsumerRecord(topic, 0, n, 0, 0, key, e.to_bytes(), None, 0, 0, ())
        for n, (e, key) in enumerate(zip(events, keys, strict=True))
    ]


def order_records(topic: str, events: Sequence[Envelope]) -> list[Record]:
    return records(topic, events, [f"{e.tenant}:{e.order_id}".encode() for e in events])


async def run(conn: asyncpg.Connection, handle: Handle, batch: Sequence[Record]) -> int:
    """One batch in its own transaction, as the runner runs it; how many statements ran."""
    statements: list[str] = []

    def count(query: LoggedQuery) -> None:
        statements.append(query.query)

    async with conn.transaction():
        conn.add_query_logger(count)
        try:
            await handle(conn, batch)
        finally:
            conn.remove_query_logger(count)
    await asyncio.sleep(0)  # the logger is called soon after each statement
    return len(statements)


async def member_facts(conn: asyncpg.Connection, after: int = 0) -> tuple[list[Record], int]:
    """The relay's part: member facts in the outbox after row `after`, as one batch."""
    rows = await conn.fetch(
        "SELECT id, key, value FROM outbox WHERE topic = $1 AND id > $2 ORDER BY id",
        topics.REWARDS_MEMBER_FACTS,
        after,
    )
    events = [Envelope.from_bytes(r["value"]) for r in rows]
    last = rows[-1]["id"] if rows else after
    return records(topics.REWARDS_MEMBER_FACTS, events, [r["key"] for r in rows]), last


def split(events: Sequence[Envelope]) -> tuple[list[Record], list[Record]]:
    lifecycle = [e for e in events if e.type not in ATTRIBUTION_TYPES]
    attribution = [e for e in events if e.type in ATTRIBUTION_TYPES]
    return (
        order_records(topics.ORDERS_LIFECYCLE, lifecycle),
        order_records(topics.ORDERS_ATTRIBUTION, attribution),
    )


def scenario() -> list[Envelope]:
    """Three orders of m-1 within 30 days (one refunded), one of m-2 voided after its sale."""
    events: list[Envelope] = []
    for n, (day, statuses) in enumerate([(0, ["Sale"]), (10, ["Sale", "Refund"]), (25, ["Sale"])]):
        start = T0 + timedelta(days=day)
        events += lifecycle_story("aff", f"o-{n}", statuses, start, amount="250.00")
        events.append(attributed("aff", f"o-{n}", "m-1", start))
    events += lifecycle_story("aff", "o-9", ["Pending", "Sale"], T0)
    events += [attributed("aff", "o-9", "m-2", T0), voided("aff", "o-9", "m-2", T0)]
    return events


async def batched(conn: asyncpg.Connection, events: Sequence[Envelope]) -> list[int]:
    """Each topic's records as one batch, then the member facts as one: statements of each."""
    lifecycle, attribution = split(events)
    counts = [
        await run(conn, ON_LIFECYCLE, lifecycle),
        await run(conn, ON_ATTRIBUTION, attribution),
    ]
    facts, _ = await member_facts(conn)
    return [*counts, await run(conn, ON_MEMBER_FACTS, facts)]


async def one_at_a_time(conn: asyncpg.Connection, events: Sequence[Envelope]) -> None:
    lifecycle, attribution = split(events)
    for record in lifecycle:
        await run(conn, ON_LIFECYCLE, [record])
    for record in attribution:
        await run(conn, ON_ATTRIBUTION, [record])
    facts, _ = await member_facts(conn)
    for record in facts:
        await run(conn, ON_MEMBER_FACTS, [record])


async def snapshot(conn: asyncpg.Connection) -> dict[str, list[Any]]:
    """Everything rewards wrote, wall-clock columns and identity numbers aside."""

    async def rows(query: str, *skip: str) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k not in skip} for r in await conn.fetch(query)]

    outbox = await conn.fetch("SELECT topic, key, value FROM outbox ORDER BY id")
    return {
        "orders": await rows("SELECT * FROM orders ORDER BY order_id", "updated_at"),
        "lines": await rows("SELECT * FROM lines ORDER BY order_id, seq", "seq"),
        "ledger": await rows("SELECT * FROM ledger ORDER BY seq", "seq", "recorded_at"),
        "rewards": await rows("SELECT * FROM rewards ORDER BY seq", "seq", "recorded_at"),
        "member_orders": await rows("SELECT * FROM member_orders ORDER BY member_id, order_id"),
        "member_stats": await rows("SELECT * FROM member_stats ORDER BY member_id"),
        "events": [
            (
                r["topic"],
                r["key"],
                Envelope.from_bytes(r["value"]).model_dump(exclude={"produced_at"}),
            )
            for r in outbox
        ],
        "inbox": sorted(r["message_id"] for r in await conn.fetch("SELECT message_id FROM inbox")),
    }


async def forget_everything(conn: asyncpg.Connection) -> None:
    await conn.execute(
        "TRUNCATE orders, lines, ledger, rewards, member_orders, member_stats, outbox, inbox"
    )


def published(snap: dict[str, list[Any]], topic: str) -> list[dict[str, Any]]:
    return [event for t, _, event in snap["events"] if t == topic]


async def test_the_batches_decide_what_the_pure_domain_decides(conn: asyncpg.Connection) -> None:
    events = scenario()
    await batched(conn, events)
    snap = await snapshot(conn)
    lifecycle_first = [
        *[e for e in events if e.type not in ATTRIBUTION_TYPES],
        *[e for e in events if e.type in ATTRIBUTION_TYPES],
    ]
    world = World(PROGRAMMES["aff"]).deliver_all(lifecycle_first)
    ledger = {(r["order_id"], r["entry_id"], r["kind"], r["amount"]) for r in snap["ledger"]}
    assert ledger == {(o, e, k, a) for o, e, _, k, a, _ in world.ledger_view()}
    rewards = {(r["order_id"], r["reward_id"], r["challenge_id"]) for r in snap["rewards"]}
    assert rewards == {(o, r, c) for o, r, _, c, _ in world.reward_view()}
    assert sorted(r["challenge_id"] for r in snap["rewards"] if r["member_id"] == "m-1") == [
        "big-basket",
        "big-basket",
        "big-basket",
        "first-order",
        "three-in-thirty",
    ]
    assert {(r["member_id"], r["order_count"]) for r in snap["member_stats"]} == {
        ("m-1", 3),
        ("m-2", 1),
    }
    granted = published(snap, topics.REWARDS)
    assert len(granted) == len(snap["rewards"])
    assert {e["causation_id"] for e in granted} <= {e.event_id for e in events}
    assert {e["correlation_id"] for e in granted} <= {f"chain:aff:o-{n}" for n in (0, 1, 2, 9)}
    keys = {key for t, key, _ in snap["events"] if t == topics.REWARDS_MEMBER_FACTS}
    assert keys == {b"aff:m-1", b"aff:m-2"}, "member facts are keyed by member"


async def test_a_batch_gives_what_its_records_one_at_a_time_give(conn: asyncpg.Connection) -> None:
    events = scenario()
    await one_at_a_time(conn, events)
    one_by_one = await snapshot(conn)
    await forget_everything(conn)
    await batched(conn, events)
    assert await snapshot(conn) == one_by_one


async def test_statements_per_batch_do_not_grow_with_the_batch(conn: asyncpg.Connection) -> None:
    await batched(conn, scenario())  # asyncpg looks up array and row types once per connection
    await forget_everything(conn)
    small = [*lifecycle_story("aff", "o-1", ["Sale"], T0), attributed("aff", "o-1", "m-1", T0)]
    # orders: claim, lock, load books, save books, append ledger, outbox (when it has any)
    # members: claim, load members, count orders, grant rewards, outbox
    assert await batched(conn, small) == [4, 6, 5]
    await forget_everything(conn)
    assert await batched(conn, scenario()) == [4, 6, 5]
    lifecycle, _ = split(scenario())
    assert await run(conn, ON_LIFECYCLE, lifecycle) == 1, "a batch of repeats stops at the inbox"


async def test_duplicates_inside_and_across_batches_have_one_effect_each(
    conn: asyncpg.Connection,
) -> None:
    events = scenario()
    lifecycle, attribution = split(events)
    await run(conn, ON_LIFECYCLE, lifecycle[:3])
    await run(conn, ON_LIFECYCLE, [*lifecycle[1:5], *lifecycle[1:5], *lifecycle])
    await run(conn, ON_ATTRIBUTION, [*attribution, *attribution])
    facts, last = await member_facts(conn)
    await run(conn, ON_MEMBER_FACTS, [*facts, *facts])
    await run(conn, ON_MEMBER_FACTS, facts)
    await run(conn, ON_LIFECYCLE, lifecycle)
    again, _ = await member_facts(conn, last)
    twice = await snapshot(conn)
    await forget_everything(conn)
    await batched(conn, events)
    assert again == [], "a redelivered input publishes no second member fact"
    assert twice == await snapshot(conn)
    ids = [e["event_id"] for e in published(twice, topics.COMMISSIONS)]
    assert len(ids) == len(set(ids)) == len(twice["ledger"])


async def test_two_orders_of_one_member_on_two_partitions_do_not_wait_for_each_other(
    conn: asyncpg.Connection, stack_env: dict[str, str]
) -> None:
    credits = [attributed("aff", o, "m-1", T0) for o in ("o-1", "o-2")]
    await run(conn, ON_ATTRIBUTION, order_records(topics.ORDERS_ATTRIBUTION, credits))
    other = await _connect(stack_env)
    try:
        async with conn.transaction():  # o-1's partition, its batch still open
            first = lifecycle_story("aff", "o-1", ["Sale"], T0)
            await ON_LIFECYCLE(conn, order_records(topics.ORDERS_LIFECYCLE, first))
            second = lifecycle_story("aff", "o-2", ["Sale"], T0 + timedelta(days=1))
            batch = order_records(topics.ORDERS_LIFECYCLE, second)
            await asyncio.wait_for(run(other, ON_LIFECYCLE, batch), timeout=10)
    finally:
        await other.close()
    facts, _ = await member_facts(conn)
    await run(conn, ON_MEMBER_FACTS, facts)
    rows = await conn.fetch("SELECT order_id, challenge_id FROM rewards ORDER BY seq")
    assert [r["challenge_id"] for r in rows].count("first-order") == 1
    assert await conn.fetchval("SELECT order_count FROM member_stats") == 2
    assert await conn.fetchval("SELECT count(*) FROM ledger WHERE kind = 'accrued'") == 2


async def test_the_approval_timer_fires_once_on_books_the_batches_wrote(
    conn: asyncpg.Connection,
) -> None:
    await batched(conn, scenario())
    now = T0 + timedelta(days=60)
    due = await store.due_approvals(conn, now, 100)
    assert {order_id for _, order_id, _, _ in due} == {"o-0", "o-2"}, "reversed lines have none"
    for tenant, order_id, line_id, due_at in due:
        async with conn.transaction():
            assert await handlers.fire_approval(conn, tenant, order_id, line_id, due_at, now)
    for tenant, order_id, line_id, due_at in due:
        async with conn.transaction():
            assert not await handlers.fire_approval(conn, tenant, order_id, line_id, due_at, now)
    assert await store.due_approvals(conn, now, 100) == []
    snap = await snapshot(conn)
    approved = [
        e for e in published(snap, topics.COMMISSIONS) if e["type"] == "commission.approved"
    ]
    assert sorted(e["order_id"] for e in approved) == ["o-0", "o-2"]
    assert all(e["correlation_id"].startswith("chain:aff:") for e in approved)


async def test_a_record_of_an_unknown_tenant_fails_its_batch_before_any_write(
    conn: asyncpg.Connection,
) -> None:
    stranger = attributed("aff", "o-1", "m-1", T0).model_copy(update={"tenant": "nobody"})
    batch = order_records(
        topics.ORDERS_ATTRIBUTION, [attributed("aff", "o-2", "m-1", T0), stranger]
    )
    with pytest.raises(Rejected, match="unknown tenant"):
        await run(conn, ON_ATTRIBUTION, batch)
    assert await conn.fetchval("SELECT count(*) FROM inbox") == 0
    await run(conn, ON_ATTRIBUTION, batch[:1])  # the runner's replay: the good record alone
    assert await conn.fetchval("SELECT count(*) FROM lines") == 1
