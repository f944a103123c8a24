"""`make demo`'s payments part (CONTRACTS §8, §9): invoices, a failing charge, the report.

demo-crm's deal of 1,000.00 EUR is paid in parts: invoice inv-1 (40 %, 400.00) and inv-2
(30 %, 300.00) succeed, and its manager closes it early with `POST …/complete`, which
records *Completed* (source manager) and confirms it once. demo-store's order is accepted,
its card charge fails (`card_declined`), it moves to *Pending payment* and the timer expires
it: Received -> Accepted -> Pending payment -> Expired, never confirmed. Then demo-crm's sales
report by payment system and by offer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from demo.events import EventLog
from demo.player import Player, of_type
from demo.sections import LIFECYCLE, render
from demo.system import SystemFailed
from orderflow.shared import topics

CRM, DEAL = "demo-crm", "crm-invoiced"
STORE, CHARGE = "demo-store", "store-declined"


async def payment_lines(
    urls: Mapping[str, str], secrets: Mapping[str, str], log: EventLog, timeout_s: float
) -> list[str]:
    """Plays both orders and asks the report; the lines to print. Raises SystemFailed."""
    async with httpx.AsyncClient(timeout=30.0) as client:
        crm = Player(client, urls, CRM, log, timeout_s)
        store = Player(client, urls, STORE, log, timeout_s)
        await _store_order(store, secrets["DEMO_STORE_API_KEY"])  # its timer runs meanwhile
        await _invoiced_deal(crm, secrets["DEMO_CRM_API_KEY"], secrets["DEMO_CRM_SALES_KEY"])
        await store.seen(CHARGE, topics.ORDERS_LIFECYCLE, "the expiry", of_type("order.expired"))
        lines = _timeline(crm, DEAL, "paid in two invoices, completed by its manager (§8)")
        lines += _timeline(store, CHARGE, "the card charge fails, the order expires (§2, §8)")
        lines += await _report(client, urls["status-tracker"], secrets["DEMO_CRM_API_KEY"])
    return lines


async def _invoiced_deal(crm: Player, key: str, manager_key: str) -> None:
    deal = {"tenant": CRM, "order_id": DEAL, "status": "Open", "occurred_at": crm.at(0),
            "amount": "1000.00", "currency": "EUR", "payment_plan": "partial",
            "offer_id": "consulting", "offer_name": "Consulting package"}  # fmt: skip
    await crm.post("ingest", "/v1/orders", key, deal)
    for minutes, (invoice, amount, share) in enumerate(
        (("inv-1", "400.00", "40"), ("inv-2", "300.00", "30")), 1
    ):
        await crm.post("ingest", "/v1/payments", key, _payment(crm, invoice, minutes, amount, share_percent=share))  # fmt: skip
    await crm.seen(DEAL, topics.ORDERS_LIFECYCLE, "both invoices", _paid("700.00"))
    await crm.post(
        "status-tracker", f"/v1/orders/{CRM}/{DEAL}/complete", manager_key, {"by": "mgr-anna"}
    )
    await crm.seen(DEAL, topics.ORDERS_LIFECYCLE, "the confirmation", of_type("order.confirmed"))


async def _store_order(store: Player, key: str) -> None:
    money = {"amount": "49.00", "currency": "EUR"}
    for minutes, status in ((0, "Received"), (1, "Accepted")):
        report = {
            "tenant": STORE,
            "order_id": CHARGE,
            "status": status,
            "occurred_at": store.at(minutes),
        }
        await store.post("ingest", "/v1/orders", key, {**report, **money})
    failed = _payment(store, "ch-1", 2, "49.00", status="failed", error_code="card_declined")
    await store.post("ingest", "/v1/payments", key, failed)
    now = datetime.now(UTC).isoformat()  # the deadline runs from now: the demo sees it fire
    pending = {"tenant": STORE, "order_id": CHARGE, "status": "Pending payment", "occurred_at": now}
    await store.post("ingest", "/v1/orders", key, pending)


def _payment(
    player: Player,
    payment_id: str,
    minutes: int,
    amount: str,
    status: str = "succeeded",
    **extra: str,
) -> dict[str, Any]:
    order = DEAL if player.tenant == CRM else CHARGE
    return {"tenant": player.tenant, "order_id": order, "payment_id": payment_id, "status": status,
            "occurred_at": player.at(minutes), "amount": amount, "currency": "EUR",
            "payment_system": "demo-pay", **extra}  # fmt: skip


def _paid(amount: str) -> Any:
    return lambda e: e.type == "order.payment_recorded" and e.data.get("paid_amount") == amount


def _timeline(player: Player, order_id: str, title: str) -> list[str]:
    events = player.log.of_order(player.tenant, order_id, topics.ORDERS_LIFECYCLE)
    return [f"\n== {player.tenant} / {order_id}: {title}", *render(LIFECYCLE, events)]


async def _report(client: httpx.AsyncClient, url: str, key: str) -> list[str]:
    lines = [f"\n== {CRM}: sales report (§9)"]
    for by in ("payment_system", "offer"):
        answer = await client.get(
            f"{url}/v1/reports/{CRM}/sales",
            params={"by": by},
            headers={"Authorization": f"Bearer {key}"},
        )
        if answer.status_code != 200:
            raise SystemFailed(
                f"GET sales report by {by} answered {answer.status_code}: {answer.text}"
            )
        report = answer.json()
        lines.append(f"  by={by}:")
        lines += [f"    {json.dumps(row)}" for row in report["rows"]]
        lines.append(f"    totals: {json.dumps(report['totals'])}")
    return lines
