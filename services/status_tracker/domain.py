"""What a status report, or a pending-payment deadline, does to an order.

Pure: the handler loads the order's state and history, calls `decide` or `expire`, and
saves what comes back. Everything that matters downstream (Has OK, the reversal, the
expiry deadline) is read from the history in upstream time, so the final state does not
depend on the order in which reports arrived; only the `order.status_changed` events
do, since they report what the tracker saw change.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from orderflow.services.status_tracker.history import (
    NO_EXPIRY,
    ExpiryRule,
    HistoryEntry,
    OrderItem,
    OrderSummary,
    Report,
    Step,
    Timeline,
    expiry_due,
    fold,
    summarise,
)
from orderflow.shared.vocabulary import Category

# The handler needs only this module: the history types are re-exported from here.
__all__ = [
    "NO_EXPIRY",
    "Cancel",
    "Decision",
    "ExpiryRule",
    "HistoryEntry",
    "Keep",
    "LifecycleEvent",
    "OrderItem",
    "OrderState",
    "OrderSummary",
    "Report",
    "Schedule",
    "TimerChange",
    "decide",
    "expire",
]

EXPIRED_STATUS = "Expired"
EXPIRY_SOURCE = "orderflow"


@dataclass(frozen=True)
class OrderState:
    status: str
    category: Category
    current_report_id: str
    occurred_at: datetime
    has_ok: bool
    confirmed_emitted: bool
    reversed_emitted: bool
    summary: OrderSummary
    expiry_due_at: datetime | None


@dataclass(frozen=True)
class Schedule:
    due_at: datetime


@dataclass(frozen=True)
class Cancel:
    pass


@dataclass(frozen=True)
class Keep:
    pass


TimerChange = Schedule | Cancel | Keep


@dataclass(frozen=True)
class LifecycleEvent:
    type: str
    occurred_at: datetime
    data: dict[str, object]
    # Unique per order and stable across redelivery: the handler hashes it into event_id.
    discriminator: str


@dataclass(frozen=True)
class Decision:
    state: OrderState
    new_entry: HistoryEntry | None
    events: tuple[LifecycleEvent, ...]
    timer: TimerChange


def decide(
    state: OrderState | None,
    history: Sequence[HistoryEntry],
    report: Report,
    rule: ExpiryRule = NO_EXPIRY,
) -> Decision:
    """Apply one report to the order."""
    if any(entry.report_id == report.report_id for entry in history):
        if state is None:
            raise ValueError(f"order has history but no state (report {report.report_id})")
        return Decision(state, None, (), Keep())
    return _apply(state, (*history, report), report, rule)


def expire(
    state: OrderState,
    history: Sequence[HistoryEntry],
    due_at: datetime,
    now: datetime,
    rule: ExpiryRule = NO_EXPIRY,
) -> Decision:
    """The pending-payment timer due at `due_at` fired at `now`."""
    if not _still_expires(state, due_at):
        return Decision(state, None, (), Keep())
    # In UTC, so the id does not depend on the offset the due time was read back with.
    due = due_at.astimezone(UTC).isoformat()
    entry = Report(
        report_id=f"expiry:{due}",
        status=EXPIRED_STATUS,
        category=Category.EXPIRED,
        source=EXPIRY_SOURCE,
        occurred_at=due_at,
        received_at=now,
    )
    decision = _apply(state, (*history, entry), entry, rule)
    data = _data(decision.state, entry, Category.EXPIRED)
    expired = LifecycleEvent("order.expired", due_at, data, f"expired:{due}")
    return replace(decision, events=(*decision.events, expired))


def _still_expires(state: OrderState, due_at: datetime) -> bool:
    # A timer that no longer matches the state is stale (rescheduled or cancelled since).
    # A matching one always expires: the state only carries a deadline while the order is
    # Never OK, pending, and the deadline lies after its current entry.
    return state.expiry_due_at == due_at


def _apply(
    previous: OrderState | None, history: Sequence[HistoryEntry], cause: Report, rule: ExpiryRule
) -> Decision:
    timeline = fold(history)
    state = _state_of(timeline, previous, rule)
    events = _events(previous, state, timeline, cause)
    return Decision(state, cause, events, _timer(previous, state))


def _state_of(timeline: Timeline, previous: OrderState | None, rule: ExpiryRule) -> OrderState:
    current = timeline.current
    return OrderState(
        status=current.entry.status,
        category=current.category,
        current_report_id=current.entry.report_id,
        occurred_at=current.entry.occurred_at,
        has_ok=timeline.has_ok,
        confirmed_emitted=timeline.has_ok or (previous is not None and previous.confirmed_emitted),
        reversed_emitted=timeline.first_reversal() is not None
        or (previous is not None and previous.reversed_emitted),
        summary=summarise(timeline),
        expiry_due_at=expiry_due(timeline, rule),
    )


def _timer(previous: OrderState | None, state: OrderState) -> TimerChange:
    before = previous.expiry_due_at if previous is not None else None
    if state.expiry_due_at == before:
        return Keep()
    if state.expiry_due_at is None:
        return Cancel()
    return Schedule(state.expiry_due_at)


def _events(
    previous: OrderState | None, state: OrderState, timeline: Timeline, cause: Report
) -> tuple[LifecycleEvent, ...]:
    events: list[LifecycleEvent] = []
    if previous is None or (previous.status, previous.category) != (state.status, state.category):
        events.append(_status_changed(previous, state, timeline.current, cause))
    confirmed = timeline.first_confirmed()
    if confirmed is not None and not (previous is not None and previous.confirmed_emitted):
        events.append(_event("order.confirmed", state, confirmed, "confirmed"))
    reversal = timeline.first_reversal()
    if reversal is not None and not (previous is not None and previous.reversed_emitted):
        events.append(_event("order.reversed", state, reversal, "reversed"))
    return tuple(events)


def _status_changed(
    previous: OrderState | None, state: OrderState, current: Step, cause: Report
) -> LifecycleEvent:
    data = _data(state, current.entry, current.category)
    data["previous_status"] = previous.status if previous is not None else None
    data["previous_category"] = previous.category.value if previous is not None else None
    # Keyed by the arriving report: a late report can change the category of the
    # current entry, and that second change must not share the first one's event id.
    discriminator = f"status_changed:{cause.report_id}"
    return LifecycleEvent("order.status_changed", current.entry.occurred_at, data, discriminator)


def _event(kind: str, state: OrderState, step: Step, discriminator: str) -> LifecycleEvent:
    data = _data(state, step.entry, step.category)
    return LifecycleEvent(kind, step.entry.occurred_at, data, discriminator)


def _data(state: OrderState, entry: HistoryEntry, category: Category) -> dict[str, object]:
    """The entry the event is about, and the order as it is now."""
    summary = state.summary
    return {
        "status": entry.status,
        "category": category.value,
        "has_ok": state.has_ok,
        "amount": None if summary.amount is None else format(summary.amount, "f"),
        "currency": summary.currency,
        "customer_id": summary.customer_id,
        "offer_id": summary.offer_id,
        "items": [_item(item) for item in summary.items],
    }


def _item(item: OrderItem) -> dict[str, object]:
    return {
        "sku": item.sku,
        "name": item.name,
        "quantity": item.quantity,
        "unit_price": format(item.unit_price, "f"),
        "category": item.category,
        "offer_id": item.offer_id,
    }
