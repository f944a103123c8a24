"""The demo's own plays after the seed scenarios: checked HTTP calls and waits on the topics.

Used by demo/sales_manager_demo.py and demo/refund_demo.py: each posts reports (and
payments, commands) to the services, waits for what it expects on the topics the demo's
EventLog reads, and prints the orders' attribution and commission timelines.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from demo.events import EventLog
from demo.sections import ATTRIBUTION, COMMISSIONS, LIFECYCLE, render
from demo.system import SystemFailed
from orderflow.shared.envelope import Envelope


class Player:
    """One tenant's calls, each checked (SystemFailed names the failing one)."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        urls: Mapping[str, str],
        tenant: str,
        log: EventLog,
        timeout_s: float,
    ) -> None:
        self.client, self.urls, self.tenant, self.log = client, urls, tenant, log
        self.timeout_s = timeout_s
        self.start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)

    def at(self, minutes: int) -> str:
        return (self.start + timedelta(minutes=minutes)).isoformat()

    async def post(self, service: str, path: str, key: str, body: Any) -> dict[str, Any]:
        url = f"{self.urls[service]}{path}"
        answer = await self.client.post(url, json=body, headers={"Authorization": f"Bearer {key}"})
        if answer.status_code not in (200, 202):
            raise SystemFailed(f"POST {url} answered {answer.status_code}: {answer.text}")
        result: dict[str, Any] = answer.json()
        return result

    async def seen(
        self, order_id: str, topic: str, what: str, wanted: Callable[[Envelope], bool]
    ) -> None:
        async def found() -> bool:
            await self.log.poll()
            return any(wanted(e) for e in self.log.of_order(self.tenant, order_id, topic))

        await until(found, self.timeout_s, f"{self.tenant}/{order_id}: {what}")

    def timeline(self, order_id: str, title: str, lifecycle: bool = False) -> list[str]:
        lines = [f"\n== {self.tenant} / {order_id}: {title}"]
        for section in (LIFECYCLE, ATTRIBUTION, COMMISSIONS) if lifecycle else (
            ATTRIBUTION, COMMISSIONS
        ):  # fmt: skip
            lines += render(section, self.log.of_order(self.tenant, order_id, section.topic))
        return lines


def of_type(type_: str, member: str | None = None) -> Callable[[Envelope], bool]:
    return lambda e: e.type == type_ and (member is None or e.data.get("member_id") == member)


async def until(check: Callable[[], Awaitable[bool]], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise SystemFailed(f"{what} did not arrive within {timeout_s:.0f} s")
        await asyncio.sleep(0.1)
