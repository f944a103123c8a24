"""Recurring orders (CONTRACTS §10): `decide` what a fact does to one recurring order. Pure.

`decide(order, fact, policy)` classifies the fact (`kind_of`), looks its cell up in the
table (`recurring_table`), checks that a fact about a charge is about the current one (a
stale timer or an old charge's outcome is refused), and applies the cell's effect. It
returns the new state and what to record and emit; the caller saves and enqueues them in
one transaction. Time comes in with the fact (`now` for a manager's action), never from
a clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from orderflow.services.status_tracker.recurring_schedule import charge_due, retry_due
from orderflow.services.status_tracker.recurring_state import (
    Action,
    ChargeDue,
    ChargeFailed,
    ChargeRequested,
    ChargeSettled,
    ChargeSucceeded,
    Fact,
    InitialPaid,
    Managed,
    Policy,
    RecurringOrder,
)
from orderflow.services.status_tracker.recurring_table import (
    SAME,
    Cell,
    Effect,
    Kind,
    Move,
    Refuse,
    Status,
    Then,
    cell,
)


@dataclass(frozen=True)
class Decision:
    order: RecurringOrder
    cell: Cell
    previous_status: Status | None = None
    requested: ChargeRequested | None = None
    settled: ChargeSettled | None = None
    refused: str | None = None

    @property
    def changed(self) -> bool:
        """The order moved (a cell `Move` that was not refused): its state is to be saved."""
        return self.refused is None and isinstance(self.cell, Move)

    @property
    def status_changed(self) -> bool:
        return self.changed and self.order.status is not self.previous_status


def child_order_id(recurring_order_id: str, sequence: int) -> str:
    """The order of charge `sequence` (2 and on; 1 is the initial order)."""
    return f"{recurring_order_id}-{sequence}"


def kind_of(order: RecurringOrder, fact: Fact, policy: Policy) -> Kind:
    total = order.terms.payments_total
    if isinstance(fact, InitialPaid):
        return Kind.INITIAL_PAID_LAST if total == 1 else Kind.INITIAL_PAID
    if isinstance(fact, ChargeDue):
        return Kind.CHARGE_DUE
    if isinstance(fact, ChargeSucceeded):
        last = total is not None and order.payments_made + 1 >= total
        return Kind.LAST_CHARGE_SUCCEEDED if last else Kind.CHARGE_SUCCEEDED
    if isinstance(fact, ChargeFailed):
        retry_left = order.attempt <= len(policy.retry_intervals)
        return Kind.CHARGE_FAILED if retry_left else Kind.LAST_ATTEMPT_FAILED
    return Kind(
        {Action.PAUSE: Kind.PAUSE, Action.ACTIVATE: Kind.ACTIVATE}.get(fact.action, Kind.COMPLETE)
    )


def decide(order: RecurringOrder, fact: Fact, policy: Policy) -> Decision:
    found = cell(order.status, kind_of(order, fact, policy))
    if isinstance(found, Refuse):
        return Decision(order, found, order.status, refused=found.reason)
    if found is SAME or not isinstance(found, Move):
        return Decision(order, found, order.status)
    if (stale := _stale(order, fact)) is not None:
        return Decision(order, found, order.status, refused=stale)
    return _apply(order, found, fact, policy)


def _stale(order: RecurringOrder, fact: Fact) -> str | None:
    """A fact about a charge that is not the one outstanding: a stale timer, an old outcome."""
    if isinstance(fact, ChargeDue) and fact.due_at != order.due_at:
        return "the timer was moved or has fired already"
    if isinstance(fact, ChargeSucceeded | ChargeFailed) and fact.sequence != order.sequence:
        return f"charge {fact.sequence} is not the current charge ({order.sequence})"
    if isinstance(fact, ChargeFailed) and not order.awaiting:
        return "no attempt of this charge is awaiting its outcome"
    return None


def _apply(order: RecurringOrder, move: Move, fact: Fact, policy: Policy) -> Decision:
    status = _target(order, move)
    changes, requested, settled = _EFFECTS[move.effect](order, status, fact, policy)
    if status in (Status.COMPLETED, Status.FAILED):
        changes |= {"awaiting": False, "next_payment_at": None, "due_at": None}
    new = replace(order, status=status, version=order.version + 1, **changes)  # one copy
    return Decision(new, move, order.status, requested=requested, settled=settled)


# What an effect changes (fields of RecurringOrder), and the charge asked for or settled.
Applied = tuple[dict[str, Any], ChargeRequested | None, ChargeSettled | None]


def _start(old: RecurringOrder, status: Status, fact: Fact, _: Policy) -> Applied:
    assert isinstance(fact, InitialPaid)
    changes: dict[str, Any] = {"anchor_at": fact.occurred_at, "payments_made": 1, "sequence": 2}
    settled = ChargeSettled(1, 1, "succeeded", fact.occurred_at, fact.payment_system)
    if status is not Status.COMPLETED:
        changes |= _schedule(status, charge_due(fact.occurred_at, old.terms.interval, 2))
    return changes, None, settled


def _publish(old: RecurringOrder, status: Status, fact: Fact, _: Policy) -> Applied:
    assert isinstance(fact, ChargeDue)
    # The charge's own due time: a charge released by activate keeps the time it fell due.
    requested = ChargeRequested(old.sequence, old.attempt, old.next_payment_at or fact.due_at)
    return {"awaiting": True, "next_payment_at": None, "due_at": None}, requested, None


def _next(old: RecurringOrder, status: Status, fact: Fact, _: Policy) -> Applied:
    assert isinstance(fact, ChargeSucceeded) and old.anchor_at is not None
    settled = ChargeSettled(
        old.sequence, old.attempt, "succeeded", fact.occurred_at, fact.payment_system
    )
    sequence = old.sequence + 1
    changes: dict[str, Any] = {
        "payments_made": old.payments_made + 1, "sequence": sequence, "attempt": 1,
        "awaiting": False,
    }  # fmt: skip
    if status is not Status.COMPLETED:
        changes |= _schedule(status, charge_due(old.anchor_at, old.terms.interval, sequence))
    return changes, None, settled


def _finish(old: RecurringOrder, status: Status, fact: Fact, policy: Policy) -> Applied:
    """The last charge succeeded (the initial one, for a plan of one payment)."""
    if isinstance(fact, InitialPaid):
        return _start(old, status, fact, policy)
    return _next(old, status, fact, policy)


def _retry(old: RecurringOrder, status: Status, fact: Fact, policy: Policy) -> Applied:
    assert isinstance(fact, ChargeFailed)
    settled = ChargeSettled(
        old.sequence, old.attempt, "processing", fact.occurred_at, fact.payment_system
    )
    retry = retry_due(fact.occurred_at, policy.retry_intervals, old.attempt)
    changes = {"attempt": old.attempt + 1, "awaiting": False, **_schedule(status, retry)}
    return changes, None, settled


def _hold(old: RecurringOrder, status: Status, fact: Fact, _: Policy) -> Applied:
    return {"due_at": None}, None, None


def _release(old: RecurringOrder, status: Status, fact: Fact, _: Policy) -> Applied:
    """A charge that fell due while paused is due at once."""
    assert isinstance(fact, Managed)
    due = old.next_payment_at
    return {"due_at": None if due is None else max(due, fact.at)}, None, None


def _stop(old: RecurringOrder, status: Status, fact: Fact, _: Policy) -> Applied:
    if not isinstance(fact, ChargeFailed):
        return {}, None, None
    settled = ChargeSettled(
        old.sequence, old.attempt, "failed", fact.occurred_at, fact.payment_system
    )
    return {}, None, settled


_EFFECTS = {
    Effect.START: _start,
    Effect.PUBLISH: _publish,
    Effect.NEXT: _next,
    Effect.FINISH: _finish,
    Effect.RETRY: _retry,
    Effect.HOLD: _hold,
    Effect.RELEASE: _release,
    Effect.STOP: _stop,
}


def _target(order: RecurringOrder, move: Move) -> Status:
    if move.to is Then.STAYS:
        assert order.status is not None
        return order.status
    if move.to is Then.RESUMES:
        in_flight = order.awaiting or order.attempt > 1
        return Status.PROCESSING if in_flight else Status.ACTIVE
    assert isinstance(move.to, Status)
    return move.to


def _schedule(status: Status, due: datetime | None) -> dict[str, Any]:
    """The next attempt at `due`; while paused it is remembered but its timer is held."""
    held = status is Status.PAUSED
    return {"next_payment_at": due, "due_at": None if held else due}
