"""Recurring orders through the running tracker: a report over Kafka starts one, its timer
publishes on recurring.v1, and the HTTP routes pause, activate, complete, list and show it.

A pause holds a charge that falls due; activate publishes it within `resume_within`.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from orderflow.shared import topics
from orderflow.shared.envelope import Envelope, new_event
from tests.harness import TopicReader, of_type, producer, running
from tests.payments_support import T0, payment

pytestmark = pytest.mark.integration

KEY, READ_ONLY = "recurring-manage-key-0123456789", "recurring-read-key-0123456789"
TENANT = (
    "tenant: shop\nstatus_profile: loyalty\n"
    f"api_keys: [{{key: {KEY}, scopes: [orders:read, recurring:manage]}}, {READ_ONLY}]\n"
    "recurring: {retry_intervals: [1s, 2s], resume_within: 5s}\n"
)


def reported(order_id: str, status: str, category: str, at: datetime, **data: Any) -> Envelope:
    return new_event(
        type="order.reported", tenant="shop", order_id=order_id, occurred_at=at,
        causation_id=f"{order_id}:{status}", correlation_id=f"{order_id}:{status}",
        data={"report_id": f"{order_id}:{status}", "status": status, "category": category,
              "source": "api", "received_at": at.isoformat(), "amount": "9.90",
              "currency": "EUR", "customer": {"id": "c-1"}, "offer_id": "box", **data},
    )  # fmt: skip


@pytest.fixture
def tenants_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "tenants"
    directory.mkdir()
    (directory / "shop.yaml").write_text(TENANT)
    return directory


async def test_a_recurring_order_runs_pauses_resumes_and_completes(
    stack_env: dict[str, str], tenants_dir: Path
) -> None:
    now = datetime.now(UTC)
    plan = {"recurring_order_id": "sub-1", "interval": "3s", "payments_total": 4}
    async with (
        running("status-tracker", stack_env, tenants_dir, timer_poll_interval_s=0.2) as tracker,
        producer(stack_env) as send,
        TopicReader(stack_env, topics.RECURRING) as reader,
        httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{tracker.settings.http_port}/v1/recurring-orders/shop",
            headers={"Authorization": f"Bearer {KEY}"},
        ) as http,
    ):
        initial = reported("init-1", "OK", "confirmed", now, recurring=plan)
        await send(topics.ORDER_REPORTS, "shop:init-1", initial.to_bytes())
        events = await reader.read_until(lambda es: bool(of_type(es, "recurring.charge_due")))
        [charge] = of_type(events, "recurring.charge_due")
        assert charge.order_id == "init-1" and charge.data["order_id"] == "sub-1-2"
        assert reader.records[-1][0] == b"shop:sub-1"
        shown = (await http.get("/sub-1")).json()
        assert (shown["status"], shown["payments_made"], shown["payments_remaining"]) == (
            "processing", 1, 3,
        )  # fmt: skip
        assert [o["order_id"] for o in shown["orders"]] == ["init-1", "sub-1-2"]

        paused = await http.post("/sub-1/pause", json={"by": "ann"})
        assert paused.status_code == 200 and paused.json()["status"] == "paused"
        assert (await http.post("/sub-1/pause")).json()["status"] == "paused", "idempotent"
        # The outcome of the charge in flight still counts; the next one (due 3 s after it)
        # falls due while paused and is held.
        hours = (now + timedelta(seconds=3) - T0).total_seconds() / 3600
        outcome = payment("shop", "sub-1-2", "inv-2", "succeeded", hours, "9.90",
                          recurring_order_id="sub-1")  # fmt: skip
        await send(topics.PAYMENT_REPORTS, "shop:sub-1-2", outcome.to_bytes())
        await asyncio.sleep(4)
        assert len(of_type(await reader.settle(0.5), "recurring.charge_due")) == 1, "held"
        query = {"status": "paused", "customer_id": "c-1"}
        listed = (await http.get(str(http.base_url).rstrip("/"), params=query)).json()
        assert [r["recurring_order_id"] for r in listed["recurring_orders"]] == ["sub-1"]
        assert listed["next_cursor"] is None and listed["recurring_orders"][0]["payments_made"] == 2

        orders = await http.get(
            str(http.base_url).replace("recurring-orders", "orders").rstrip("/"),
            params={"recurring_order_id": "sub-1"},
        )
        child = {o["order_id"]: o for o in orders.json()["orders"]}
        assert set(child) == {"init-1", "sub-1-2"}, "the paid charge is an order of the read model"
        assert (child["sub-1-2"]["category"], child["sub-1-2"]["amount"]) == ("confirmed", "9.90")
        activated = await http.post("/sub-1/activate")
        assert activated.status_code == 200 and activated.json()["status"] == "active"
        events = await reader.read_until(
            lambda es: len(of_type(es, "recurring.charge_due")) == 2, timeout=5
        )
        assert of_type(events, "recurring.charge_due")[1].data["sequence"] == 3

        done = await http.post("/sub-1/complete", json={"by": "ann"})
        assert done.status_code == 200 and done.json()["next_payment_at"] is None
        refused = await http.post("/sub-1/activate")
        assert refused.status_code == 409 and "completed" in refused.json()["errors"][0]["message"]
        assert (await http.get("/nope")).status_code == 404
        lacking = await http.post("/sub-1/pause", headers={"Authorization": f"Bearer {READ_ONLY}"})
        assert lacking.status_code == 403 and "recurring:manage" in lacking.text
        events = await reader.read_until(
            lambda es: any(e.data.get("status") == "completed" for e in es)
        )
    changes = [(e.data["previous_status"], e.data["status"])
               for e in of_type(events, "recurring_order.status_changed")]  # fmt: skip
    assert changes == [
        (None, "active"), ("active", "processing"), ("processing", "paused"),
        ("paused", "active"), ("active", "processing"), ("processing", "completed"),
    ]  # fmt: skip
    assert of_type(events, "recurring_order.status_changed")[2].data["by"] == "ann"
