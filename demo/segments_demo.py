"""`make demo`'s CONTRACTS §11 part: customers, their segments, and two carts validated.

demo-loyalty (config/tenants/demo-loyalty.yaml) defines segments `loyal` (3 orders),
`big-spenders` (150.00 EUR), `recent` (a purchase in 90 days), `lapsed` (none in 90 days)
and three validation rules. Three customers' orders go through ingest and the status
tracker; rewards counts each `order.confirmed` into the customer's statistics and moves them
into segments (published on segments.v1). Then the customers are read back with their
segments, and a valid and an invalid cart are validated with the failure codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from demo.events import EventLog
from demo.player import Player, until
from demo.system import SystemFailed

TENANT = "demo-loyalty"
# (customer, days ago, amount) of each confirmed order.
ORDERS = [
    ("seg-ann", 2, "40.00"), ("seg-ann", 20, "55.00"), ("seg-ann", 60, "70.00"),
    ("seg-bob", 1, "19.90"),
    ("seg-cyd", 120, "210.00"),
]  # fmt: skip
CARTS = {
    "a loyal customer's mug cart, from the app": {
        "customer_id": "seg-ann",
        "order": {"amount": "32.00", "currency": "EUR", "metadata": {"channel": "mobile_app"},
                  "items": [{"sku": "mug", "quantity": 2, "category": "kitchen"}]},
    },
    "a new customer's small web cart": {
        "customer_id": "seg-bob",
        "order": {"amount": "9.50", "currency": "EUR", "metadata": {"channel": "web"},
                  "items": [{"sku": "socks", "quantity": 1, "category": "clothes"}]},
    },
}  # fmt: skip


async def segment_lines(
    urls: Mapping[str, str], secrets: Mapping[str, str], log: EventLog, timeout_s: float
) -> list[str]:
    """Plays the orders, then reads customers and validates; the lines to print."""
    key = secrets["DEMO_LOYALTY_API_KEY"]
    headers = {"Authorization": f"Bearer {key}"}
    now = datetime.now(UTC).replace(microsecond=0)
    async with httpx.AsyncClient(timeout=30.0) as client:
        player = Player(client, urls, TENANT, log, timeout_s)
        for n, (customer, days, amount) in enumerate(ORDERS):
            report = {
                "tenant": TENANT, "order_id": f"seg-{n}", "status": "OK", "amount": amount,
                "currency": "EUR", "occurred_at": (now - timedelta(days=days)).isoformat(),
                "customer": {"id": customer}, "items": [{"sku": "mug", "quantity": 1,
                "unit_price": amount, "category": "kitchen"}],
            }  # fmt: skip
            await player.post("ingest", "/v1/orders", key, report)
        rewards = httpx.AsyncClient(base_url=urls["rewards"], headers=headers, timeout=30.0)
        async with rewards:
            await until(lambda: _counted(rewards), timeout_s, "the customers' statistics")
            lines = ["\n== demo-loyalty: customers and segments (§11)"]
            lines += await _customers(rewards)
            lines += await _validations(rewards)
    return lines


async def _counted(rewards: httpx.AsyncClient) -> bool:
    wanted = {c: sum(1 for o in ORDERS if o[0] == c) for c, _, _ in ORDERS}
    for customer, count in wanted.items():
        answer = await rewards.get(f"/v1/customers/{TENANT}/{customer}")
        if answer.status_code != 200 or answer.json()["orders_count"] < count:
            return False
    return True


async def _customers(rewards: httpx.AsyncClient) -> list[str]:
    lines = ["  customers (GET /v1/customers/{tenant}/{customer_id})"]
    for customer in dict.fromkeys(c for c, _, _ in ORDERS):
        found = (await rewards.get(f"/v1/customers/{TENANT}/{customer}")).json()
        spent = ", ".join(f"{v} {c}" for c, v in found["spent"].items())
        last = found["last_purchase_at"][:10]
        lines.append(
            f"    {customer:8} {found['orders_count']} orders, spent {spent:11}, last {last}:"
            f" {', '.join(found['segments']) or '(no segment)'}"
        )
    sizes = (await rewards.get(f"/v1/segments/{TENANT}")).json()["segments"]
    lines.append("  segments: " + ", ".join(f"{s['id']} {s['size']}" for s in sizes))
    return lines


async def _validations(rewards: httpx.AsyncClient) -> list[str]:
    lines = ["  validations (POST /v1/validations/{tenant})"]
    for title, body in CARTS.items():
        answer = await rewards.post(f"/v1/validations/{TENANT}", json=body)
        if answer.status_code != 200:
            raise SystemFailed(f"validation answered {answer.status_code}: {answer.text}")
        verdict: dict[str, Any] = answer.json()
        lines.append(f"    {title}: {'valid' if verdict['valid'] else 'INVALID'}")
        for rule in verdict["rules"]:
            codes = ", ".join(f"{f['code']} ({f['message']})" for f in rule["failures"])
            lines.append(f"      {rule['id']:15} {'ok' if rule['valid'] else codes}")
    return lines
