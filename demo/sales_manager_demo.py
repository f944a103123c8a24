"""`make demo`'s CONTRACTS §14 part: two demo-crm sales change hands.

Both reports name sales manager sm-anna. `crm-reassigned` is given to sm-ben with
`POST …/sales-manager` before the deal is won: only sm-ben ever accrues. `crm-won` is won
first (sm-anna accrues), then sm-ben confirms it as his in `POST …/sale-confirmation`:
sm-anna's accrual is reversed (`sales_manager_reassigned`) and sm-ben's accrues. The
attribution read shows the current manager at each step. The partially refunded affiliate
sale (§8) needs the status tracker's `order.refunded`, which had not landed when this was
written: rewards reverses commission pro rata from it (docs/rewards.md); not shown here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from demo.events import EventLog
from demo.rewards_section import member_lines
from demo.sections import ATTRIBUTION, COMMISSIONS, render
from demo.system import SystemFailed
from orderflow.shared import topics

TENANT, FIRST, CHOSEN = "demo-crm", "sm-anna", "sm-ben"
BEFORE, AFTER = "crm-reassigned", "crm-won"


class Crm:
    """The demo's HTTP calls, each checked; `log` sees the topics."""

    def __init__(self, client: httpx.AsyncClient, urls: Mapping[str, str],
                 secrets: Mapping[str, str], log: EventLog, timeout_s: float) -> None:  # fmt: skip
        self.client, self.urls, self.log, self.timeout_s = client, urls, log, timeout_s
        self.plain, self.sales = secrets["DEMO_CRM_API_KEY"], secrets["DEMO_CRM_SALES_KEY"]
        self.start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)

    async def call(self, url: str, key: str, body: Any) -> dict[str, Any]:
        answer = await self.client.post(url, json=body, headers={"Authorization": f"Bearer {key}"})
        if answer.status_code not in (200, 202):
            raise SystemFailed(f"POST {url} answered {answer.status_code}: {answer.text}")
        result: dict[str, Any] = answer.json()
        return result

    async def report(self, order_id: str, status: str, minutes: int) -> None:
        body: dict[str, Any] = {
            "tenant": TENANT, "order_id": order_id, "status": status, "amount": "1200.00",
            "currency": "EUR", "occurred_at": (self.start + timedelta(minutes=minutes)).isoformat(),
            "contributors": [{"member_id": FIRST, "via": "sales_manager"}],
        }  # fmt: skip
        await self.call(f"{self.urls['ingest']}/v1/orders", self.plain, body)

    async def choose(self, order_id: str, what: str) -> str:
        url = f"{self.urls['attribution']}/v1/orders/{TENANT}/{order_id}/{what}"
        view = await self.call(url, self.sales, {"manager_id": CHOSEN})
        return f"  POST …/{what} {CHOSEN}: sales_manager {view['sales_manager']}"

    async def seen(
        self, order_id: str, topic: str, what: str, wanted: Callable[[Any], bool]
    ) -> None:
        async def found() -> bool:
            await self.log.poll()
            return any(wanted(e) for e in self.log.of_order(TENANT, order_id, topic))

        await _until(found, self.timeout_s, f"{order_id}: {what}")

    def timeline(self, order_id: str, title: str) -> list[str]:
        lines = [f"\n== {TENANT} / {order_id}: {title}"]
        for section in (ATTRIBUTION, COMMISSIONS):
            lines += render(section, self.log.of_order(TENANT, order_id, section.topic))
        return lines


def _credited(member: str) -> Callable[[Any], bool]:
    return lambda e: e.type == "order.attributed" and e.data["member_id"] == member


def _accrued(member: str) -> Callable[[Any], bool]:
    return lambda e: e.type == "commission.accrued" and e.data["member_id"] == member


async def reassignment_lines(
    urls: Mapping[str, str], secrets: Mapping[str, str], log: EventLog, timeout_s: float
) -> list[str]:
    """Plays both sales; the lines to print. Raises SystemFailed when a step fails."""
    attributions, commissions = topics.ORDERS_ATTRIBUTION, topics.COMMISSIONS
    async with httpx.AsyncClient(timeout=30.0) as client:
        crm = Crm(client, urls, secrets, log, timeout_s)
        await crm.report(BEFORE, "Open", 0)
        await crm.report(AFTER, "Open", 0)
        await crm.seen(BEFORE, attributions, "sm-anna credited", _credited(FIRST))
        before = await crm.choose(BEFORE, "sales-manager")
        # The reassignment is on the topic before the deal is won: rewards sees it first.
        await crm.seen(BEFORE, attributions, "sm-ben credited", _credited(CHOSEN))
        await crm.report(BEFORE, "Completed", 2)
        await crm.report(AFTER, "Completed", 2)
        await crm.seen(AFTER, commissions, "sm-anna's accrual", _accrued(FIRST))
        after = await crm.choose(AFTER, "sale-confirmation")
        await crm.seen(BEFORE, commissions, "sm-ben's accrual", _accrued(CHOSEN))
        await crm.seen(AFTER, commissions, "sm-ben's accrual", _accrued(CHOSEN))
        lines = crm.timeline(BEFORE, "reassigned to sm-ben before it is won (§14)")
        lines += [before, *crm.timeline(AFTER, "won, then confirmed by sm-ben (§14)"), after]
    lines += await member_lines(
        urls["rewards"], secrets["DEMO_CRM_API_KEY"], TENANT, [FIRST, CHOSEN]
    )
    lines.append("  (no partially refunded sale: the tracker's order.refunded has not landed)")
    return lines


async def _until(check: Callable[[], Awaitable[bool]], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise SystemFailed(f"{what} did not arrive within {timeout_s:.0f} s")
        await asyncio.sleep(0.1)
