"""`make demo`'s CONTRACTS §8 part: an affiliate sale refunded in part, then in full.

demo-affiliate's sale of 200.00 EUR credited to publisher pub-refund accrues 10 %, 20.00.
Its invoice is paid (`POST /v1/payments`), then 30.25 of it refunded: the status tracker
publishes `order.refunded` and rewards takes back 20.00 * 30.25 / 200.00 = 3.025, rounded
once, half-even, 3.02; then the rest is refunded (`full: true`) and what is left, 16.98,
goes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from demo.events import EventLog
from demo.player import Player, of_type
from demo.rewards_section import member_lines
from orderflow.shared import topics

TENANT, ORDER, MEMBER = "demo-affiliate", "aff-refunded", "pub-refund"


async def refund_lines(
    urls: Mapping[str, str], secrets: Mapping[str, str], log: EventLog, timeout_s: float
) -> list[str]:
    """Plays the sale and its refunds; the lines to print. Raises SystemFailed on failure."""
    key = secrets["DEMO_AFFILIATE_API_KEY"]
    async with httpx.AsyncClient(timeout=30.0) as client:
        aff = Player(client, urls, TENANT, log, timeout_s)

        async def payment(status: str, minutes: int, **extra: str) -> None:
            body: dict[str, Any] = {
                "tenant": TENANT, "order_id": ORDER, "payment_id": "inv-1", "status": status,
                "occurred_at": aff.at(minutes), "amount": "200.00", "currency": "EUR",
                "payment_system": "demo-pay", **extra,
            }  # fmt: skip
            await aff.post("ingest", "/v1/payments", key, body)

        sale = {
            "tenant": TENANT, "order_id": ORDER, "status": "Sale", "amount": "200.00",
            "currency": "EUR", "occurred_at": aff.at(0),
            "contributors": [{"member_id": MEMBER, "via": "affiliation"}],
        }  # fmt: skip
        await aff.post("ingest", "/v1/orders", key, sale)
        await payment("succeeded", 1)
        await aff.seen(ORDER, topics.COMMISSIONS, "the accrual", of_type("commission.accrued"))
        await payment("refunded", 3, refunded_amount="30.25")
        await aff.seen(
            ORDER, topics.COMMISSIONS, "the pro-rata reversal", _reason("order_partially_refunded")
        )
        await payment("refunded", 5)
        await aff.seen(ORDER, topics.COMMISSIONS, "the rest", _reason("order_refunded"))
        lines = aff.timeline(ORDER, "refunded in part, then the rest (§8)", lifecycle=True)
    return lines + await member_lines(urls["rewards"], key, TENANT, [MEMBER])


def _reason(reason: str) -> Any:
    return lambda e: e.type == "commission.reversed" and e.data.get("reason") == reason
