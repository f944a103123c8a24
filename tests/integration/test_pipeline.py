"""ingest -> status-tracker on the real broker and Postgres: effects, duplicates, dead letters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orderflow.shared import topics
from tests.harness import TopicReader, of_type, producer, report, running, write_tenants

pytestmark = pytest.mark.integration


@pytest.fixture
def tenants_dir(tmp_path: Path) -> Path:
    return write_tenants(tmp_path / "tenants")


async def test_every_record_delivered_three_times_has_one_effect(
    stack_env: dict[str, str], tenants_dir: Path
) -> None:
    records = [
        report("o-1", "Pending", "2026-01-01T10:00:00Z"),
        report("o-1", "OK", "2026-01-01T11:00:00+01:00", amount="10.00", currency="EUR"),
        report("o-1", "Cancelled", "2026-01-01T12:00:00Z"),
        report("o-2", "Cancelled", "2026-01-01T12:00:00Z", report_id="r-9"),
    ]
    async with (
        running("ingest", stack_env, tenants_dir),
        running("status-tracker", stack_env, tenants_dir),
    ):
        async with producer(stack_env) as send:
            for _ in range(3):
                for r in records:
                    await send(topics.ORDERS_INBOUND, f"shop:{r['order_id']}", r)
        async with TopicReader(stack_env, topics.ORDERS_LIFECYCLE) as lifecycle:
            await lifecycle.read_until(lambda es: len(of_type(es, "order.status_changed")) >= 4)
            events = await lifecycle.settle(3.0)
        async with TopicReader(stack_env, topics.ORDER_REPORTS) as reports:
            internal = await reports.settle(1.0)
    assert len(internal) == 4, "each distinct report becomes exactly one internal event"
    assert [e.data["status"] for e in of_type(events, "order.status_changed", "o-1")] == [
        "Pending",
        "OK",
        "Cancelled",
    ]
    assert len(of_type(events, "order.confirmed", "o-1")) == 1
    assert of_type(events, "order.confirmed", "o-2") == []
    assert len({e.event_id for e in events}) == len(events), "no event twice"
    cancelled = of_type(events, "order.status_changed", "o-1")[-1]
    assert cancelled.data["has_ok"] is True and cancelled.data["previous_status"] == "OK"
    assert cancelled.data["amount"] == "10.00" and cancelled.data["currency"] == "EUR"


async def test_poison_record_is_dead_lettered_with_reason_and_stream_goes_on(
    stack_env: dict[str, str], tenants_dir: Path
) -> None:
    async with (
        running("ingest", stack_env, tenants_dir),
        running("status-tracker", stack_env, tenants_dir),
    ):
        async with producer(stack_env) as send:
            await send(topics.ORDERS_INBOUND, "shop:o-1", b"{not json")
            await send(
                topics.ORDERS_INBOUND,
                "shop:o-1",
                report(
                    "o-1",
                    "OK",
                    "2026-01-01T10:00:00Z",
                    items=[{"sku": "a", "quantity": 0, "unit_price": "1.00"}],
                ),
            )
            await send(
                topics.ORDERS_INBOUND, "shop:o-1", report("o-1", "Pending", "2026-01-01T09:00:00Z")
            )
        async with TopicReader(stack_env, topics.dead_letter_topic("ingest")) as dlq:
            dead = await dlq.read_until(lambda es: len(es) >= 2)
        async with TopicReader(stack_env, topics.ORDERS_LIFECYCLE) as lifecycle:
            events = await lifecycle.read_until(lambda es: len(es) >= 1)
    assert [d.type for d in dead] == ["dead_letter", "dead_letter"]
    assert "JSON" in dead[0].data["error"] or "json" in dead[0].data["error"]
    assert "items[0].quantity" in dead[1].data["error"]
    assert dead[0].data["topic"] == topics.ORDERS_INBOUND and dead[0].data["offset"] is not None
    assert {d.data["error_type"] for d in dead} == {"invalid_report"}
    assert [e.data["status"] for e in of_type(events, "order.status_changed", "o-1")] == ["Pending"]


async def test_late_ok_still_confirms_once_and_history_keeps_every_report(
    stack_env: dict[str, str], tenants_dir: Path
) -> None:
    async with (
        running("ingest", stack_env, tenants_dir),
        running("status-tracker", stack_env, tenants_dir) as tracker,
    ):
        async with producer(stack_env) as send:
            await send(
                topics.ORDERS_INBOUND,
                "shop:o-7",
                report("o-7", "Cancelled", "2026-01-01T12:00:00Z"),
            )
            await send(
                topics.ORDERS_INBOUND,
                "shop:o-7",
                report("o-7", "OK", "2026-01-01T10:00:00Z", amount="5.00", currency="EUR"),
            )
        async with TopicReader(stack_env, topics.ORDERS_LIFECYCLE) as lifecycle:
            events = await lifecycle.read_until(lambda es: bool(of_type(es, "order.confirmed")))
            events = await lifecycle.settle(2.0)
        assert tracker.runtime is not None
        rows = await tracker.runtime.pool.fetch(
            "SELECT status, source FROM history WHERE order_id = 'o-7' ORDER BY occurred_at"
        )
        order = await tracker.runtime.pool.fetchrow(
            "SELECT status, has_ok FROM orders WHERE order_id = 'o-7'"
        )
    assert [r["status"] for r in rows] == ["OK", "Cancelled"]
    assert order["status"] == "Cancelled" and order["has_ok"] is True
    assert [e.data["status"] for e in of_type(events, "order.status_changed")] == ["Cancelled"]
    assert len(of_type(events, "order.confirmed")) == 1


async def test_pending_payment_expires_once_on_its_durable_timer(
    stack_env: dict[str, str], tenants_dir: Path
) -> None:
    started = datetime.now(UTC)
    async with (
        running("ingest", stack_env, tenants_dir),
        running("status-tracker", stack_env, tenants_dir, timer_poll_interval_s=0.2),
    ):
        async with producer(stack_env) as send:
            pending = report("s-1", "Pending payment", started.isoformat(), tenant="store")
            await send(topics.ORDERS_INBOUND, "store:s-1", pending)
            await send(topics.ORDERS_INBOUND, "store:s-2", {**pending, "order_id": "s-2"})
            completed = report(
                "s-2",
                "Completed",
                (started + timedelta(seconds=1)).isoformat(),
                tenant="store",
                amount="1.00",
                currency="EUR",
            )
            await send(topics.ORDERS_INBOUND, "store:s-2", completed)
        async with TopicReader(stack_env, topics.ORDERS_LIFECYCLE) as lifecycle:
            await lifecycle.read_until(lambda es: bool(of_type(es, "order.expired")), timeout=20)
            events = await lifecycle.settle(2.0)
    assert len(of_type(events, "order.expired", "s-1")) == 1
    assert of_type(events, "order.expired", "s-2") == [], "a confirmation cancels the timer"
    expired = of_type(events, "order.status_changed", "s-1")[-1]
    assert (expired.data["status"], expired.data["category"]) == ("Expired", "expired")
    assert expired.data["previous_status"] == "Pending payment"
    assert expired.occurred_at == datetime.fromisoformat(pending["occurred_at"]) + timedelta(
        seconds=3
    )
