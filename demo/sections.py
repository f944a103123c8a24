"""What the demo reads and how each topic shows in an order's timeline: one section per topic.

A later service adds its public topic here (orders.attribution.v1, rewards.v1,
commissions.v1, notifications.v1): a title, column names and a row of each event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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
    ok = "Has OK" if data.get("has_ok") else "Never OK"
    status, category = str(data.get("status", "")), str(data.get("category", ""))
    return (_when(event), _short_type(event), status, category, ok)


LIFECYCLE = Section(
    "lifecycle",
    topics.ORDERS_LIFECYCLE,
    ("occurred_at", "event", "status", "category", "Has OK"),
    lifecycle_row,
)

SECTIONS: tuple[Section, ...] = (LIFECYCLE,)


def render(section: Section, events: list[Envelope], indent: str = "    ") -> list[str]:
    """The section's events as an aligned table, oldest decision first."""
    rows = [section.columns, *(section.row(event) for event in events)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(section.columns))]
    lines = [f"  {section.title} ({section.topic})"]
    lines += [indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return [line.rstrip() for line in lines]
