"""The demo's recurring orders (CONTRACTS §10), on tenant demo-subscriptions (demo only).

Three plans with intervals of seconds; the demo plays the tenant's payment integration: it
answers every `recurring.charge_due` on recurring.v1 with a payment (POST /v1/payments)
following a script, and manages plans over the tracker's HTTP routes.

- `sub-paid`: three payments in all — the initial order and two charges that succeed;
- `sub-failing`: the first charge fails on its first attempt and on both retries: failed;
- `sub-paused`: paused before its first charge falls due, held while paused, published
  again at activate (within `resume_within`), then completed by the manager.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

from demo.system import System
from orderflow.shared.envelope import Envelope
from orderflow.shared.topics import RECURRING

TENANT = "demo-subscriptions"
TENANT_YAML = """\
# Demo only: subscriptions charged every few seconds (CONTRACTS §10).
tenant: demo-subscriptions
status_profile: orders_api
api_keys:
  - "${DEMO_SUBSCRIPTIONS_API_KEY}"
  - {key: "${DEMO_SUBSCRIPTIONS_MANAGER_KEY}", scopes: [orders:read, recurring:manage]}
recurring: {retry_intervals: [2s, 2s], resume_within: 10s}
"""
PLANS = {  # plan -> (interval, payments_total, outcome of each charge_due by attempt)
    "sub-paid": ("4s", 3, {1: "succeeded"}),
    "sub-failing": ("3s", None, {1: "failed", 2: "failed", 3: "failed"}),
    "sub-paused": ("5s", None, {1: "succeeded"}),
}
FINAL = {"sub-paid": "completed", "sub-failing": "failed", "sub-paused": "completed"}


def write_tenant(directory: Path) -> None:
    (directory / f"{TENANT}.yaml").write_text(TENANT_YAML)


class Integration:
    """The tenant's payment integration, as the demo plays it."""

    def __init__(self, system: System, keys: dict[str, str], say: Callable[[str], None]) -> None:
        self._system, self._say = system, say
        self._ingest = httpx.AsyncClient(
            base_url=system.urls["ingest"], timeout=30,
            headers={"Authorization": f"Bearer {keys['DEMO_SUBSCRIPTIONS_API_KEY']}"},
        )  # fmt: skip
        self._tracker = httpx.AsyncClient(
            base_url=f"{system.urls['status-tracker']}/v1/recurring-orders/{TENANT}", timeout=30,
            headers={"Authorization": f"Bearer {keys['DEMO_SUBSCRIPTIONS_MANAGER_KEY']}"},
        )  # fmt: skip
        self.events: dict[str, list[Envelope]] = {plan: [] for plan in PLANS}
        self.paused_at: float | None = None
        self.activated_at: float | None = None

    async def close(self) -> None:
        await self._ingest.aclose()
        await self._tracker.aclose()

    async def start(self) -> None:
        now = datetime.now(UTC).isoformat()
        for plan, (interval, total, _) in PLANS.items():
            report: dict[str, Any] = {
                "tenant": TENANT, "order_id": f"{plan}-initial", "status": "Paid",
                "occurred_at": now, "amount": "9.90", "currency": "EUR",
                "customer": {"id": f"cust-{plan}"}, "offer_id": "coffee-box",
                "recurring": {"recurring_order_id": plan, "interval": interval,
                              **({"payments_total": total} if total else {})},
            }  # fmt: skip
            await self._post(self._ingest, "/v1/orders", report, 202)

    async def on_event(self, event: Envelope) -> None:
        plan = str(event.data.get("recurring_order_id"))
        if plan not in self.events:
            return
        self.events[plan].append(event)
        if event.type == "recurring.charge_due":
            outcome = PLANS[plan][2][int(event.data["attempt"])]
            await self._post(self._ingest, "/v1/payments", _payment(event, outcome), 202)
            if self.activated_at is not None and plan == "sub-paused":
                held = time.monotonic() - self.activated_at
                self._say(
                    f"  sub-paused: the held charge was published {held:.1f} s after activate"
                )
        elif plan == "sub-paused" and event.data["status"] == "active":
            # Paused as soon as it starts; completed once the released charge is paid.
            made = event.data["payments_made"]
            if made == 1 and self.paused_at is None:
                self.paused_at = time.monotonic()
                await self.manage(plan, "pause")
            elif made == 2:
                await self.manage(plan, "complete")

    async def release_when_due(self) -> None:
        """Activate sub-paused once its first charge has fallen due while paused."""
        wait = 2 + float(PLANS["sub-paused"][0].rstrip("s"))
        paused = self.paused_at is not None and self.activated_at is None
        if paused and self.paused_at is not None and time.monotonic() - self.paused_at > wait:
            self._say(f"  sub-paused: no charge_due while paused ({wait:.0f} s, one fell due)")
            await self.manage("sub-paused", "activate")

    async def manage(self, plan: str, action: str) -> dict[str, Any]:
        answer: dict[str, Any] = await self._post(
            self._tracker, f"/{plan}/{action}", {"by": "demo-manager"}, 200
        )
        self._say(f"  POST …/{plan}/{action} -> {answer['status']}")
        if action == "activate":
            self.activated_at = time.monotonic()
        return answer

    async def show(self, plan: str) -> dict[str, Any]:
        detail: dict[str, Any] = (await self._tracker.get(f"/{plan}")).json()
        return detail

    async def _post(self, client: httpx.AsyncClient, path: str, body: Any, ok: int) -> Any:
        response = await client.post(path, json=body)
        if response.status_code != ok:
            raise RuntimeError(f"POST {path} answered {response.status_code}: {response.text}")
        return response.json()


