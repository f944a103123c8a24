"""What the demo reads and how each topic shows in an order's timeline: one section per topic.

Each service's public topic has a section: a title, column names and a row of each event.
The lifecycle's is here; the later services' come from their own modules
(demo/attribution_section.py, rewards_section.py, notifier_section.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from demo import attribution_section, notifier_section, rewards_section
from orderflow.shared import topics
from orderflow.shared.envelope import Envelope

Row = tuple[str, ...]


@dataclass(frozen=True)
class Section:
    title: str
    topic: str
    columns: Row
    row: Callable[[Envelope], Row]


def _when(event: Envelope) -> str:
    return event.occurred_at.isoformat(timespec="seconds")


def _short_type(event: Envelope) -> str:
    return event.type.removeprefix("order.")


def lifecycle_row(event: Envelope) -> Row:
    data = event.data
    if event.type == "order.refunded":  # money, not a status (CONTRACTS §8)
        amount = f"{data['refund_amount']} {data['currency']}"
        return (_when(event), "refunded", amount, "full" if data["full"] else "partial", "-")
    if event.type == "order.payment_recorded":
        payment = f"{data['payment_id']} {data['status']} {data['amount']} {data['currency']}"
        return (_when(event), "payment_recorded", payment, f"paid {data['paid_amount']}", "-")
    ok = "Has OK" if data.get("has_ok") else "Never OK"
    status, category = str(data.get("status", "")), str(data.get("category", ""))
    return (_when(event), _short_type(event), status, category, ok)


LIFECYCLE = Section(
    "lifecycle",
    topics.ORDERS_LIFECYCLE,
    ("occurred_at", "event", "status", "category", "Has OK"),
    lifecycle_row,
)

ATTRIBUTION = Section(
    attribution_section.TITLE,
    attribution_section.TOPIC,
    attribution_section.COLUMNS,
    attribution_section.row,
)
REWARDS = Section(
    rewards_section.REWARDS_TITLE,
    rewards_section.REWARDS_TOPIC,
    rewards_section.REWARDS_COLUMNS,
    rewards_section.reward_row,
)
COMMISSIONS = Section(
    rewards_section.COMMISSIONS_TITLE,
    rewards_section.COMMISSIONS_TOPIC,
    rewards_section.COMMISSIONS_COLUMNS,
    rewards_section.commission_row,
)
NOTIFICATIONS = Section(
    notifier_section.TITLE, notifier_section.TOPIC, notifier_section.COLUMNS, notifier_section.row
)

# The lifecycle first: every other section follows from it.
SECTIONS: tuple[Section, ...] = (LIFECYCLE, ATTRIBUTION, REWARDS, COMMISSIONS, NOTIFICATIONS)


def render(section: Section, events: list[Envelope], indent: str = "    ") -> list[str]:
    """The section's events as an aligned table, oldest decision first."""
    rows = [section.columns, *(section.row(event) for event in events)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(section.columns))]
    lines = [f"  {section.title} ({section.topic})"]
    lines += [indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return [line.rstrip() for line in lines]
