"""Payment reports (CONTRACTS §8) on the real stack: POST /v1/payments and payments.inbound.v1
-> stored once in ingest's schema -> `payment.reported` on ingest.payments.v1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from orderflow.services.ingest import payment_handlers
from orderflow.services.ingest.payments import PaymentSource, parse_payment_batch
from orderflow.shared import topics
from orderflow.shared.tenants import load_tenants
from tests.batch_support import connect_service, counting, records
from tests.harness import TEST_KEYS, TopicReader, producer, running, tenant_env, write_tenants

pytestmark = pytest.mark.integration

AT = "2026-01-01T10:00:00Z"


def payment(payment_id: str, status: str = "succeeded", **extra: Any) -> dict[str, Any]:
    body = {
        "tenant": "shop",
        "order_id": "o-1",
        "payment_id": payment_id,
        "status": status,
        "occurred_at": AT,
        "amount": "50.00",
        "currency": "EUR",
        "payment_system": "acme-pay",
    }
    return body | extra


def auth(tenant: str = "shop") -> dict[str, str]:
    return {"Authorization": f"Bearer {TEST_KEYS[tenant]}"}


async def test_http_payments_answer_202_once_stored_and_are_published_once(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    full = payment("inv-1", fee="1.20", one_click=True, share_percent="50", comment="gift wrap")
    refund = payment("inv-1", "refunded", occurred_at="2026-01-02T10:00:00Z", refunded_amount="5")
    async with running("ingest", stack_env, write_tenants(tmp_path / "t")) as service:
        base = f"http://127.0.0.1:{service.settings.http_port}"
        async with httpx.AsyncClient(base_url=base, timeout=30.0) as client:
            first = await client.post("/v1/payments", json=[full, refund], headers=auth())
            again = await client.post("/v1/payments", json=full, headers=auth())
            same_instant = {**full, "occurred_at": "2026-01-01T11:00:00+01:00"}
            shifted = await client.post("/v1/payments", json=same_instant, headers=auth())
            invalid = await client.post(
                "/v1/payments", json=[full, payment("inv-2", error_code="x")], headers=auth()
            )
            foreign = await client.post(
                "/v1/payments", json=payment("inv-3"), headers=auth("store")
            )
            no_scope = await client.post(
                "/v1/payments", json=payment("inv-3"), headers=auth("other")
            )
            no_key = await client.post("/v1/payments", json=payment("inv-3"))
        async with TopicReader(stack_env, topics.PAYMENT_REPORTS) as reader:
            await reader.read_until(lambda es: len(es) >= 2)
            published = await reader.settle(2.0)
            keys = {k for k, _ in reader.records}

    assert first.status_code == 202 and first.json()["duplicates"] == 0
    ids = first.json()["accepted"]
    assert again.status_code == shifted.status_code == 202
    assert again.json() == shifted.json() == {"accepted": ids[:1], "duplicates": 1}
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["path"] == "[1].error_code", "nothing partial"
    assert (foreign.status_code, no_scope.status_code, no_key.status_code) == (403, 403, 401)
    assert [e.type for e in published] == ["payment.reported"] * 2, "each report exactly once"
    assert keys == {b"shop:o-1"}
    sale, back = published
    assert (sale.order_id, sale.causation_id, sale.correlation_id) == ("o-1", ids[0], ids[0])
    assert sale.occurred_at.isoformat() == "2026-01-01T10:00:00+00:00"
    assert {k: v for k, v in sale.data.items() if k != "received_at"} == {
        **full,
        "occurred_at": "2026-01-01T10:00:00Z",
        "report_id": ids[0],
        "source": "api",
    }
    assert back.data["refunded_amount"] == "5" and back.data["report_id"] == ids[1]


async def test_payment_records_of_the_topic_are_dead_lettered_alone_with_their_reason(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    values: list[Any] = [
        payment("inv-1"),
        b"{not json",
        payment("inv-1", "refunded", refunded_amount="60.00"),  # more than was paid
        payment("inv-1", "refunded", occurred_at="2026-01-03T10:00:00Z"),
    ]
    async with producer(stack_env) as send:
        for value in values:
            await send(topics.PAYMENTS_INBOUND, "shop:o-1", value)
        await send(topics.PAYMENTS_INBOUND, "shop:o-1", payment("inv-1"))  # a repeat
    async with running("ingest", stack_env, write_tenants(tmp_path / "t")):
        async with TopicReader(stack_env, topics.PAYMENT_REPORTS) as reader:
            await reader.read_until(lambda es: len(es) >= 2)
            published = await reader.settle(2.0)
        async with TopicReader(stack_env, topics.dead_letter_topic("ingest")) as dlq:
            await dlq.read_until(lambda es: len(es) >= 2)
            dead = await dlq.settle(1.0)

    assert [d.data["offset"] for d in dead] == [1, 2], "exactly the 2nd and the 3rd record"
    assert {d.data["error_type"] for d in dead} == {"invalid_payment"}
    assert "refunded_amount" in dead[1].data["error"]
    assert [(e.data["status"], e.data["source"]) for e in published] == [
        ("succeeded", "kafka"),
        ("refunded", "kafka"),
    ], "the stream went on; the repeat was a duplicate"


async def test_a_kafka_batch_is_two_statements_and_equals_one_record_at_a_time(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    tenants = load_tenants(write_tenants(tmp_path / "t"), env=tenant_env())
    reports = [payment("inv-1"), payment("inv-2"), payment("inv-1"), payment("inv-1", "failed")]
    batch = records(
        topics.PAYMENTS_INBOUND, [(b"shop:o-1", json.dumps(r).encode()) for r in reports]
    )
    conn = await connect_service(stack_env, "ingest")
    try:
        async with conn.transaction():
            with counting(conn) as statements:
                await payment_handlers.on_payment_records(conn, batch, tenants=tenants)
                assert await statements.count() == 2
            stored = await conn.fetch("SELECT report_id::text, status, source FROM payments")
            outbox = await conn.fetchval(
                "SELECT count(*) FROM outbox WHERE topic = $1", topics.PAYMENT_REPORTS
            )
        expected = parse_payment_batch(reports)
        again = await payment_handlers.accept_payments(conn, expected, PaymentSource.KAFKA, "kafka")
    finally:
        await conn.close()
    assert len(stored) == outbox == 3, "one row and one event per identity"
    assert {r["source"] for r in stored} == {"kafka"}
    assert again.duplicates == 4 and again.ids[0] == again.ids[2]
