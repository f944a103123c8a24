"""attribution's batch handlers on a real connection to its schema, without a broker.

A partition batch is folded in memory and written with a fixed number of statements; what it
leaves behind (orders, touchpoints, inbox, outbox) must be exactly what handling its records
one at a time leaves behind, whatever the mix of reports, touchpoints and lifecycle events,
their order, and their repeats.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeAlias

import asyncpg
import pytest
from aiokafka import ConsumerRecord
from asyncpg.connection import LoggedQuery

from orderflow.services.attribution import handlers, store
from orderflow.services.attribution.app import MIGRATIONS, NAME
from orderflow.services.attribution.domain import SaleConfirmed
from orderflow.shared import topics
from orderflow.shared.db import SHARED_MIGRATIONS, migrate
from orderflow.shared.envelope import Envelope, stable_id
from orderflow.shared.errors import Rejected
from orderflow.shared.provision import role_name, schema_name
from orderflow.shared.runner import Handler
from orderflow.shared.settings import DatabaseSettings
from orderflow.shared.tenants import TenantRegistry, load_tenants
from orderflow.shared.vocabulary import Category
from tests.harness import blocked_on_lock, eventually
from tests.integration.attribution_inputs import (
    reported,
    status_changed,
    touched,
    write_attribution_tenants,
)

pytestmark = pytest.mark.integration
Record: TypeAlias = ConsumerRecord[bytes, bytes]
T = datetime(2026, 3, 1, 12, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def topic_of(event: Envelope) -> str:
    if event.type == "order.reported":
        return topics.ORDER_REPORTS
    if event.type == "touchpoint.recorded":
        return topics.TOUCHPOINTS_RECORDED
    return topics.ORDERS_LIFECYCLE


def handlers_for(tenants: TenantRegistry) -> dict[str, Handler]:
    return {
        topics.ORDER_REPORTS: partial(handlers.on_order_reported, tenants=tenants),
        topics.TOUCHPOINTS_RECORDED: partial(handlers.on_touchpoint, tenants=tenants),
        topics.ORDERS_LIFECYCLE: partial(handlers.on_lifecycle, tenants=tenants),
    }


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


@pytest.fixture
def handle(tmp_path: Path) -> dict[str, Handler]:
    return handlers_for(load_tenants(write_attribution_tenants(tmp_path / "tenants")))


def records(events: Sequence[Envelope]) -> list[Record]:
    return [
        ConsumerRecord(
            topic=topic_of(e),
            partition=0,
            offset=n,
            timestamp=0,
            timestamp_type=0,
            key=f"{e.tenant}:{e.order_id}".encode(),
            value=e.to_bytes(),
            checksum=None,
            serialized_key_size=0,
            serialized_value_size=0,
            headers=(),
        )
        for n, e in enumerate(events)
    ]


async def run_batch(
    conn: asyncpg.Connection, handle: dict[str, Handler], batch: Sequence[Envelope]
) -> int:
    """One partition batch in its own transaction, as the runner runs it; its statement count."""
    statements: list[str] = []

    def count(query: LoggedQuery) -> None:
        statements.append(query.query)

    async with conn.transaction():
        conn.add_query_logger(count)
        try:
            await handle[topic_of(batch[0])](conn, records(batch))
        finally:
            conn.remove_query_logger(count)
    return len(statements)


def batches(stream: Sequence[Envelope], size: int) -> list[list[Envelope]]:
    """Up to `size` consecutive inputs at a time, split by topic (a batch is one partition's)."""
    out: list[list[Envelope]] = []
    for start in range(0, len(stream), size):
        window = stream[start : start + size]
        for topic in dict.fromkeys(topic_of(e) for e in window):
            out.append([e for e in window if topic_of(e) == topic])
    return out


async def snapshot(conn: asyncpg.Connection) -> dict[str, list[Any]]:
    """Everything attribution wrote, its wall-clock columns aside."""
    orders = await conn.fetch("SELECT * FROM orders ORDER BY tenant, order_id")
    touches = await conn.fetch("SELECT * FROM touchpoints ORDER BY tenant, touchpoint_id")
    outbox = await conn.fetch("SELECT topic, key, value FROM outbox ORDER BY id")
    return {
        "orders": [{k: v for k, v in r.items() if k != "updated_at"} for r in orders],
        "touchpoints": [{k: v for k, v in r.items() if k != "recorded_at"} for r in touches],
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
    await conn.execute("TRUNCATE orders, touchpoints, outbox, inbox")


async def one_by_one_and_batched(
    conn: asyncpg.Connection, handle: dict[str, Handler], groups: Sequence[Sequence[Envelope]]
) -> tuple[dict[str, list[Any]], dict[str, list[Any]]]:
    for event in [e for group in groups for e in group]:
        await run_batch(conn, handle, [event])
    one_by_one = await snapshot(conn)
    await forget_everything(conn)
    for group in groups:
        await run_batch(conn, handle, group)
    batched = await snapshot(conn)
    await forget_everything(conn)
    return one_by_one, batched


tp1 = touched("tp-1", "aff-a", "c-1", T - 3 * DAY)
tp2 = touched("tp-2", "aff-b", "c-1", T - DAY)
r1 = reported("o-1", "Pending", T, customer="c-1")
r2 = reported("o-2", "Pending", T + HOUR, customer="c-1")
r3 = reported("o-3", "Pending", T, contributors=[("m-3", "coupon")])
tp3 = touched("tp-3", "aff-c", "c-1", T - 2 * HOUR)
ok2 = status_changed("o-2", "OK", Category.CONFIRMED, T + 2 * HOUR)
tp4 = touched("tp-4", "aff-d", "c-1", T - HOUR)
tp9 = touched("tp-9", "aff-i", "c-1", T - HOUR / 2)
tp5 = touched("tp-5", "aff-e", "c-9", T - DAY, order_id="o-4")  # before its order's report
r4 = reported("o-4", "Pending", T)
r1_earlier = reported("o-1", "Pending", T - 2 * DAY)  # moves o-1's window back
tp6 = touched("tp-6", "aff-f", "c-2", T - DAY)
tp7 = touched("tp-7", "aff-g", "c-3", T - 5 * DAY)
r5 = reported("o-5", "Pending", T, customer="c-2")
r5_earlier = reported("o-5", "Pending", T - HOUR, customer="c-3")  # o-5's customer is c-3
dup3 = status_changed("o-3", "Duplicate", Category.DUPLICATE, T + DAY)
ok6 = status_changed("o-6", "OK", Category.CONFIRMED, T + HOUR)  # before its order's report
r6 = reported("o-6", "OK", T, Category.CONFIRMED, customer="c-2")
r2_named = reported("o-2", "Pending", T + 3 * HOUR, contributors=[("m-2", "affiliation")])
x1 = reported("x-1", "Open", T, tenant="crm", customer="c-1")  # c-1 of another tenant
tpx = touched("tp-x", "aff-x", "c-1", T - 50 * DAY, tenant="crm")
tp8 = touched("tp-8", "aff-h", "c-2", T - 2 * HOUR)
# The same touchpoint under another event id (sent twice to ingest): stored once.
tp2_again = tp2.model_copy(update={"event_id": stable_id("again", tp2.event_id)})

STREAM = [
    [tp1, tp2],
    [r1, r2, r3, r1],
    [tp3, tp3],
    [ok2, ok2],
    [tp4, tp9, tp5],
    [r4, r1_earlier],
    [tp6, tp7],
    [r5, r5_earlier],
    [dup3, ok6],
    [r6, r2_named, x1],
    [tp8, tpx, tp2_again, tp6],
]


async def test_a_mixed_stream_in_batches_gives_what_one_by_one_handling_gives(
    conn: asyncpg.Connection, handle: dict[str, Handler]
) -> None:
    one_by_one, batched = await one_by_one_and_batched(conn, handle, STREAM)
    assert batched == one_by_one
    credits = {
        r["order_id"]: sorted((c["member_id"], c["model"]) for c in json.loads(r["credits"]))
        for r in batched["orders"]
    }
    assert credits == {
        "o-1": [("aff-a", "last_touch")],  # tp-4 then tp-9 in one batch, then the window moved
        "o-2": [("aff-c", "last_touch"), ("m-2", "explicit")],  # fixed by Has OK, then named
        "o-3": [],
        "o-4": [("aff-e", "last_touch")],
        "o-5": [("aff-g", "last_touch")],
        "o-6": [("aff-f", "last_touch")],
        "x-1": [("aff-x", "last_touch")],
    }
    events = [
        (e["type"], e["order_id"], e["data"].get("touchpoint_id")) for _, _, e in batched["events"]
    ]
    assert [e for e in events if e[1] == "o-1"] == [
        ("order.attributed", "o-1", "tp-2"),
        ("order.attribution_voided", "o-1", "tp-2"),
        ("order.attributed", "o-1", "tp-3"),
        ("order.attribution_voided", "o-1", "tp-3"),
        ("order.attributed", "o-1", "tp-4"),
        ("order.attribution_voided", "o-1", "tp-4"),
        ("order.attributed", "o-1", "tp-9"),
        ("order.attribution_voided", "o-1", "tp-9"),
        ("order.attributed", "o-1", "tp-1"),
    ]
    assert [e for e in events if e[1] == "o-5"] == [
        ("order.attributed", "o-5", "tp-6"),
        ("order.attribution_voided", "o-5", "tp-6"),
        ("order.attributed", "o-5", "tp-7"),
    ]
    assert len(events) == 21 and len({e["event_id"] for _, _, e in batched["events"]}) == 21
    assert len(batched["touchpoints"]) == 10 and len(batched["inbox"]) == 24


@pytest.mark.parametrize("seed", range(6))
async def test_any_order_of_inputs_in_batches_gives_what_one_by_one_handling_gives(
    conn: asyncpg.Connection, handle: dict[str, Handler], seed: int
) -> None:
    stream = [e for group in STREAM for e in group]
    random.Random(seed).shuffle(stream)
    groups = batches(stream, size=[5, 9, 40][seed % 3])
    one_by_one, batched = await one_by_one_and_batched(conn, handle, groups)
    assert batched == one_by_one
    assert batched["events"], "the inputs credit someone in any order"


async def test_a_batch_costs_the_same_statements_whatever_its_size(
    conn: asyncpg.Connection, handle: dict[str, Handler]
) -> None:
    async def cost(before: Sequence[Envelope], batch: Sequence[Envelope]) -> int:
        await run_batch(conn, handle, before)
        statements = await run_batch(conn, handle, batch)
        await forget_everything(conn)
        return statements

    ok1 = status_changed("o-1", "OK", Category.CONFIRMED, T + HOUR)
    orders, touches = [r1, r2, r3, r5], [tp1, tp2, tp6, tp7]
    await cost(orders, [tp1, tp5])  # asyncpg looks up the array types once per connection
    await cost(touches, [r1])
    await cost(orders, [dup3])
    costs = {
        "touchpoints": (
            await cost(orders, [tp3]),
            await cost(orders, [tp3, tp4, tp9, tp5, tp6, tp8, tp3]),
        ),
        "reports": (
            await cost(touches, [r1]),
            await cost(touches, [r1, r2, r3, r5, r5_earlier, r1_earlier, r1]),
        ),
        "lifecycle": (await cost(orders, [dup3]), await cost(orders, [ok2, dup3, ok6, ok1, ok2])),
    }
    # touchpoints: claim, lock customers, store touchpoints, orders in their windows, lock
    # orders, load orders, load touchpoints, save orders, outbox; reports: claim, read the
    # customers, lock, load orders, load touchpoints, save, outbox; lifecycle: no customer.
    assert costs == {"touchpoints": (9, 9), "reports": (7, 7), "lifecycle": (6, 6)}
    await run_batch(conn, handle, [r1])
    assert await run_batch(conn, handle, [r1, r1]) == 1, "a batch of repeats stops at the inbox"


async def test_a_record_that_can_never_succeed_fails_the_batch_before_any_write(
    conn: asyncpg.Connection, handle: dict[str, Handler]
) -> None:
    unknown = touched("tp-u", "aff-u", "c-1", T, tenant="nobody")
    with pytest.raises(Rejected):
        await run_batch(conn, handle, [tp1, unknown, tp2])
    assert await snapshot(conn) == {"orders": [], "touchpoints": [], "events": [], "inbox": []}
    await run_batch(conn, handle, [tp1])  # the runner then replays the others alone
    with pytest.raises(Rejected):
        await run_batch(conn, handle, [unknown])


@pytest.mark.parametrize("first", ["touchpoint", "report"])
async def test_a_touchpoint_and_a_report_of_one_customer_see_each_other(
    conn: asyncpg.Connection,
    handle: dict[str, Handler],
    stack_env: dict[str, str],
    db: asyncpg.Connection,
    first: str,
) -> None:
    """Whichever batch takes the customer first, the other waits for it and sees its work,
    so the credit is given whatever the interleaving (without the customer lock, each would
    miss the other's uncommitted row and nobody would be credited)."""
    held, waiting = ([tp2], [r1]) if first == "touchpoint" else ([r1], [tp2])
    other = await _connect(stack_env)
    try:
        async with other.transaction():
            await handle[topic_of(held[0])](other, records(held))
            batch = asyncio.create_task(run_batch(conn, handle, waiting))
            holder = other.get_server_pid()
            await eventually(
                lambda: blocked_on_lock(db, role_name(NAME), holder), "the batch waits"
            )
            assert not batch.done()
        await batch
    finally:
        await other.close()
    events = (await snapshot(conn))["events"]
    assert [(e["type"], e["data"]["touchpoint_id"]) for _, _, e in events] == [
        ("order.attributed", "tp-2")
    ]


async def test_a_sale_confirmation_and_a_batch_take_turns_on_an_order(
    conn: asyncpg.Connection,
    handle: dict[str, Handler],
    stack_env: dict[str, str],
    db: asyncpg.Connection,
) -> None:
    await run_batch(conn, handle, [r3])
    http = await _connect(stack_env)
    try:
        async with http.transaction():  # what POST …/sale-confirmation does
            found = await store.lock_existing(http, "shop", "o-3")
            assert found is not None
            state, correlation = found
            confirmed = SaleConfirmed(None, T + DAY)
            await handlers.settle(
                http, "shop", state, confirmed, 30 * DAY, "http", correlation or ""
            )
            batch = asyncio.create_task(run_batch(conn, handle, [dup3]))
            holder = http.get_server_pid()
            await eventually(
                lambda: blocked_on_lock(db, role_name(NAME), holder), "the batch waits"
            )
            assert not batch.done()
        await batch
    finally:
        await http.close()
    after = await snapshot(conn)
    [order] = after["orders"]
    assert order["confirmed_at"] == confirmed.occurred_at and order["duplicate"]
    assert [(e["type"], e["data"].get("confirmed")) for _, _, e in after["events"]] == [
        ("order.attributed", False),
        ("order.attributed", True),
        ("order.attribution_voided", None),
    ]
