"""ingest's batch handlers on a real connection (no broker), then isolation on the real broker.

A batch of reports or touchpoints, with duplicates and orders mixed, stores each identity
once, enqueues one event each, answers the same ids and duplicate count, and leaves the
same rows as the same input handled one at a time, in a fixed number of statements.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, NamedTuple

import asyncpg
import pytest

from orderflow.services.ingest import handlers
from orderflow.services.ingest.reports import parse_report_batch, parse_touchpoint_batch
from orderflow.shared import topics
from orderflow.shared.envelope import Envelope
from orderflow.shared.errors import Rejected
from orderflow.shared.tenants import TenantRegistry, load_tenants
from tests.batch_support import connect_service, counting, records
from tests.harness import TopicReader, producer, report, running, tenant_env, write_tenants

pytestmark = pytest.mark.integration

REPORTS = [
    report("o-1", "Pending", "2026-01-01T10:00:00Z"),
    report("o-2", "OK", "2026-01-01T10:00:00Z", amount="5.00", currency="EUR"),
    report("o-1", "OK", "2026-01-01T11:00:00Z"),
    report("o-1", "Pending", "2026-01-01T11:00:00+01:00"),  # the first one's instant: a repeat
    report("o-2", "OK", "2026-01-01T10:00:00Z", amount="5.00", currency="EUR"),
    report("o-3", "Whatever", "2026-01-01T10:00:00Z", report_id="r-1"),  # unmapped status
    report("o-3", "Cancelled", "2026-01-01T12:00:00Z", report_id="r-1"),  # same upstream id
]
TOUCHPOINTS = [
    {"tenant": "shop", "touchpoint_id": tp, "member_id": "m-1", "kind": "click"}
    | {"customer_id": customer, "occurred_at": "2026-01-01T10:00:00Z"}
    for tp, customer in [("t-1", "c-1"), ("t-2", "c-2"), ("t-1", "c-1"), ("t-3", "c-1")]
]
Snapshot = tuple[list[tuple[Any, ...]], list["Written"]]


@pytest.fixture
async def conn(stack_env: dict[str, str]) -> AsyncIterator[asyncpg.Connection]:
    connection = await connect_service(stack_env, "ingest")
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
def tenants_dir(tmp_path: Path) -> Path:
    return write_tenants(tmp_path / "tenants")


@pytest.fixture
def tenants(tenants_dir: Path) -> TenantRegistry:
    return load_tenants(tenants_dir, env=tenant_env())


class Written(NamedTuple):
    """An outbox row, without the times of arrival and production."""

    topic: str
    key: bytes
    event_id: str
    type: str
    order_id: str | None
    data: dict[str, Any]


def _written(row: asyncpg.Record) -> Written:
    event = Envelope.from_bytes(row["value"])
    data = {k: v for k, v in event.data.items() if k != "received_at"}
    return Written(row["topic"], row["key"], event.event_id, event.type, event.order_id, data)


async def _snapshot(conn: asyncpg.Connection, table: str) -> Snapshot:
    """The stored rows (but the arrival time) and the outbox, in the order written."""
    rows = await conn.fetch(f"SELECT * FROM {table} ORDER BY 1")  # by identity
    stored = [tuple(v for k, v in r.items() if k != "received_at") for r in rows]
    outbox = await conn.fetch("SELECT topic, key, value FROM outbox ORDER BY id")
    return stored, [_written(r) for r in outbox]


async def _rolled_back(
    conn: asyncpg.Connection, table: str, work: Callable[[], Awaitable[Any]]
) -> tuple[Any, Snapshot]:
    """What `work` answers and leaves behind, undone afterwards so the next run starts empty."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        answer = await work()
        return answer, await _snapshot(conn, table)
    finally:
        await transaction.rollback()


async def test_a_batch_stores_each_report_once_with_one_event_and_answers_as_one_by_one(
    conn: asyncpg.Connection, tenants: TenantRegistry
) -> None:
    reports = parse_report_batch(REPORTS)

    async def batch() -> tuple[handlers.Accepted, handlers.Accepted]:
        first = await handlers.accept_reports(conn, tenants, reports, "http")
        return first, await handlers.accept_reports(conn, tenants, reports, "http")

    async def one_by_one() -> list[handlers.Accepted]:
        return [await handlers.accept_reports(conn, tenants, [r], "http") for r in reports]

    (answer, again), (stored, events) = await _rolled_back(conn, "reports", batch)
    singles, expected = await _rolled_back(conn, "reports", one_by_one)
    assert answer.ids == [a.ids[0] for a in singles], "the same stable ids, in request order"
    assert answer.ids[0] == answer.ids[3] and answer.ids[5] == answer.ids[6]
    assert answer.duplicates == sum(a.duplicates for a in singles) == 3
    assert (again.ids, again.duplicates) == (answer.ids, 7), "a re-sent batch is all duplicates"
    assert [(e.key, e.order_id, e.data["status"]) for e in events] == [
        (b"shop:o-1", "o-1", "Pending"),
        (b"shop:o-2", "o-2", "OK"),
        (b"shop:o-1", "o-1", "OK"),
        (b"shop:o-3", "o-3", "Whatever"),
    ]
    assert {e.topic for e in events} == {topics.ORDER_REPORTS}
    assert events[3].data["category"] is None, "an unmapped status has no category"
    assert (stored, events) == expected, "the same rows and events as one report at a time"