def _payment(charge: Envelope, status: str) -> dict[str, Any]:
    data = charge.data
    return {
        "tenant": TENANT, "order_id": data["order_id"],
        "payment_id": f"inv-{data['order_id']}-{data['attempt']}", "status": status,
        "occurred_at": datetime.now(UTC).isoformat(), "amount": data["amount"],
        "currency": data["currency"], "payment_system": "stripe",
        "recurring_order_id": data["recurring_order_id"],
        **({"error_code": "card_declined"} if status == "failed" else {}),
    }  # fmt: skip


def finished(integration: Integration) -> bool:
    last = {
        plan: [e.data["status"] for e in events if e.type == "recurring_order.status_changed"]
        for plan, events in integration.events.items()
    }
    return all(FINAL[plan] in statuses for plan, statuses in last.items())


async def play_recurring(
    system: System, secrets: dict[str, str], timeout_s: float, say: Callable[[str], None]
) -> bool:
    """Run the three plans to their end; print each one's events and state. True when done."""
    say(f"\n== {TENANT}: recurring orders (CONTRACTS §10), intervals of seconds")
    consumer = AIOKafkaConsumer(
        system.kafka().topic(RECURRING), group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest", **system.kafka().client_options(),
    )  # fmt: skip
    integration = Integration(system, secrets, say)
    await consumer.start()
    try:
        await integration.start()
        deadline = time.monotonic() + timeout_s
        while not finished(integration) and time.monotonic() < deadline:
            system.check_alive()
            for records in (await consumer.getmany(timeout_ms=200)).values():
                for record in records:
                    await integration.on_event(Envelope.from_bytes(record.value))
            await integration.release_when_due()
        for plan in PLANS:
            say(
                "\n".join(render_plan(plan, integration.events[plan], await integration.show(plan)))
            )
    finally:
        await consumer.stop()
        await integration.close()
    done = finished(integration)
    say("recurring orders: every plan reached its end" if done else "recurring orders: NOT done")
    return done


def render_plan(plan: str, events: list[Envelope], state: dict[str, Any]) -> list[str]:
    lines = [f"  {plan} (interval {state['interval']}): {state['status']},"
             f" {state['payments_made']} payment(s) made"]  # fmt: skip
    for e in events:  # when orderflow decided it; a charge's own due time beside it
        at = e.produced_at.astimezone(UTC).strftime("%H:%M:%S")
        if e.type == "recurring.charge_due":
            due = e.occurred_at.astimezone(UTC).strftime("%H:%M:%S")
            what = f"charge_due      {e.data['order_id']} attempt {e.data['attempt']} (due {due})"
        else:
            what = f"status_changed  {e.data['previous_status']} -> {e.data['status']}"
        lines.append(f"    {at}  {what}")
    orders = ", ".join(f"{o['order_id']} {o['status']} ({o['attempts']} attempt(s))"
                       for o in state["orders"])  # fmt: skip
    return [*lines, f"    orders: {orders}"]
