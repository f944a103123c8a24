"""The system as its users see it: services as processes, reports in by HTTP and Kafka,
`orders.lifecycle.v1` out with the envelope of CONTRACTS §5."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from orderflow.shared import topics
from orderflow.shared.cli import SERVICES
from orderflow.shared.envelope import Envelope
from orderflow.shared.supervisor import Supervisor
from tests.harness import (
    TEST_KEYS,
    TopicReader,
    free_port,
    producer,
    report,
    tenant_env,
    write_tenants,
)

pytestmark = pytest.mark.e2e

START = datetime(2026, 3, 1, 9, tzinfo=UTC)
SUMMARY: dict[str, Any] = {
    "amount": "25.50",
    "currency": "EUR",
    "customer": {"id": "c-7", "email": "someone@example.test", "name": "Some One"},
    "offer_id": "offer-1",
    "items": [{"sku": "sku-1", "name": "Mug", "quantity": 2, "unit_price": "12.75"}],
}
ENVELOPE_FIELDS = {
    "event_id",
    "type",
    "tenant",
    "order_id",
    "occurred_at",
    "produced_at",
    "causation_id",
    "correlation_id",
    "schema",
    "data",
}
SUMMARY_OUT = {"amount": "25.50", "currency": "EUR", "customer_id": "c-7", "offer_id": "offer-1"}


@dataclass(frozen=True)
class Step:
    """One report of an order, the channel it comes in by, and the category it means."""

    status: str
    category: str
    channel: str  # "http" or "kafka"


# tenant, order, steps: the loyalty and the store profile (CONTRACTS §2)
ORDERS = {
    ("shop", "L-1"): [
        Step("Pending", "pending", "http"),
        Step("OK", "confirmed", "kafka"),
        Step("Cancelled", "cancelled", "http"),
    ],
    ("store", "S-1"): [
        Step("Received", "pending", "http"),
        Step("Accepted", "pending", "kafka"),  # §2 correction: the card is yet to be charged
        Step("Completed", "confirmed", "kafka"),
    ],
}


@pytest.fixture
async def urls(stack_env: dict[str, str], tmp_path: Path) -> AsyncIterator[dict[str, str]]:
    """ingest and status-tracker as separate processes, the way `orderflow run` starts them."""
    supervisor = Supervisor(log_dir=tmp_path / "logs")
    env = {
        **stack_env,
        **tenant_env(),
        "ORDERFLOW_TENANTS_DIR": str(write_tenants(tmp_path / "tenants")),
        "ORDERFLOW_LOG_LEVEL": "INFO",
    }
    started: dict[str, str] = {}
    try:
        for name in ("ingest", "status-tracker"):
            port = free_port()
            module = f"orderflow.services.{SERVICES[name]}"
            supervisor.start(name, module, {**env, "ORDERFLOW_HTTP_PORT": str(port)})
            started[name] = f"http://127.0.0.1:{port}"
        await supervisor.wait_ready({n: f"{u}/readyz" for n, u in started.items()}, 60)
        yield started
    finally:
        supervisor.stop_all()


def body(tenant: str, order_id: str, index: int, step: Step) -> dict[str, Any]:
    at = (START + timedelta(hours=index)).isoformat()
    extra = SUMMARY if index == 0 else {}  # later reports say only the status
    return report(order_id, step.status, at, tenant=tenant, **extra)


def at_least(count: int) -> Callable[[list[Envelope]], bool]:
    return lambda events: len(events) >= count


def assert_summary(event: Envelope) -> None:
    """The order summary rides along on every event, taken from the first report."""
    assert {k: event.data[k] for k in SUMMARY_OUT} == SUMMARY_OUT
    [item] = event.data["items"]
    [sent] = SUMMARY["items"]
    assert {k: item[k] for k in sent} == sent


def assert_lifecycle(
    events: list[Envelope],
    steps: list[Step],
    accepted: dict[int, str],
    reported: dict[str, Envelope],
) -> None:
    """In decision order: a status change per report, and order.confirmed right after OK."""
    expected = [
        (kind, index)
        for index, step in enumerate(steps)
        for kind in ("order.status_changed", "order.confirmed")
        if kind == "order.status_changed" or step.category == "confirmed"
    ]
    assert [(e.type, e.data["status"]) for e in events] == [
        (t, steps[i].status) for t, i in expected
    ]
    ok_from = next(i for i, step in enumerate(steps) if step.category == "confirmed")
    for event, (_, index) in zip(events, expected, strict=True):
        step, previous = steps[index], steps[index - 1] if index else None
        assert event.occurred_at == START + timedelta(hours=index)
        assert (event.data["category"], event.data["has_ok"]) == (step.category, index >= ok_from)
        cause = reported.get(event.causation_id)
        assert cause is not None, "causation_id is the event_id of the report that caused it"
        assert (cause.order_id, cause.data["status"]) == (event.order_id, step.status)
        if index in accepted:  # sent by HTTP: the 202 named the report's id
            assert cause.data["report_id"] == accepted[index]
        if event.type == "order.status_changed":
            before = (previous.status, previous.category) if previous else (None, None)
            assert (event.data["previous_status"], event.data["previous_category"]) == before


async def test_reports_by_http_and_kafka_become_lifecycle_events_with_the_contract_envelope(
    stack_env: dict[str, str], urls: dict[str, str], tmp_path: Path
) -> None:
    started = datetime.now(UTC)
    accepted: dict[str, dict[int, str]] = {order_id: {} for _, order_id in ORDERS}
    async with (
        producer(stack_env) as send,
        httpx.AsyncClient(base_url=urls["ingest"]) as http,
        TopicReader(stack_env, topics.ORDERS_LIFECYCLE) as lifecycle,
    ):
        for index, events_so_far in enumerate((2, 6, 8)):
            for (tenant, order_id), steps in ORDERS.items():
                record = body(tenant, order_id, index, steps[index])
                if steps[index].channel == "kafka":
                    await send(topics.ORDERS_INBOUND, f"{tenant}:{order_id}", record)
                    continue
                auth = {"Authorization": f"Bearer {TEST_KEYS[tenant]}"}
                answer = await http.post("/v1/orders", json=record, headers=auth)
                assert answer.status_code == 202, answer.text
                assert answer.json()["duplicates"] == 0
                accepted[order_id][index] = answer.json()["accepted"][0]
            # The next reports go in once these are decided, so the arrival order is fixed.
            await lifecycle.read_until(at_least(events_so_far))
        events = await lifecycle.settle(2.0)
    async with TopicReader(stack_env, topics.ORDER_REPORTS) as internal:
        reported = {e.event_id: e for e in await internal.settle(1.0)}
    finished = datetime.now(UTC)

    assert len(events) == 8 and len({e.event_id for e in events}) == 8
    for (key, raw), event in zip(lifecycle.records, events, strict=True):
        wire = json.loads(raw)
        assert wire.keys() >= ENVELOPE_FIELDS, "every field of the envelope"
        assert key == f"{wire['tenant']}:{wire['order_id']}".encode()
        for field in ("occurred_at", "produced_at"):  # RFC 3339 with an offset
            assert datetime.fromisoformat(wire[field]).tzinfo is not None
        assert uuid.UUID(event.event_id)
        assert event.schema_ == f"orderflow.{event.type}/1"
        assert started <= event.produced_at <= finished
        assert event.correlation_id == accepted[event.order_id or ""][0], "the first report"
        assert_summary(event)
    for (tenant, order_id), steps in ORDERS.items():
        mine = [e for e in events if (e.tenant, e.order_id) == (tenant, order_id)]
        assert_lifecycle(mine, steps, accepted[order_id], reported)
    logs = "".join(log.read_text() for log in (tmp_path / "logs").glob("*.log"))
    assert "someone@example.test" not in logs and "Some One" not in logs, "no personal data"
