"""An order posted to ingest, read back from the status-tracker (CONTRACTS §7), through the
real broker: its Part-2 fields as reported, its credit from attribution's
orders.attribution.v1, and a Kafka report that breaks the refund rule dead-lettered."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from orderflow.shared import topics
from tests.harness import (
    TEST_KEYS,
    TopicReader,
    eventually,
    producer,
    report,
    running,
    write_tenants,
)

pytestmark = pytest.mark.integration
AUTH = {"Authorization": f"Bearer {TEST_KEYS['shop']}"}
AT = "2026-01-01T10:00:00Z"
NAME, CITY = "Zelda Personal-Name", "Personal-City-77"  # personal data: in answers, never in logs


async def test_a_posted_order_is_read_back_with_its_fields_and_its_credit(
    stack_env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tenants = write_tenants(tmp_path / "tenants")
    async with contextlib.AsyncExitStack() as stack:
        services = {name: await stack.enter_async_context(running(name, stack_env, tenants))
                    for name in ("ingest", "attribution", "status-tracker")}  # fmt: skip
        url = {n: f"http://127.0.0.1:{s.settings.http_port}" for n, s in services.items()}
        client = await stack.enter_async_context(httpx.AsyncClient(timeout=30, headers=AUTH))
        body = report(
            "e2e-1", "OK", AT, amount="30.00", currency="EUR", customer={"id": "c-1", "name": NAME},
            items=[{"sku": "MUG", "quantity": 3, "unit_price": "10.00", "offer_name": "Mugs"}],
            contributors=[{"member_id": "mgr-1", "via": "sales_manager"}], offer_name="Spring",
            discounts=[{"kind": "loyalty", "amount": "2.00"}], payment_plan="partial",
            shipping={"carrier": "DHL", "address": {"city": CITY}},
        )  # fmt: skip
        assert (await client.post(f"{url['ingest']}/v1/orders", json=body)).status_code == 202
        detail_url = f"{url['status-tracker']}/v1/orders/shop/e2e-1"
        found: dict[str, Any] = {}

        async def credited() -> bool:
            answer = await client.get(detail_url)
            found.update(answer.json() if answer.status_code == 200 else {})
            return bool(found.get("credits"))

        await eventually(credited, "the order and its credit in the tracker's detail")
        assert found["sales_manager"] == {"member_id": "mgr-1", "confirmed": False}
        assert found["credits"] == [
            {"member_id": "mgr-1", "via": "sales_manager", "model": "explicit", "confirmed": False}
        ]
        assert (found["offer_name"], found["payment_plan"], found["has_ok"]) == (
            "Spring",
            "partial",
            True,
        )
        assert (
            found["items"][0]["line_total"] == "30.00" and found["items"][0]["offer_name"] == "Mugs"
        )
        assert found["discounts"] == [{"kind": "loyalty", "amount": "2.00"}]
        assert found["shipping"] == {"carrier": "DHL", "address": {"city": CITY}}
        assert found["customer"] == {"id": "c-1", "name": NAME}
        events = (await client.get(f"{detail_url}/timeline")).json()["events"]
        assert [e["kind"] for e in events] == ["status", "confirmed", "shipping", "attributed"]
    logged = capsys.readouterr()
    assert "service_started" in logged.out, "the services' log lines are the ones read here"
    assert NAME not in logged.out + logged.err and CITY not in logged.out + logged.err


async def test_a_kafka_report_with_a_refund_on_a_paid_status_is_dead_lettered(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    tenants = write_tenants(tmp_path / "tenants")
    bad = report("dlq-1", "OK", AT, amount="5.00", currency="EUR", refunded_amount="5.00")
    good = report("dlq-2", "Refunded", AT, amount="5.00", currency="EUR", refunded_amount="5.00")
    async with running("ingest", stack_env, tenants), producer(stack_env) as send:
        for value in (bad, good):
            await send(topics.ORDERS_INBOUND, f"shop:{value['order_id']}", value)
        async with TopicReader(stack_env, topics.dead_letter_topic("ingest")) as dead:
            [letter] = await dead.read_until(lambda found: len(found) >= 1, timeout=60)
        async with TopicReader(stack_env, topics.ORDER_REPORTS) as out:
            passed = await out.read_until(lambda found: len(found) >= 1, timeout=60)
    assert (
        "refunded_amount: allowed only with a refunded or chargeback status" in letter.data["error"]
    )
    assert [e.order_id for e in passed] == ["dlq-2"]
