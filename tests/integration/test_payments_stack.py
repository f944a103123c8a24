"""The payments seed scenarios end to end: ingest and the status-tracker on the real broker
and Postgres, reports and payments in over HTTP, lifecycle events and reads out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from orderflow.shared import topics
from orderflow.shared.envelope import Envelope
from tests.harness import TopicReader, eventually, of_type, running

pytestmark = pytest.mark.integration
KEY = "payments-stack-key-0123456789"
SCOPES = '["orders:write", "payments:write", "orders:read", "orders:manage"]'
TENANTS = {
    "crm": "status_profile: crm",
    "store": "status_profile: store\nexpiry: {pending_payment: 2s}",
    "shop": "status_profile: loyalty",
}
Clients = tuple[httpx.AsyncClient, httpx.AsyncClient]


@pytest.fixture
def tenants_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "tenants"
    directory.mkdir()
    for name, extra in TENANTS.items():
        key = f"{{key: {name}-{KEY}, scopes: {SCOPES}}}"
        (directory / f"{name}.yaml").write_text(f"tenant: {name}\n{extra}\napi_keys: [{key}]\n")
    return directory


@asynccontextmanager
async def stack(env: dict[str, str], tenants_dir: Path) -> AsyncIterator[Clients]:
    async with (
        running("ingest", env, tenants_dir) as ingest,
        running("status-tracker", env, tenants_dir) as tracker,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{ingest.settings.http_port}") as into,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{tracker.settings.http_port}") as out,
    ):
        yield into, out


def auth(tenant: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tenant}-{KEY}"}


def ago(minutes: float) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()


async def post(client: httpx.AsyncClient, path: str, tenant: str, body: Any) -> httpx.Response:
    answer = await client.post(path, json=body, headers=auth(tenant))
    assert answer.status_code in (200, 202), answer.text
    return answer


def pay(
    tenant: str, order_id: str, payment_id: str, status: str, at: str, amount: str, **extra: Any
) -> dict[str, Any]:
    return {"tenant": tenant, "order_id": order_id, "payment_id": payment_id, "status": status,
            "occurred_at": at, "amount": amount, "currency": "EUR", "payment_system": "stripe", **extra}  # fmt: skip


async def lifecycle_of(env: dict[str, str], order_id: str, done: Any) -> list[Envelope]:
    async with TopicReader(env, topics.ORDERS_LIFECYCLE) as reader:
        await reader.read_until(lambda es: done([e for e in es if e.order_id == order_id]))
        return [e for e in await reader.settle(1.5) if e.order_id == order_id]


async def test_a_crm_order_paid_in_two_invoices_is_completed_by_its_manager(
    stack_env: dict[str, str], tenants_dir: Path
) -> None:
    async with stack(stack_env, tenants_dir) as (ingest, tracker):
        deal = {"tenant": "crm", "order_id": "deal-1", "status": "Open", "occurred_at": ago(60),
                "amount": "1000.00", "currency": "EUR", "payment_plan": "partial"}  # fmt: skip
        await post(ingest, "/v1/orders", "crm", deal)
        await post(ingest, "/v1/payments", "crm", [
            pay("crm", "deal-1", "inv-1", "succeeded", ago(50), "400.00", share_percent="40"),
            pay("crm", "deal-1", "inv-2", "succeeded", ago(40), "300.00", share_percent="30"),
        ])  # fmt: skip

        async def both_paid() -> bool:
            page = await tracker.get(
                "/v1/payments/crm", params={"order_id": "deal-1"}, headers=auth("crm")
            )
            return page.status_code == 200 and len(page.json()["payments"]) == 2

        await eventually(both_paid, "both invoices recorded")
        done = await tracker.post(
            "/v1/orders/crm/deal-1/complete", json={"by": "mgr-1"}, headers=auth("crm")
        )
        again = await tracker.post(
            "/v1/orders/crm/deal-1/complete", json={"by": "mgr-1"}, headers=auth("crm")
        )
        decline = await tracker.post(
            "/v1/orders/crm/deal-1/decline", json={"by": "mgr-1"}, headers=auth("crm")
        )
        events = await lifecycle_of(
            stack_env, "deal-1", lambda es: bool(of_type(es, "order.confirmed"))
        )
        detail = (await tracker.get("/v1/orders/crm/deal-1", headers=auth("crm"))).json()
        sales = await tracker.get(
            "/v1/reports/crm/sales", params={"by": "payment_system"}, headers=auth("crm")
        )
        csv_sales = await tracker.get(
            "/v1/reports/crm/sales",
            params={"by": "offer", "format": "csv", "columns": "currency,completed,net"},
            headers=auth("crm"),
        )
        timeline = (await tracker.get("/v1/orders/crm/deal-1/timeline", headers=auth("crm"))).json()
    assert done.status_code == 200, done.text
    summary = done.json()
    assert (summary["status"], summary["has_ok"], summary["paid_amount"]) == (
        "Completed",
        True,
        "700.00",
    )
    assert (again.status_code, decline.status_code) == (409, 409)
    assert len(of_type(events, "order.confirmed")) == 1
    recorded = of_type(events, "order.payment_recorded")
    assert [e.data["paid_amount"] for e in recorded] == ["400.00", "700.00"]
    assert [(p["payment_id"], p["share_percent"]) for p in detail["payments"]] == [
        ("inv-1", "40"),
        ("inv-2", "30"),
    ]
    kinds = [(e["kind"], e.get("payment_id")) for e in timeline["events"]]
    assert ("payment", "inv-1") in kinds and ("payment", "inv-2") in kinds
    assert sales.json() == {
        "rows": [{"payment_system": "stripe", "currency": "EUR", "payments": 2, "succeeded": 2,
                  "amount": "700.00", "fees": "0.00", "funds_credited": "700.00", "refunded": "0.00"}],
        "totals": {"EUR": {"completed": 1, "net": "1000.00"}},
    }  # fmt: skip
    assert csv_sales.text == "currency,completed,net\r\nEUR,1,1000.00\r\n"
    closed = [e for e in timeline["events"] if e["kind"] == "status" and e["source"] == "manager"]
    assert [e["status"] for e in closed] == ["Completed"]


async def test_a_store_order_whose_charge_fails_expires_unconfirmed(
    stack_env: dict[str, str], tenants_dir: Path
) -> None:
    async with stack(stack_env, tenants_dir) as (ingest, tracker):
        money = {"amount": "25.00", "currency": "EUR"}
        await post(ingest, "/v1/orders", "store", [
            {"tenant": "store", "order_id": "s-1", "status": "Received", "occurred_at": ago(3), **money},
            {"tenant": "store", "order_id": "s-1", "status": "Accepted", "occurred_at": ago(2)},
        ])  # fmt: skip
        await post(ingest, "/v1/payments", "store",
                   pay("store", "s-1", "ch-1", "failed", ago(1.5), "25.00", error_code="card_declined"))  # fmt: skip
        now = datetime.now(UTC).isoformat()
        await post(ingest, "/v1/orders", "store",
                   {"tenant": "store", "order_id": "s-1", "status": "Pending payment", "occurred_at": now})  # fmt: skip
        events = await lifecycle_of(stack_env, "s-1", lambda es: bool(of_type(es, "order.expired")))
        payments = (await tracker.get("/v1/payments/store", headers=auth("store"))).json()
    statuses = [e.data["status"] for e in of_type(events, "order.status_changed")]
    assert statuses == ["Received", "Accepted", "Pending payment", "Expired"]
    assert of_type(events, "order.confirmed") == []
    assert [(p["status"], p["error_code"], p["funds_credited"]) for p in payments["payments"]] == [
        ("failed", "card_declined", None)
    ]


async def test_a_partially_refunded_sale_then_the_rest(
    stack_env: dict[str, str], tenants_dir: Path
) -> None:
    async with stack(stack_env, tenants_dir) as (ingest, tracker):
        sale = {"tenant": "shop", "order_id": "o-1", "status": "OK", "occurred_at": ago(30),
                "amount": "100.00", "currency": "EUR"}  # fmt: skip
        await post(ingest, "/v1/orders", "shop", sale)
        await post(ingest, "/v1/payments", "shop", [
            pay("shop", "o-1", "p-1", "succeeded", ago(29), "100.00", fee="2.00"),
            pay("shop", "o-1", "p-1", "refunded", ago(20), "100.00", refunded_amount="30.00"),
        ])  # fmt: skip
        first = await lifecycle_of(stack_env, "o-1", lambda es: bool(of_type(es, "order.refunded")))
        await post(
            ingest, "/v1/payments", "shop", pay("shop", "o-1", "p-1", "refunded", ago(10), "100.00")
        )
        events = await lifecycle_of(
            stack_env, "o-1", lambda es: len(of_type(es, "order.refunded")) >= 2
        )
        payment = (await tracker.get("/v1/payments/shop", headers=auth("shop"))).json()["payments"][
            0
        ]
    assert [e.data["full"] for e in of_type(first, "order.refunded")] == [False]
    refunds = [(e.data["refund_amount"], e.data["refunded_total"], e.data["full"])
               for e in of_type(events, "order.refunded")]  # fmt: skip
    assert refunds == [("30.00", "30.00", False), ("70.00", "100.00", True)]
    assert (payment["status"], payment["refunded_amount"], payment["funds_credited"]) == (
        "refunded",
        "100.00",
        "98.00",
    )