async def test_kafka_batch_is_one_insert_and_one_enqueue_and_equals_one_record_at_a_time(
    conn: asyncpg.Connection, tenants: TenantRegistry
) -> None:
    batch = records(
        topics.ORDERS_INBOUND,
        [(f"shop:{r['order_id']}".encode(), json.dumps(r).encode()) for r in REPORTS],
    )

    async def at_once() -> int:
        with counting(conn) as statements:
            await handlers.on_order_reports(conn, batch, tenants=tenants)
            return await statements.count()

    async def one_at_a_time() -> None:
        for record in batch:
            await handlers.on_order_reports(conn, [record], tenants=tenants)

    statements, (stored, events) = await _rolled_back(conn, "reports", at_once)
    _, expected = await _rolled_back(conn, "reports", one_at_a_time)
    assert statements == 2, "one INSERT … SELECT FROM unnest for the reports, one for the outbox"
    assert len(stored) == len(events) == 4
    assert {row[-2] for row in stored} == {"kafka"}, "stored with the channel it came by"
    assert (stored, events) == expected


async def test_a_batch_of_touchpoints_stores_each_once_keyed_by_customer(
    conn: asyncpg.Connection, tenants: TenantRegistry
) -> None:
    touchpoints = parse_touchpoint_batch(TOUCHPOINTS)

    async def batch() -> handlers.Accepted:
        return await handlers.accept_touchpoints(conn, touchpoints, "http")

    async def one_by_one() -> list[handlers.Accepted]:
        return [await handlers.accept_touchpoints(conn, [t], "http") for t in touchpoints]

    answer, (stored, events) = await _rolled_back(conn, "touchpoints", batch)
    singles, expected = await _rolled_back(conn, "touchpoints", one_by_one)
    assert answer.ids == [a.ids[0] for a in singles] and answer.ids[0] == answer.ids[2]
    assert answer.duplicates == 1 == sum(a.duplicates for a in singles)
    assert [(e.topic, e.key) for e in events] == [
        (topics.TOUCHPOINTS_RECORDED, b"shop:c-1"),
        (topics.TOUCHPOINTS_RECORDED, b"shop:c-2"),
        (topics.TOUCHPOINTS_RECORDED, b"shop:c-1"),
    ]
    assert (stored, events) == expected


async def test_an_invalid_record_fails_the_batch_with_its_reason_before_anything_is_written(
    conn: asyncpg.Connection, tenants: TenantRegistry
) -> None:
    good = json.dumps(REPORTS[0]).encode()
    foreign = json.dumps(report("o-1", "OK", "2026-01-01T10:00:00Z", tenant="nobody")).encode()
    cases = [
        (b"shop:o-1", b"{not json", "invalid_report"),
        (b"nobody:o-1", foreign, "unknown_tenant"),
    ]
    for key, value, error_type in cases:
        batch = records(topics.ORDERS_INBOUND, [(b"shop:o-1", good), (key, value)])
        with counting(conn) as statements, pytest.raises(Rejected) as raised:
            await handlers.on_order_reports(conn, batch, tenants=tenants)
        assert raised.value.error_type == error_type
        assert await statements.count() == 0, "validation comes before any write"


async def test_poison_records_in_one_partition_batch_are_dead_lettered_alone_on_the_broker(
    stack_env: dict[str, str], tenants_dir: Path
) -> None:
    bad_item = [{"sku": "a", "quantity": 0, "unit_price": "1.00"}]
    values: list[Any] = [
        report("o-1", "Pending", "2026-01-01T09:00:00Z"),
        b"{not json",
        report("o-1", "OK", "2026-01-01T10:00:00Z"),
        report("o-1", "OK", "2026-01-01T10:30:00Z", items=bad_item),
        report("o-1", "Cancelled", "2026-01-01T12:00:00Z"),
    ]
    async with producer(stack_env) as send:  # all queued before ingest starts: one fetch
        for value in values:
            await send(topics.ORDERS_INBOUND, "shop:o-1", value)
    async with running("ingest", stack_env, tenants_dir):
        async with TopicReader(stack_env, topics.ORDER_REPORTS) as reports:
            await reports.read_until(lambda es: len(es) >= 3)
            internal = await reports.settle(2.0)
        async with TopicReader(stack_env, topics.dead_letter_topic("ingest")) as dlq:
            await dlq.read_until(lambda es: len(es) >= 2)
            dead = await dlq.settle(1.0)
    assert [d.data["error_type"] for d in dead] == ["invalid_report", "invalid_report"]
    assert [d.data["offset"] for d in dead] == [1, 3], "exactly the 2nd and the 4th record"
    assert "items[0].quantity" in dead[1].data["error"]
    assert [e.data["status"] for e in internal] == ["Pending", "OK", "Cancelled"]
