"""The tracker's batch handler on a real connection to its schema, without a broker.

A partition batch is folded in memory and written with a fixed number of statements; what
it leaves behind (states, histories, outbox) must be exactly what handling its records one
at a time leaves behind.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, TypeAlias

import asyncpg
import pytest
from aiokafka import ConsumerRecord
from asyncpg.connection import LoggedQuery

from orderflow.services.status_tracker import handlers, store
from orderflow.services.status_tracker.app import MIGRATIONS, NAME, starts_payment_expiry
from orderflow.services.status_tracker.domain import ExpiryRule
from orderflow.shared.db import SHARED_MIGRATIONS, migrate
from orderflow.shared.envelope import Envelope, new_event
from orderflow.shared.provision import role_name, schema_name
from orderflow.shared.settings import DatabaseSettings
from tests.harness import blocked_on_lock, eventually

pytestmark = pytest.mark.integration
T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
RULES = {"shop": ExpiryRule(starts_payment_expiry, timedelta(hours=1))}
handle = partial(handlers.on_order_reported, rules=RULES)
Record: TypeAlias = ConsumerRecord[bytes, bytes]


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


def reported(
    order_id: str, status: str, category: str | None, hours: float, **data: Any
) -> Envelope:
    report_id = data.pop("report_id", f"{order_id}:{status}:{hours}")
    return new_event(
        type="order.reported",
        tenant="shop",
        order_id=order_id,
        occurred_at=T0 + timedelta(hours=hours),
        causation_id=f"{report_id}:{data.pop('delivery', 0)}",
        correlation_id=report_id,
        data={
            "report_id": report_id,
            "status": status,
            "category": category,
            "source": "api",
            "received_at": (T0 + timedelta(days=1)).isoformat(),
            **data,
        },
    )


def records(events: Sequence[Envelope], first_offset: int = 0) -> list[Record]:
    return [
        ConsumerRecord(
            topic="ingest.reports.v1",
            partition=0,
            offset=first_offset + n,
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


async def run_batch(conn: asyncpg.Connection, batch: Sequence[Record]) -> int:
    """Handle one batch in its own transaction, as the runner does; how many statements ran."""
    statements: list[str] = []

    def count(query: LoggedQuery) -> None:
        statements.append(query.query)

    async with conn.transaction():
        conn.add_query_logger(count)
        try:
            await handle(conn, batch)
        finally:
            conn.remove_query_logger(count)
    return len(statements)


async def snapshot(conn: asyncpg.Connection) -> dict[str, list[Any]]:
    """Everything the tracker wrote, produced_at and updated_at (wall clock) aside."""
    orders = await conn.fetch("SELECT * FROM orders ORDER BY tenant, order_id")
    history = await conn.fetch("SELECT * FROM history ORDER BY tenant, order_id, report_id")
    outbox = await conn.fetch("SELECT topic, key, value FROM outbox ORDER BY id")
    return {
        "orders": [{k: v for k, v in r.items() if k != "updated_at"} for r in orders],
        "history": [dict(r) for r in history],
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
    await conn.execute("TRUNCATE orders, history, outbox, inbox")


MIXED = [
    reported("o-2", "Pending payment", "pending", 1),
    reported("o-1", "Sent", "fulfilled", 3),
    reported("o-3", "OK", "confirmed", 2, amount="25.00", currency="EUR"),
    reported("o-1", "Pending", "pending", 1, customer={"id": "c-1"}),
    reported("o-2", "Mystery", None, 1.5),
    reported("o-1", "OK", "confirmed", 2, amount="10.00", currency="EUR"),
    reported("o-2", "Refund", "refunded", 4),
    reported("o-1", "OK", "confirmed", 2, amount="10.00", currency="EUR", delivery=1),
    reported("o-2", "OK", "confirmed", 2),
]


async def test_a_batch_gives_what_handling_its_records_one_at_a_time_gives(
    conn: asyncpg.Connection,
) -> None:
    for record in records(MIXED):
        await run_batch(conn, [record])
    one_by_one = await snapshot(conn)
    await forget_everything(conn)
    await run_batch(conn, records(MIXED))
    batched = await snapshot(conn)
    assert batched == one_by_one
    states = {r["order_id"]: r for r in batched["orders"]}
    assert (states["o-1"]["status"], states["o-1"]["has_ok"]) == ("Sent", True)
    assert states["o-2"]["status"] == "Refund" and states["o-2"]["reversed_emitted"]
    assert len(batched["history"]) == 8, "the OK sent twice under two event ids is one report"
    types = [e[2]["type"] for e in batched["events"]]
    assert types.count("order.confirmed") == 3 and types.count("order.reversed") == 1


async def test_a_batch_costs_fifteen_statements_whatever_its_size(
    conn: asyncpg.Connection,
) -> None:
    await run_batch(conn, records(MIXED))  # asyncpg looks up the array types once per connection
    await forget_everything(conn)
    one = await run_batch(conn, records(MIXED[:1]))
    repeated = await run_batch(conn, records(MIXED[:1]))
    await forget_everything(conn)
    nine = await run_batch(conn, records(MIXED))
    # claim, lock, load states, load histories, append history, upsert states, outbox, and
    # the read model's views, details and lines (delete, insert), the payments hook's
    # payment reports, payments and payment totals, and the recurring orders the reports
    # announce or start (one)
    assert (one, nine) == (15, 15)
    assert repeated == 1, "a batch of repeats stops at the inbox"


async def test_duplicates_inside_and_across_batches_have_one_effect_each(
    conn: asyncpg.Connection,
) -> None:
    a, b, c, d = MIXED[3], MIXED[5], MIXED[2], MIXED[6]
    await run_batch(conn, records([a, b]))
    await run_batch(conn, records([a, c, c, d, b], first_offset=2))
    await run_batch(conn, records([d, c], first_offset=7))
    twice = await snapshot(conn)
    await forget_everything(conn)
    for event in (a, b, c, d):
        await run_batch(conn, records([event]))
    assert twice == await snapshot(conn)
    assert len(twice["inbox"]) == 4 and len(twice["history"]) == 4
    assert len({e[2]["event_id"] for e in twice["events"]}) == len(twice["events"])


async def test_has_ok_is_decided_by_occurred_at_across_batches(conn: asyncpg.Connection) -> None:
    async def state() -> asyncpg.Record:
        row = await conn.fetchrow("SELECT * FROM orders WHERE order_id = 'o-9'")
        assert row is not None
        return row

    async def event_types() -> list[str]:
        rows = await conn.fetch("SELECT value FROM outbox ORDER BY id")
        return [Envelope.from_bytes(r["value"]).type for r in rows]

    await run_batch(
        conn,
        records(
            [reported("o-9", "Refund", "refunded", 3), reported("o-9", "Pending", "pending", 0)]
        ),
    )
    assert not (await state())["has_ok"] and "order.confirmed" not in await event_types()
    await run_batch(conn, records([reported("o-9", "OK", "confirmed", 1)], first_offset=2))
    row = await state()
    assert (row["status"], row["has_ok"], row["reversed_emitted"]) == ("Refund", True, True)
    assert (await event_types())[-2:] == ["order.confirmed", "order.reversed"]
    await run_batch(conn, records([reported("o-9", "Mystery", None, 0.5)], first_offset=3))
    row = await state()
    assert (row["status"], row["has_ok"]) == ("Refund", True), "an earlier report changes nothing"
    assert (await event_types()).count("order.confirmed") == 1


async def test_the_expiry_timer_and_a_batch_take_turns_on_an_order(
    conn: asyncpg.Connection, stack_env: dict[str, str], db: asyncpg.Connection
) -> None:
    await run_batch(conn, records([reported("o-7", "Pending payment", "pending", 0)]))
    [(tenant, order_id, due_at)] = await store.due_timers(conn, T0 + timedelta(days=2), 10)
    timer = await _connect(stack_env)
    try:
        async with timer.transaction():
            now = T0 + timedelta(days=2)
            assert await handlers.fire_expiry(timer, tenant, order_id, due_at, now, RULES["shop"])
            late_ok = reported("o-7", "OK", "confirmed", 2)
            batch = asyncio.create_task(run_batch(conn, records([late_ok], first_offset=1)))
            await eventually(
                lambda: blocked_on_lock(db, role_name(NAME), timer.get_server_pid()),
                "the batch waits",
            )
            assert not batch.done()
        await batch
        async with timer.transaction():
            fired_again = await handlers.fire_expiry(
                timer, tenant, order_id, due_at, now, RULES["shop"]
            )
    finally:
        await timer.close()
    assert not fired_again, "a timer fires once"
    rows = await conn.fetch("SELECT value FROM outbox ORDER BY id")
    events = [Envelope.from_bytes(r["value"]) for r in rows]
    assert [e.type for e in events].count("order.expired") == 1
    [late] = [e for e in events if e.type == "order.status_changed" and e.data["status"] == "OK"]
    assert late.data["previous_status"] == "Expired", "the batch saw the timer's commit"
