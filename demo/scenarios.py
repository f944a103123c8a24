"""The seed scenarios: which reports the demo sends and which events it must see come out.

Upstream times are spaced (one scenario every 15 minutes, its steps 2 minutes apart, all
in the past), so each timeline is the same on every run. The expiring store order is the
exception: it is placed "now", so its deadline lies ahead and the timer is seen to fire.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from orderflow.shared import topics

STEP = timedelta(minutes=2)
SCENARIO_SPACING = timedelta(minutes=15)


@dataclass(frozen=True)
class Expect:
    """One event that must arrive: its type, the status it is about, and its topic."""

    type: str
    status: str | None = None
    topic: str = topics.ORDERS_LIFECYCLE

    def matches(self, topic: str, type_: str, data: dict[str, Any]) -> bool:
        same_status = self.status is None or data.get("status") == self.status
        return topic == self.topic and type_ == self.type and same_status

    def __str__(self) -> str:
        about = f" ({self.status})" if self.status else ""
        return f"{self.type}{about} on {self.topic}"


@dataclass(frozen=True)
class Scenario:
    title: str
    tenant: str
    order_id: str
    statuses: tuple[str, ...]
    expected: tuple[Expect, ...]
    live: bool = False  # upstream time is the real now (see the module docstring)
    details: dict[str, Any] = field(default_factory=dict)

    def reports(self, start: datetime) -> list[dict[str, Any]]:
        """One report per status, `STEP` apart in upstream time; the first carries the order."""
        reports = []
        for index, status in enumerate(self.statuses):
            occurred_at = (start + index * STEP).isoformat()
            body = {"tenant": self.tenant, "order_id": self.order_id, "status": status}
            reports.append(
                {**body, "occurred_at": occurred_at, **(self.details if index == 0 else {})}
            )
        return reports


def _changed(*statuses: str) -> tuple[Expect, ...]:
    return tuple(Expect("order.status_changed", status) for status in statuses)


def _order(amount: str, customer: str, sku: str) -> dict[str, Any]:
    items = [{"sku": sku, "quantity": 1, "unit_price": amount}]
    return {"amount": amount, "currency": "EUR", "customer": {"id": customer}, "items": items}


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "loyalty order: Pending -> OK -> Cancelled",
        "demo-loyalty", "L-1001", ("Pending", "OK", "Cancelled"),
        (*_changed("Pending", "OK", "Cancelled"), Expect("order.confirmed", "OK")),
        details=_order("59.90", "cust-17", "mug"),
    ),
    Scenario(
        "loyalty order sent directly as Cancelled",
        "demo-loyalty", "L-1002", ("Cancelled",), _changed("Cancelled"),
        details=_order("12.00", "cust-18", "socks"),
    ),
    Scenario(
        "affiliate order: Pixel Tracked -> Processing -> Sale -> Refund",
        "demo-affiliate", "A-2001", ("Pixel Tracked", "Processing", "Sale", "Refund"),
        (
            *_changed("Pixel Tracked", "Processing", "Sale", "Refund"),
            Expect("order.confirmed", "Sale"),
            Expect("order.reversed", "Refund"),
        ),
        details=_order("120.00", "cust-21", "headphones"),
    ),
    Scenario(
        "store order: Received -> Accepted -> Completed",
        "demo-store", "S-3001", ("Received", "Accepted", "Completed"),
        (*_changed("Received", "Accepted", "Completed"), Expect("order.confirmed", "Accepted")),
        details=_order("240.00", "cust-31", "lamp"),
    ),
    Scenario(
        "store order left in Pending payment: expires",
        "demo-store", "S-3002", ("Pending payment",),
        (*_changed("Pending payment", "Expired"), Expect("order.expired", "Expired")),
        live=True,
        details=_order("35.50", "cust-32", "poster"),
    ),
)  # fmt: skip


def plan(now: datetime) -> list[tuple[Scenario, datetime]]:
    """Each scenario with the upstream time of its first report."""
    base = now.replace(second=0, microsecond=0) - len(SCENARIOS) * SCENARIO_SPACING
    return [
        (s, now.replace(microsecond=0) if s.live else base + i * SCENARIO_SPACING)
        for i, s in enumerate(SCENARIOS)
    ]
