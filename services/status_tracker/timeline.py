"""An order's timeline (CONTRACTS §7), assembled purely from what the tracker keeps.

Kinds: `status` (every report, with the category it has at its place in upstream time and
whether it is the current one), `confirmed` (the report that made the order Has OK),
`reversed` (its first refund or chargeback after that), `expired` (the pending-payment
deadline passed), `shipping` (a report that carried shipping; never the address), `note`,
`attributed` (a member credited) and `payment` (from the payments code). Ordered by `at`
(upstream time), then `received_at`, then kind and id, so the answer is the same whatever
order the reports arrived in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from orderflow.services.status_tracker.domain import EXPIRY_SOURCE, HistoryEntry
from orderflow.services.status_tracker.history import Step, fold
from orderflow.shared.vocabulary import Category

Event = dict[str, Any]
_SHIPPING_FIELDS = ("method", "carrier", "tracking_number", "tracking_url", "shipped_at")
# At one instant received together: the report first, then what it caused or carried.
_RANK = {k: n for n, k in enumerate(
    ("status", "confirmed", "reversed", "expired", "shipping", "payment", "attributed", "note")
)}  # fmt: skip


def _event(at: datetime, received_at: datetime, kind: str, **fields: Any) -> Event:
    return {"at": at, "received_at": received_at, "kind": kind, **fields}


def of_history(history: Sequence[HistoryEntry]) -> list[Event]:
    timeline = fold(history)
    current = timeline.current.entry.report_id
    events = [_status(step, step.entry.report_id == current) for step in timeline.steps]
    for kind, step in (
        ("confirmed", timeline.first_confirmed()),
        ("reversed", timeline.first_reversal()),
    ):
        if step is not None:
            events.append(_event(step.entry.occurred_at, step.entry.received_at, kind,
                                 report_id=step.entry.report_id))  # fmt: skip
    for step in timeline.steps:
        entry = step.entry
        if entry.source == EXPIRY_SOURCE and step.category is Category.EXPIRED:
            events.append(_event(entry.occurred_at, entry.received_at, "expired"))
        shipping = entry.details.shipping if entry.details else None
        if shipping:
            events.append(_shipping(entry, shipping))
    return events


def _status(step: Step, current: bool) -> Event:
    e = step.entry
    return _event(
        e.occurred_at, e.received_at, "status", status=e.status, category=step.category.value,
        source=e.source, report_id=e.report_id, current=current,
    )  # fmt: skip


def _shipping(entry: HistoryEntry, shipping: Mapping[str, Any]) -> Event:
    shown = {k: shipping[k] for k in _SHIPPING_FIELDS if k in shipping}
    at = (
        datetime.fromisoformat(shipping["shipped_at"])
        if "shipped_at" in shipping
        else entry.occurred_at
    )
    return _event(at, entry.received_at, "shipping", report_id=entry.report_id, **shown)


def ordered(events: Iterable[Event]) -> list[Event]:
    """Oldest first: by `at`, then `received_at`; kind (the report before what it caused)
    and ids only break exact ties."""

    def key(e: Event) -> tuple[Any, ...]:
        ident = str(
            e.get("report_id")
            or e.get("note_id")
            or e.get("payment_id")
            or e.get("member_id")
            or ""
        )
        return (e["at"], e["received_at"], _RANK.get(e["kind"], len(_RANK)), ident)

    return sorted(events, key=key)
