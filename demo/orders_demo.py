"""`make demo`'s CONTRACTS §7 part: one order as the status-tracker's reads show it.

demo-orders reports an order with two lines, a coupon and a shipping address (`Created`),
then `Paid` and `Fulfilled` with the carrier's tracking number, the Fulfilled report sent
before the Paid one; a manager adds a note. The demo then prints the order's detail
(`GET /v1/orders/{tenant}/{order_id}`), its timeline in upstream order whatever the arrival
(`…/timeline`) and a short CSV export of the tenant's orders (`…/export.csv`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from demo.events import EventLog
from demo.player import Player, until
from demo.system import SystemFailed

TENANT, ORDER = "demo-orders", "ord-detail-1"
ITEMS = [
    {"sku": "SHOE-42", "name": "Trail shoe", "quantity": 1, "unit_price": "89.90",
     "category": "shoes", "offer_id": "spring", "offer_name": "Spring sale"},
    {"sku": "SOCK-3", "name": "Socks (3)", "quantity": 2, "unit_price": "7.55", "category": "socks"},
]  # fmt: skip
SHIPPING = {
    "method": "standard",
    "address": {"name": "Ada Lovelace", "city": "Lyon", "country": "FR"},
}


async def orders_lines(
    urls: Mapping[str, str], secrets: Mapping[str, str], log: EventLog, timeout_s: float
) -> list[str]:
    key = secrets["DEMO_ORDERS_API_KEY"]
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(timeout=30.0, headers=headers) as client:
        shop = Player(client, urls, TENANT, log, timeout_s)
        first = {
            "tenant": TENANT, "order_id": ORDER, "status": "Created", "occurred_at": shop.at(0),
            "amount": "100.00", "currency": "EUR", "customer": {"id": "cust-ada", "name": "Ada Lovelace"},
            "items": ITEMS, "offer_id": "spring", "offer_name": "Spring sale", "shipping": SHIPPING,
            "discounts": [{"code": "WELCOME5", "kind": "coupon", "amount": "5.00"}],
            "payment": {"system": "stripe"},
        }  # fmt: skip
        shipped = {"carrier": "La Poste", "tracking_number": "6A123", "shipped_at": shop.at(9)}
        for report in (
            first,
            {"tenant": TENANT, "order_id": ORDER, "status": "Fulfilled", "occurred_at": shop.at(10), "shipping": shipped},
            {"tenant": TENANT, "order_id": ORDER, "status": "Paid", "occurred_at": shop.at(2)},
        ):  # fmt: skip
            await shop.post("ingest", "/v1/orders", key, report)
        base = f"{urls['status-tracker']}/v1/orders/{TENANT}"

        async def all_three() -> bool:
            answer = await client.get(f"{base}/{ORDER}/timeline")
            return answer.status_code == 200 and len(_of(answer.json(), "status")) == 3

        await until(all_three, timeout_s, f"{TENANT}/{ORDER}: its three reports in the tracker")
        note = {"text": "Customer asked for a gift wrap", "author": "manager-lea"}
        if (await client.post(f"{base}/{ORDER}/notes", json=note)).status_code != 201:
            raise SystemFailed(f"POST {base}/{ORDER}/notes did not answer 201")
        detail = await _json(client, f"{base}/{ORDER}")
        events = (await _json(client, f"{base}/{ORDER}/timeline"))["events"]
        export = await client.get(
            f"{base}/export.csv", params={"columns": "order_id,status,amount,currency,paid_amount"}
        )
    return [
        f"\n== {TENANT} / {ORDER}: the order's detail, timeline and a CSV export (§7)",
        *_detail_lines(detail),
        "  timeline (upstream order; Fulfilled was sent before Paid):",
        *[f"    {_event_line(e)}" for e in events],
        f"  GET {base}/export.csv?columns=order_id,status,amount,currency,paid_amount:",
        *[f"    {line}" for line in export.text.splitlines()[:6]],
    ]


async def _json(client: httpx.AsyncClient, url: str) -> Any:
    answer = await client.get(url)
    if answer.status_code != 200:
        raise SystemFailed(f"GET {url} answered {answer.status_code}: {answer.text}")
    return answer.json()


def _of(body: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e for e in body["events"] if e["kind"] == kind]


def _detail_lines(d: dict[str, Any]) -> list[str]:
    lines = [
        f"  {d['status']} ({d['category']}, has_ok {d['has_ok']}), {d['amount']} {d['currency']},"
        f" created {d['created_at']}, updated {d['updated_at']}, paid via {d['payment_system']}",
        f"  customer {d['customer']['id']} (its name, personal data, is in the answer too);"
        f" offer {d['offer_id']} ({d['offer_name']}); plan {d['payment_plan']}",
    ]
    for item in d["items"]:
        lines.append(
            f"    {item['quantity']} x {item['sku']} at {item['unit_price']} = {item['line_total']}"
        )
    shipping = {k: v for k, v in (d["shipping"] or {}).items() if k != "address"}
    lines.append(f"  discounts {d['discounts']}; shipping {shipping} (and its address)")
    lines.append(
        f"  notes {[(n['author'], n['text']) for n in d['notes']]}; payments {d['payments']}"
    )
    return lines


def _event_line(e: dict[str, Any]) -> str:
    shown = {k: v for k, v in e.items() if k not in ("at", "received_at", "kind") and v is not None}
    return f"{e['at']}  {e['kind']:<10} {shown}"
