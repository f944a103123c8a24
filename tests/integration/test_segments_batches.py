"""Customers and segments in rewards' handler layer, on a real connection, without a broker.

The `order.confirmed` step, the durable timer's step and the rebuild are called as the
service calls them, each in its own transaction; what they wrote is read back from the schema
and the outbox (segments.v1 rows, keyed `<tenant>:<customer_id>`).
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial

import asyncpg
import pytest

from orderflow.services.rewards import customer_handlers, customer_store
from orderflow.services.rewards.customers import Customer, Move, members
from orderflow.services.rewards.segment_conditions import CustomerStats
from orderflow.services.rewards.segment_diff import rebuild_segment
from orderflow.services.rewards.segment_messages import move_envelope
from orderflow.services.rewards.segment_rebuild import rebuild_tenant
from orderflow.shared import topics
from orderflow.shared.envelope import Envelope
from orderflow.shared.tenant_segments import Segment, SegmentWhen
from tests.batch_support import connect_service, counting, records
from tests.segments_support import confirmed, segments

pytestmark = pytest.mark.integration
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SEGMENTS = {"seg": segments("90d"), "segb": segments("90d")}


@pytest.fixture
async def conn(stack_env: dict[str, str]) -> AsyncIterator[asyncpg.Connection]:
    connection = await connect_service(stack_env, "rewards")
    try:
        yield connection
    finally:
        await connection.close()


async def confirm(conn: asyncpg.Connection, events: Sequence[Envelope], now: datetime = NOW) -> int:
    batch = records(
        topics.ORDERS_LIFECYCLE,
        [(f"{e.tenant}:{e.order_id}".encode(), e.to_bytes()) for e in events],
    )
    step = partial(customer_handlers.on_confirmed, segments=SEGMENTS, clock=lambda: now)
    with counting(conn) as statements:
        async with conn.transaction():
            await step(conn, batch)
    return await statements.count()


async def moves(conn: asyncpg.Connection) -> list[tuple[str, str, str, str]]:
    rows = await conn.fetch(
        "SELECT key, value FROM outbox WHERE topic = $1 ORDER BY id", topics.SEGMENTS
    )
    found = []
    for row in rows:
        event = Envelope.from_bytes(row["value"])
        found.append(
            (
                row["key"].decode(),
                event.type.rsplit("_", 1)[1],
                event.data["segment_id"],
                event.data["customer_id"],
            )
        )
    return found


async def test_confirmations_count_once_into_statistics_and_move_customers_into_segments(
    conn: asyncpg.Connection,
) -> None:
    first = confirmed("seg", "o-1", "c-1", NOW - 3 * DAY, "200.00")
    events = [
        first,
        first,  # redelivered inside the batch
        confirmed("seg", "o-2", "c-1", NOW - 2 * DAY, "200.00"),
        confirmed("seg", "o-3", "c-1", NOW - 100 * DAY, "150.00"),
        confirmed("seg", "o-4", "c-1", NOW - DAY, "9.99", "USD"),
        confirmed("seg", "o-5", "c-2", NOW - 200 * DAY, None),
        confirmed("segb", "o-1", "c-1", NOW - DAY, "1.00"),  # another tenant, same ids
        confirmed("seg", "o-6", None, NOW),  # no customer: nobody's statistics
    ]
    await confirm(conn, events)
    again = first.model_copy(update={"event_id": "another-event-of-the-same-order"})
    await confirm(conn, [again, *events])  # every effect already there
    rows = await conn.fetch("SELECT * FROM customers ORDER BY tenant, customer_id")
    got = {
        (r["tenant"], r["customer_id"]): (
            r["orders_count"],
            r["spent"],
            r["first_purchase_at"],
            r["last_purchase_at"],
        )
        for r in rows
    }
    assert got == {
        ("seg", "c-1"): (4, '{"EUR": "550.00", "USD": "9.99"}', NOW - 100 * DAY, NOW - DAY),
        ("seg", "c-2"): (1, "{}", NOW - 200 * DAY, NOW - 200 * DAY),
        ("segb", "c-1"): (1, '{"EUR": "1.00"}', NOW - DAY, NOW - DAY),
    }
    assert sorted(await moves(conn)) == sorted([
        ("seg:c-1", "entered", "big-spenders", "c-1"),
        ("seg:c-1", "entered", "loyal", "c-1"),
        ("seg:c-1", "entered", "recent", "c-1"),
        ("seg:c-2", "entered", "lapsed", "c-2"),
        ("seg:c-2", "entered", "one-timer", "c-2"),
        ("segb:c-1", "entered", "one-timer", ["segb", "c-1"][1]),
        ("segb:c-1", "entered", "recent", "c-1"),
    ])  # fmt: skip
    due = await conn.fetchval(
        "SELECT segments_due_at FROM customers WHERE tenant = 'seg' AND customer_id = 'c-1'"
    )
    assert due == NOW - DAY + 90 * DAY


async def test_the_step_is_set_based_its_statements_do_not_grow_with_the_batch(
    conn: asyncpg.Connection,
) -> None:
    one = await confirm(conn, [confirmed("seg", "o-0", "c-0", NOW)])
    many = await confirm(
        conn, [confirmed("seg", f"o-{n}", f"c-{n % 7}", NOW) for n in range(1, 60)]
    )
    assert many == one


async def test_a_due_timer_moves_the_customer_on_its_own_once(conn: asyncpg.Connection) -> None:
    await confirm(conn, [confirmed("seg", "o-1", "c-1", NOW - 10 * DAY)])
    before = await moves(conn)
    due_at = NOW + 80 * DAY
    assert await customer_store.due(conn, due_at - timedelta(microseconds=1), 10) == []
    keys = await customer_store.due(conn, due_at, 10)
    assert keys == [("seg", "c-1")]
    async with conn.transaction():
        assert await customer_handlers.fire_due(conn, keys, SEGMENTS, due_at) == 1
    async with conn.transaction():  # a second replica with the same keys: already moved on
        assert await customer_handlers.fire_due(conn, keys, SEGMENTS, due_at) == 0
    assert (await moves(conn))[len(before) :] == [
        ("seg:c-1", "entered", "lapsed", "c-1"),
        ("seg:c-1", "left", "recent", "c-1"),
    ]
    assert await customer_store.due(conn, NOW + 10_000 * DAY, 10) == []


async def test_a_changed_definition_is_rebuilt_emitting_only_the_differences(
    conn: asyncpg.Connection,
) -> None:
    events = [confirmed("seg", f"o-{n}", f"c-{n % 3}", NOW - n * DAY) for n in range(7)]
    await confirm(conn, events)  # c-0: 3 orders, c-1: 2, c-2: 2
    live = len(await moves(conn))
    async with conn.transaction():
        assert await rebuild_tenant(conn, "seg", SEGMENTS["seg"], NOW) == 0  # SQL agrees with live
    changed = tuple(
        Segment(id="loyal", when=SegmentWhen(min_orders=2)) if s.id == "loyal" else s
        for s in SEGMENTS["seg"]
        if s.id != "one-timer"
    )
    async with conn.transaction():
        assert await rebuild_tenant(conn, "seg", changed, NOW) == 2
    async with conn.transaction():
        assert await rebuild_tenant(conn, "seg", changed, NOW) == 0  # hashes are current
    assert sorted((await moves(conn))[live:]) == [
        ("seg:c-1", "entered", "loyal", "c-1"),
        ("seg:c-2", "entered", "loyal", "c-2"),
    ]  # one-timer had no members left to lose (nobody has a single order)
    # The rebuild writes its envelopes in SQL: each is the one the live step would write.
    row = await conn.fetchrow(
        "SELECT event_id, value FROM outbox WHERE topic = $1 ORDER BY id DESC LIMIT 1",
        topics.SEGMENTS,
    )
    written = Envelope.from_bytes(row["value"])
    cause = "segment-rebuild:seg:loyal:2"
    expected = move_envelope("seg", Move("c-2", "loyal", True), NOW, cause, cause)
    assert written.event_id == row["event_id"] and written.occurred_at == NOW
    ignored = {"event_id", "produced_at"}
    assert written.model_dump(exclude=ignored) == expected.model_dump(exclude=ignored)


async def test_the_sql_twin_of_every_condition_agrees_with_the_pure_one(
    conn: asyncpg.Connection,
) -> None:
    rng = random.Random(11)
    seeded = []
    for n in range(120):
        count = rng.randint(1, 6)
        spent = {"EUR": Decimal(rng.randint(0, 90_000)) / 100} if rng.random() < 0.8 else {}
        last = NOW - timedelta(hours=rng.randint(-24, 24 * 200))
        seeded.append(Customer("seg", f"c-{n}", CustomerStats(count, spent, last - DAY, last)))
    async with conn.transaction():
        await customer_store.save(conn, seeded)
    for index in range(40):
        when: dict[str, object] = {}
        for name, value in [
            ("min_orders", rng.randint(0, 6)), ("max_orders", rng.randint(0, 6)),
            ("min_spent", {"amount": str(rng.randint(0, 900)), "currency": "EUR"}),
            ("last_purchase_within", timedelta(hours=rng.randint(1, 24 * 200))),
            ("no_purchase_within", timedelta(hours=rng.randint(1, 24 * 200))),
        ]:  # fmt: skip
            if rng.random() < 0.4:
                when[name] = value
        segment = Segment(
            id=f"s-{index}", when=SegmentWhen.model_validate(when or {"min_orders": 1})
        )
        async with conn.transaction():
            await rebuild_segment(conn, "seg", segment.id, segment.when, NOW, f"cause-{index}")
        rows = await conn.fetch(
            "SELECT customer_id FROM segment_members WHERE segment_id = $1", segment.id
        )
        entered = {r["customer_id"] for r in rows}
        expected = {c.customer_id for c in seeded if segment.id in members([segment], c.stats, NOW)}
        assert entered == expected, segment


async def test_a_member_fact_carries_its_order_customer_segments_at_confirmation(
    conn: asyncpg.Connection,
) -> None:
    from orderflow.services.rewards.entries import CountedOrder, Programme
    from orderflow.services.rewards.folds import MemberInput
    from tests.segments_support import config

    await confirm(conn, [confirmed("seg", f"o-{n}", "c-1", NOW - n * DAY) for n in range(2)])
    await confirm(conn, [confirmed("seg", "o-2", "c-1", NOW - 2 * DAY)])  # the third: loyal
    extra = "challenges: [{id: loyal-order, when: {segment_in: [loyal]}, reward: {points: 5}}]\n"
    programmes = {"seg": Programme.of(config(extra=extra))}

    def fact(order_id: str) -> MemberInput:
        return MemberInput(CountedOrder("seg", "m-1", order_id, NOW, None, None), "chain")

    found = await customer_handlers.with_customer_segments(
        conn, [fact("o-0"), fact("o-2"), fact("o-unknown")], programmes
    )
    assert [sorted(i.order.customer_segments) for i in found] == [
        ["one-timer", "recent"],
        ["loyal", "recent"],
        [],
    ]  # o-0 and o-1 counted in one batch, each judged right after it counted; o-2 the third
