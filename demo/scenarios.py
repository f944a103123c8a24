"""The seed scenarios: which reports and touchpoints the demo sends, which events must come out.

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
    """One event that must arrive: its type, the status it is about, its topic, and any
    other `data` fields it must carry (`where`; a dotted name reaches into an object)."""

    type: str
    status: str | None = None
    topic: str = topics.ORDERS_LIFECYCLE
    where: tuple[tuple[str, str], ...] = ()

    def matches(self, topic: str, type_: str, data: dict[str, Any]) -> bool:
        same_status = self.status is None or data.get("status") == self.status
        fields = all(_field(data, name) == value for name, value in self.where)
        return topic == self.topic and type_ == self.type and same_status and fields

    def __str__(self) -> str:
        about = f" ({self.status})" if self.status else ""
        having = "".join(f" {name}={value}" for name, value in self.where)
        return f"{self.type}{about}{having} on {self.topic}"


def _field(data: dict[str, Any], dotted: str) -> str | None:
    value: Any = data
    for name in dotted.split("."):
        value = value.get(name) if isinstance(value, dict) else None
    return None if value is None else str(value)


@dataclass(frozen=True)
class Touch:
    """A touchpoint of the scenario's customer, `before` the order's first report."""

    member_id: str
    kind: str
    before: timedelta


@dataclass(frozen=True)
class Scenario:
    title: str
    tenant: str
    order_id: str
    statuses: tuple[str, ...]
    expected: tuple[Expect, ...]
    live: bool = False  # upstream time is the real now (see the module docstring)
    details: dict[str, Any] = field(default_factory=dict)
    touches: tuple[Touch, ...] = ()

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

    def touchpoints(self, start: datetime) -> list[dict[str, Any]]:
        """The touches as POST /v1/touchpoints bodies (CONTRACTS §3.2), naming no order."""
        customer_id = self.details["customer"]["id"]
        return [
            {
                "tenant": self.tenant,
                "touchpoint_id": f"tp-{self.order_id}-{index}",
                "member_id": touch.member_id,
                "kind": touch.kind,
                "customer_id": customer_id,
                "occurred_at": (start - touch.before).isoformat(),
            }
            for index, touch in enumerate(self.touches, start=1)
        ]


def _changed(*statuses: str) -> tuple[Expect, ...]:
    return tuple(Expect("order.status_changed", status) for status in statuses)


def _credited(member_id: str, model: str) -> Expect:
    where = (("member_id", member_id), ("model", model))
    return Expect("order.attributed", topic=topics.ORDERS_ATTRIBUTION, where=where)


def _reward(member_id: str, challenge_id: str) -> Expect:
    where = (("member_id", member_id), ("challenge_id", challenge_id))
    return Expect("reward.granted", topic=topics.REWARDS, where=where)


def _commission(kind: str, amount: str) -> Expect:
    return Expect(f"commission.{kind}", topic=topics.COMMISSIONS, where=(("amount", amount),))


def _sent(channel: str, role: str, count: int) -> tuple[Expect, ...]:
    """`count` notifications sent to `role` by `channel` (each event stands for one)."""
    where = (("channel", channel), ("recipient.role", role))
    return (Expect("notification.sent", topic=topics.NOTIFICATIONS, where=where),) * count


def _order(amount: str, customer: tuple[str, str], sku: str, **more: Any) -> dict[str, Any]:
    # The e-mail and name are personal data: sent to ingest, never printed by the demo.
    customer_id, name = customer
    who = {"id": customer_id, "email": f"{customer_id}@customers.test", "name": name}
    items = [{"sku": sku, "quantity": 1, "unit_price": amount}]
    return {"amount": amount, "currency": "EUR", "customer": who, "items": items, **more}


def _contributor(member_id: str, via: str) -> list[dict[str, str]]:
    return [{"member_id": member_id, "via": via}]


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "loyalty order: Pending -> OK -> Cancelled",
        "demo-loyalty", "L-1001", ("Pending", "OK", "Cancelled"),
        (
            *_changed("Pending", "OK", "Cancelled"), Expect("order.confirmed", "OK"),
            _credited("amb-12", "explicit"), _reward("amb-12", "first-order"),
            *_sent("email", "customer", 3), *_sent("in_app", "member", 1),
            *_sent("webhook", "member", 1),
        ),
        details=_order(
            "59.90", ("cust-17", "Ann Example"), "mug",
            contributors=_contributor("amb-12", "conversation"),
        ),
    ),
    Scenario(
        "loyalty order sent directly as Cancelled",
        "demo-loyalty", "L-1002", ("Cancelled",),
        (
            *_changed("Cancelled"), _credited("amb-12", "explicit"),
            *_sent("email", "customer", 1),
        ),
        details=_order(
            "12.00", ("cust-18", "Ben Example"), "socks",
            contributors=_contributor("amb-12", "conversation"),
        ),
    ),
    Scenario(
        "affiliate order: Pixel Tracked -> Processing -> Sale -> Refund",
        "demo-affiliate", "A-2001", ("Pixel Tracked", "Processing", "Sale", "Refund"),
        (
            *_changed("Pixel Tracked", "Processing", "Sale", "Refund"),
            Expect("order.confirmed", "Sale"), Expect("order.reversed", "Refund"),
            _credited("aff-7", "explicit"),
            _reward("aff-7", "first-sale"), _reward("aff-7", "premium-offer"),
            _commission("accrued", "18.00"), _commission("reversed", "-18.00"),
            *_sent("in_app", "member", 2), *_sent("webhook", "member", 1),
        ),
        details=_order(
            "120.00", ("cust-21", "Cleo Example"), "headphones",
            offer_id="offer-premium", contributors=_contributor("aff-7", "affiliation"),
        ),
    ),
    Scenario(
        "store order after a click: Received -> Accepted -> Completed",
        "demo-store", "S-3001", ("Received", "Accepted", "Completed"),
        (
            *_changed("Received", "Accepted", "Completed"), Expect("order.confirmed", "Completed"),
            _credited("inf-5", "last_touch"),
            _reward("inf-5", "first-order"), _reward("inf-5", "big-basket"),
            _commission("accrued", "19.20"),
            *_sent("email", "customer", 3), *_sent("email", "merchant", 3),
            *_sent("in_app", "customer", 3), *_sent("in_app", "merchant", 3),
            *_sent("in_app", "member", 2), *_sent("webhook", "member", 2),
        ),
        details=_order("240.00", ("cust-31", "Dan Example"), "lamp"),
        touches=(Touch("inf-5", "click", timedelta(hours=2)),),
    ),
    Scenario(
        "store order left in Pending payment: expires",
        "demo-store", "S-3002", ("Pending payment",),
        (
            *_changed("Pending payment", "Expired"), Expect("order.expired", "Expired"),
            *_sent("email", "customer", 3), *_sent("email", "merchant", 2),
            *_sent("in_app", "customer", 2), *_sent("in_app", "merchant", 2),
        ),
        live=True,
        details=_order("35.50", ("cust-32", "Eve Example"), "poster"),
    ),
)  # fmt: skip


def plan(now: datetime) -> list[tuple[Scenario, datetime]]:
    """Each scenario with the upstream time of its first report."""
    base = now.replace(second=0, microsecond=0) - len(SCENARIOS) * SCENARIO_SPACING
    return [
        (s, now.replace(microsecond=0) if s.live else base + i * SCENARIO_SPACING)
        for i, s in enumerate(SCENARIOS)
    ]
