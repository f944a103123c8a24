"""`make demo`'s CONTRACTS §14 part: two demo-crm sales change hands.

Both reports name sales manager sm-anna. `crm-reassigned` is given to sm-ben with
`POST …/sales-manager` before the deal is won: only sm-ben ever accrues. `crm-won` is won
first (sm-anna accrues), then sm-ben confirms it as his in `POST …/sale-confirmation`:
sm-anna's accrual is reversed (`sales_manager_reassigned`) and sm-ben's accrues. The
attribution read shows the current manager at each step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from demo.events import EventLog
from demo.player import Player, of_type
from demo.rewards_section import member_lines
from orderflow.shared import topics

TENANT, FIRST, CHOSEN = "demo-crm", "sm-anna", "sm-ben"
BEFORE, AFTER = "crm-reassigned", "crm-won"
CREDITS, LEDGER = topics.ORDERS_ATTRIBUTION, topics.COMMISSIONS


async def reassignment_lines(
    urls: Mapping[str, str], secrets: Mapping[str, str], log: EventLog, timeout_s: float
) -> list[str]:
    """Plays both sales; the lines to print. Raises SystemFailed when a step fails."""
    plain, sales = secrets["DEMO_CRM_API_KEY"], secrets["DEMO_CRM_SALES_KEY"]
    async with httpx.AsyncClient(timeout=30.0) as client:
        crm = Player(client, urls, TENANT, log, timeout_s)

        async def report(order_id: str, status: str, minutes: int) -> None:
            body: dict[str, Any] = {
                "tenant": TENANT, "order_id": order_id, "status": status, "amount": "1200.00",
                "currency": "EUR", "occurred_at": crm.at(minutes),
                "contributors": [{"member_id": FIRST, "via": "sales_manager"}],
            }  # fmt: skip
            await crm.post("ingest", "/v1/orders", plain, body)

        async def choose(order_id: str, what: str) -> str:
            path = f"/v1/orders/{TENANT}/{order_id}/{what}"
            view = await crm.post("attribution", path, sales, {"manager_id": CHOSEN})
            return f"  POST …/{what} {CHOSEN}: sales_manager {view['sales_manager']}"

        await report(BEFORE, "Open", 0)
        await report(AFTER, "Open", 0)
        await crm.seen(BEFORE, CREDITS, "sm-anna credited", of_type("order.attributed", FIRST))
        before = await choose(BEFORE, "sales-manager")
        # The reassignment is on the topic before the deal is won: rewards sees it first.
        await crm.seen(BEFORE, CREDITS, "sm-ben credited", of_type("order.attributed", CHOSEN))
        await report(BEFORE, "Completed", 2)
        await report(AFTER, "Completed", 2)
        await crm.seen(AFTER, LEDGER, "sm-anna's accrual", of_type("commission.accrued", FIRST))
        after = await choose(AFTER, "sale-confirmation")
        for order_id in (BEFORE, AFTER):
            accrual = of_type("commission.accrued", CHOSEN)
            await crm.seen(order_id, LEDGER, "sm-ben's accrual", accrual)
        lines = crm.timeline(BEFORE, "reassigned to sm-ben before it is won (§14)")
        lines += [before, *crm.timeline(AFTER, "won, then confirmed by sm-ben (§14)"), after]
    return lines + await member_lines(urls["rewards"], plain, TENANT, [FIRST, CHOSEN])
