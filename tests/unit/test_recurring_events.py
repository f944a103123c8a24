"""The recurring.v1 events the tracker builds validate against their declarations (§10)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from pydantic import TypeAdapter

from orderflow.services.status_tracker.events import EVENTS
from orderflow.services.status_tracker.recurring import decide
from orderflow.services.status_tracker.recurring_messages import outgoing
from orderflow.services.status_tracker.recurring_schedule import Interval
from orderflow.services.status_tracker.recurring_state import (
    Action,
    ChargeDue,
    InitialPaid,
    Managed,
    Policy,
    RecurringOrder,
    Terms,
)
from orderflow.shared import topics
from orderflow.shared.envelope import Envelope
from orderflow.shared.event_types import payload

AT = datetime(2026, 1, 31, 12, tzinfo=UTC)
OUT = next(o for o in EVENTS.writes if o.topic == topics.RECURRING)
RECORD = TypeAdapter(payload(topics.RECURRING, OUT.events))


def test_a_charge_due_and_the_status_changes_match_their_models() -> None:
    terms = Terms("init-9", Interval.parse("1M"), 6, Decimal("19.90"), "EUR", "c-1", "box")
    order = RecurringOrder("shop", "sub-9", terms, "corr-9")
    started = decide(order, InitialPaid(AT, "stripe"), Policy())
    due = decide(started.order, ChargeDue(AT + timedelta(days=28)), Policy())
    paused = decide(due.order, Managed(Action.PAUSE, AT, "ann"), Policy())
    events: list[Envelope] = []
    for decision, cause in ((started, "pay-1"), (due, ""), (paused, "req-1")):
        for topic, event, key in outgoing(decision, cause, AT, "ann"):
            assert topic == topics.RECURRING and key == b"shop:sub-9"
            assert event.order_id == "init-9", "the envelope names the initial order"
            events.append(event)
    assert [e.type for e in events] == [
        "recurring_order.status_changed", "recurring.charge_due",
        "recurring_order.status_changed", "recurring_order.status_changed",
    ]  # fmt: skip
    for event in events:
        assert RECORD.validate_json(event.to_bytes()).type == event.type
    charge = events[1].data
    assert charge["order_id"] == "sub-9-2" and (charge["sequence"], charge["attempt"]) == (2, 1)
    assert charge["due_at"] == "2026-02-28T12:00:00+00:00" and charge["amount"] == "19.90"
    assert events[0].data["previous_status"] is None
    assert events[2].data["status"] == "processing"


def test_a_charge_due_has_one_event_id_whoever_fires_it() -> None:
    terms = Terms("init-9", Interval.parse("7d"), None, Decimal("5"), "EUR")
    started = decide(RecurringOrder("shop", "sub-9", terms, "c"), InitialPaid(AT), Policy())
    due = decide(started.order, ChargeDue(AT + timedelta(days=7)), Policy())
    first = outgoing(due, "replica-a", AT)
    again = outgoing(due, "replica-b", AT + timedelta(minutes=5))
    assert [e.event_id for _, e, _ in first] == [e.event_id for _, e, _ in again]
