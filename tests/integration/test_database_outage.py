"""Postgres goes away for 10 s while reports stream in: the services wait it out, skip nothing."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from orderflow.shared import metrics, topics
from orderflow.shared.supervisor import http_status
from tests.harness import TopicReader, producer, report, running, write_tenants
from tests.infra import Infra

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 1, 10, tzinfo=UTC)
PHASES = ("Pending", "OK", "Cancelled")
ORDER_IDS = [f"o-{n:03d}" for n in range(100)]


def retries(service: str) -> float:
    """Batches this process has retried after a transient failure, all error types."""
    return sum(
        sample.value
        for family in metrics.RETRIES.collect()
        for sample in family.samples
        if sample.name.endswith("_total") and sample.labels["service"] == service
    )


def expected_effects() -> Counter[tuple[str, str | None, str]]:
    effects: Counter[tuple[str, str | None, str]] = Counter()
    for order_id in ORDER_IDS:
        effects.update(("order.status_changed", order_id, status) for status in PHASES)
        effects[("order.confirmed", order_id, "OK")] += 1
    return effects


async def rows(dsn: str) -> dict[str, int]:
    conn = await asyncpg.connect(dsn)
    try:
        return {
            table: await conn.fetchval(f"SELECT count(*) FROM {table}")
            for table in ("ingest.reports", "status_tracker.history", "status_tracker.inbox")
        }
    finally:
        await conn.close()


async def test_reports_sent_during_a_database_outage_each_take_effect_once(
    infra: Infra, stack_env: dict[str, str], tmp_path: Path
) -> None:
    if not infra.can_pause:
        pytest.skip(f"stopping Postgres needs the embedded stack; this run uses {infra.mode!r}")
    tenants = write_tenants(tmp_path / "tenants")
    ingest_retries = retries("ingest")
    async with (
        running("ingest", stack_env, tenants) as ingest,
        running("status-tracker", stack_env, tenants) as tracker,
        producer(stack_env) as send,
        TopicReader(stack_env, topics.ORDERS_LIFECYCLE) as lifecycle,
    ):
        await send_phase(send, 0)
        await lifecycle.read_until(lambda events: len(events) > 0)
        await asyncio.to_thread(infra.pause_postgres)
        try:
            await send_phase(
                send, 1
            )  # the broker is up: ingest fetches these and cannot store them
            await asyncio.sleep(10)
        finally:
            await asyncio.to_thread(infra.resume_postgres)
        await send_phase(send, 2)
        await lifecycle.read_until(lambda es: len({e.event_id for e in es}) >= 400, timeout=120)
        events = await lifecycle.settle(2.0)
        ready = [
            await http_status(f"http://127.0.0.1:{s.settings.http_port}/readyz")
            for s in (ingest, tracker)
        ]
    distinct = {e.event_id: e for e in events}
    assert all(e == distinct[e.event_id] for e in events), "a repeat is the very same event"
    effects = Counter((e.type, e.order_id, e.data["status"]) for e in distinct.values())
    assert (effects - expected_effects(), expected_effects() - effects) == (Counter(), Counter())
    assert await rows(stack_env["DATABASE_URL"]) == {
        "ingest.reports": 300,
        "status_tracker.history": 300,
        "status_tracker.inbox": 300,
    }
    assert retries("ingest") > ingest_retries, "ingest met the outage and retried"
    assert ready == [200, 200], "both recovered in place, no restart"


async def send_phase(send: Callable[[str, str, Any], Awaitable[None]], phase: int) -> None:
    at = (START + timedelta(hours=phase)).isoformat()
    for order_id in ORDER_IDS:
        body = report(order_id, PHASES[phase], at, amount="10.00", currency="EUR")
        await send(topics.ORDERS_INBOUND, f"shop:{order_id}", body)
