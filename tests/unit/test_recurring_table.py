"""Every cell of the recurring-order state machine (CONTRACTS §10), through `decide`.

Each cell is reached with an order built in that status such that the fact falls in that
column, and the outcome is checked against the matrix below (written from the contract,
not read from the table): the new status, `SAME` (nothing changes, nothing is emitted) or
`REFUSED` (nothing changes; the HTTP layer answers 409).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from orderflow.services.status_tracker.recurring import decide, kind_of
from orderflow.services.status_tracker.recurring_schedule import Interval
from orderflow.services.status_tracker.recurring_state import (
    Action,
    ChargeDue,
    ChargeFailed,
    ChargeSucceeded,
    Fact,
    InitialPaid,
    Managed,
    Policy,
    RecurringOrder,
    Terms,
)
from orderflow.services.status_tracker.recurring_table import TABLE, Kind, Status

T0 = datetime(2026, 1, 10, 9, tzinfo=UTC)
NOW = T0 + timedelta(days=40)
DAY = timedelta(days=1)
POLICY = Policy((DAY, 3 * DAY))
R, S = "REFUSED", "SAME"
K = Kind
COLUMNS = (
    K.INITIAL_PAID, K.INITIAL_PAID_LAST, K.CHARGE_DUE, K.CHARGE_SUCCEEDED,
    K.LAST_CHARGE_SUCCEEDED, K.CHARGE_FAILED, K.LAST_ATTEMPT_FAILED,
    K.PAUSE, K.ACTIVATE, K.COMPLETE,
)  # fmt: skip
# status -> the outcome of each column, in COLUMNS order.
EXPECTED: dict[str | None, tuple[str, ...]] = {
    None: ("active", "completed", R, R, R, R, R, R, R, R),
    "active": (S, S, "processing", "active", "completed", R, R, "paused", S, "completed"),
    "processing": (
        S, S, "processing", "active", "completed", "processing", "failed", "paused", S,
        "completed",
    ),
    "paused": (S, S, R, "paused", "completed", "paused", "failed", S, "active", "completed"),
    "completed": (R,) * 10,
    "failed": (R,) * 10,
}  # fmt: skip
CELLS = [
    (status, kind, outcome)
    for status, outcomes in EXPECTED.items()
    for kind, outcome in zip(COLUMNS, outcomes, strict=True)
]


def order_in(status: str | None, kind: Kind) -> RecurringOrder:
    """An order in `status` whose state makes a fact of `kind` fall in that column."""
    total = {K.INITIAL_PAID_LAST: 1, K.LAST_CHARGE_SUCCEEDED: 3}.get(kind, 12)
    terms = Terms("init-1", Interval.parse("30d"), total, Decimal("9.90"), "EUR", "c-1", "o-1")
    order = RecurringOrder("shop", "sub-1", terms, "corr-1")
    if status is None:  # nothing paid yet: a plan of one payment, a third attempt
        one = replace(terms, payments_total=1) if kind is K.LAST_CHARGE_SUCCEEDED else terms
        return replace(order, terms=one, attempt=3 if kind is K.LAST_ATTEMPT_FAILED else 1)
    failing = kind in (K.CHARGE_FAILED, K.LAST_ATTEMPT_FAILED)
    retry_due = kind is K.CHARGE_DUE and status == "processing"
    order = replace(
        order,
        status=Status(status),
        anchor_at=T0,
        payments_made=2,
        sequence=3,
        attempt=3 if kind is K.LAST_ATTEMPT_FAILED else 2 if retry_due else 1,
        awaiting=failing or (status == "processing" and not retry_due),
        version=4,
    )
    if not order.awaiting and status in ("active", "processing", "paused"):
        held = status == "paused"
        due = T0 + 60 * DAY
        order = replace(order, next_payment_at=due, due_at=None if held else due)
    return order


def fact_for(order: RecurringOrder, kind: Kind) -> Fact:
    at = T0 + 61 * DAY
    facts: dict[Kind, Fact] = {
        K.INITIAL_PAID: InitialPaid(T0, "stripe"),
        K.INITIAL_PAID_LAST: InitialPaid(T0, "stripe"),
        K.CHARGE_DUE: ChargeDue(order.due_at or T0 + 60 * DAY),
        K.CHARGE_SUCCEEDED: ChargeSucceeded(order.sequence, at, "stripe"),
        K.LAST_CHARGE_SUCCEEDED: ChargeSucceeded(order.sequence, at, "stripe"),
        K.CHARGE_FAILED: ChargeFailed(order.sequence, at),
        K.LAST_ATTEMPT_FAILED: ChargeFailed(order.sequence, at),
        K.PAUSE: Managed(Action.PAUSE, NOW, "ann"),
        K.ACTIVATE: Managed(Action.ACTIVATE, NOW, "ann"),
        K.COMPLETE: Managed(Action.COMPLETE, NOW, "ann"),
    }
    return facts[kind]


def test_the_matrix_names_every_status_and_every_kind() -> None:
    assert set(EXPECTED) == {None, *(s.value for s in Status)}
    assert set(COLUMNS) == set(Kind)
    assert set(TABLE) == {None, *Status}
    assert all(set(row) == set(Kind) for row in TABLE.values())
    assert len(CELLS) == len(TABLE) * len(Kind)


@pytest.mark.parametrize(("status", "kind", "outcome"), CELLS)
def test_cell(status: str | None, kind: Kind, outcome: str) -> None:
    order = order_in(status, kind)
    fact = fact_for(order, kind)
    assert kind_of(order, fact, POLICY) is kind, "the order was built for this column"
    decision = decide(order, fact, POLICY)
    if outcome == R:
        assert decision.refused, f"{status} + {kind.value} must be refused"
        assert decision.order == order and not decision.status_changed
        assert decision.requested is None and decision.settled is None
    elif outcome == S:
        assert decision.refused is None and decision.order == order
        assert not decision.status_changed and decision.requested is None
    else:
        assert decision.refused is None
        assert decision.order.status == Status(outcome)
        assert decision.order.version == order.version + 1
        assert decision.status_changed is (outcome != status)


def test_a_charge_due_publishes_the_current_attempt_and_awaits_its_outcome() -> None:
    order = order_in("active", K.CHARGE_DUE)
    decision = decide(order, ChargeDue(T0 + 60 * DAY), POLICY)
    assert decision.requested is not None
    assert (decision.requested.sequence, decision.requested.attempt) == (3, 1)
    assert decision.requested.due_at == T0 + 60 * DAY
    assert decision.order.awaiting and decision.order.due_at is None


def test_a_stale_timer_and_an_old_charges_outcome_are_refused() -> None:
    order = order_in("active", K.CHARGE_DUE)
    assert decide(order, ChargeDue(T0), POLICY).refused == (
        "the timer was moved or has fired already"
    )
    awaiting = order_in("processing", K.CHARGE_SUCCEEDED)
    old = decide(awaiting, ChargeSucceeded(2, NOW), POLICY)
    assert old.refused and old.order == awaiting


def test_a_success_schedules_the_next_charge_from_the_anchor() -> None:
    order = order_in("processing", K.CHARGE_SUCCEEDED)
    late = T0 + 75 * DAY  # the outcome came late: the schedule does not drift
    decision = decide(order, ChargeSucceeded(3, late, "stripe"), POLICY)
    assert decision.order.payments_made == 3 and decision.order.sequence == 4
    assert decision.order.next_payment_at == T0 + 90 * DAY == decision.order.due_at
    assert decision.settled is not None and decision.settled.status == "succeeded"
    assert decision.order.payments_remaining == 9


def test_a_failure_retries_after_each_interval_then_fails() -> None:
    order = order_in("processing", K.CHARGE_FAILED)
    first = decide(order, ChargeFailed(3, NOW), POLICY).order
    assert (first.status, first.attempt, first.due_at) == (Status.PROCESSING, 2, NOW + DAY)
    second = decide(first, ChargeDue(NOW + DAY), POLICY).order
    second = decide(second, ChargeFailed(3, NOW + DAY), POLICY).order
    assert (second.attempt, second.due_at) == (3, NOW + 4 * DAY)
    third = decide(second, ChargeDue(NOW + 4 * DAY), POLICY).order
    failed = decide(third, ChargeFailed(3, NOW + 4 * DAY), POLICY)
    assert failed.order.status is Status.FAILED and failed.order.due_at is None
    assert failed.settled is not None and failed.settled.status == "failed"


def test_pause_holds_a_charge_that_falls_due_and_activate_releases_it_at_once() -> None:
    order = order_in("active", K.PAUSE)
    paused = decide(order, Managed(Action.PAUSE, T0 + 50 * DAY), POLICY).order
    assert paused.due_at is None and paused.next_payment_at == T0 + 60 * DAY
    resumed = decide(paused, Managed(Action.ACTIVATE, NOW + 30 * DAY), POLICY).order
    assert resumed.status is Status.ACTIVE and resumed.due_at == NOW + 30 * DAY
    early = decide(paused, Managed(Action.ACTIVATE, T0 + 55 * DAY), POLICY).order
    assert early.due_at == T0 + 60 * DAY, "a charge not yet due keeps its time"


def test_activate_returns_to_processing_when_a_charge_is_in_flight() -> None:
    order = order_in("processing", K.PAUSE)
    paused = decide(order, Managed(Action.PAUSE, NOW), POLICY).order
    resumed = decide(paused, Managed(Action.ACTIVATE, NOW), POLICY).order
    assert resumed.status is Status.PROCESSING and resumed.due_at is None


def test_an_outcome_while_paused_counts_and_keeps_the_next_charge_held() -> None:
    order = replace(order_in("processing", K.CHARGE_SUCCEEDED), status=Status.PAUSED)
    decision = decide(order, ChargeSucceeded(3, NOW), POLICY)
    assert decision.order.status is Status.PAUSED and decision.order.payments_made == 3
    assert decision.order.due_at is None and decision.order.next_payment_at == T0 + 90 * DAY


def test_the_initial_payment_anchors_the_schedule() -> None:
    order = order_in(None, K.INITIAL_PAID)
    decision = decide(order, InitialPaid(T0, "stripe"), POLICY)
    started = decision.order
    assert (started.payments_made, started.sequence, started.anchor_at) == (1, 2, T0)
    assert started.due_at == T0 + 30 * DAY and decision.status_changed
    assert decision.settled is not None and decision.settled.sequence == 1


def test_completed_early_stops_the_timer() -> None:
    order = order_in("active", K.COMPLETE)
    done = decide(order, Managed(Action.COMPLETE, NOW), POLICY).order
    assert done.status is Status.COMPLETED and done.due_at is None
    assert done.next_payment_at is None
