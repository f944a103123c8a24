"""CONTRACTS §2 store correction: the pending-payment timer follows the current status."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from orderflow.services.status_tracker.domain import (
    Cancel,
    ExpiryRule,
    Keep,
    OrderSummary,
    Report,
    Schedule,
)
from orderflow.services.status_tracker.payments_decisions import PaymentFacts, confirmation, record
from orderflow.services.status_tracker.payments_ledger import OrderTerms
from orderflow.shared.vocabulary import Category as C
from tests.unit.payment_facts import pay
from tests.unit.test_status_tracker_domain import Order, at, report, types

WEEK = timedelta(days=7)
STORE = ExpiryRule(lambda status: status == "Pending payment", WEEK)
SUMMARY = OrderSummary(Decimal("100.00"), "EUR")


def accepted_then_failed_charge() -> Order:
    order = Order(STORE)
    assert order.receive(report("r1", "Received", C.PENDING, 1, SUMMARY)).timer == Keep()
    assert order.receive(report("r2", "Accepted", C.PENDING, 2)).timer == Keep()
    return order


def test_received_accepted_pending_payment_schedules_the_timer_and_expires() -> None:
    order = accepted_then_failed_charge()
    assert order.receive(report("r3", "Pending payment", C.PENDING, 3)).timer == Schedule(
        at(3) + WEEK
    )
    decision = order.fire(at(3) + WEEK)
    assert types(decision) == ["order.status_changed", "order.expired"]
    assert (order.now.status, order.now.has_ok, order.now.expiry_due_at) == ("Expired", False, None)


def test_the_timer_starts_whatever_status_came_before() -> None:
    for before in ("Completed", "Canceled", "Accepted"):
        order = Order(STORE)
        order.receive(report("r1", before, C.CANCELLED if before == "Canceled" else C.PENDING, 1))
        assert order.receive(report("r2", "Pending payment", C.PENDING, 2)).timer == Schedule(
            at(2) + WEEK
        )


def test_leaving_pending_payment_for_another_pending_status_cancels_the_timer() -> None:
    order = accepted_then_failed_charge()
    order.receive(report("r3", "Pending payment", C.PENDING, 3))
    assert order.receive(report("r4", "Accepted", C.PENDING, 4)).timer == Cancel()
    assert order.fire(at(3) + WEEK).events == ()


def test_a_payment_covering_the_amount_confirms_and_cancels_the_timer() -> None:
    order = accepted_then_failed_charge()
    order.receive(report("r3", "Pending payment", C.PENDING, 3))
    recorded = record(PaymentFacts(), OrderTerms(SUMMARY.amount, "EUR"), pay("p1", "succeeded", 4))
    confirmed = confirmation(recorded.ledger, order.now, "Completed")
    assert isinstance(confirmed, Report)
    decision = order.receive(confirmed)
    assert types(decision) == ["order.status_changed", "order.confirmed"]
    assert decision.timer == Cancel()
    assert order.fire(at(3) + WEEK).events == ()
    assert order.now.has_ok


def test_a_payment_that_does_not_cover_the_amount_leaves_the_timer() -> None:
    order = accepted_then_failed_charge()
    order.receive(report("r3", "Pending payment", C.PENDING, 3))
    partial = pay("p1", "succeeded", 4, "30.00")
    recorded = record(PaymentFacts(), OrderTerms(SUMMARY.amount, "EUR"), partial)
    assert confirmation(recorded.ledger, order.now, "Completed") is None
    assert order.now.expiry_due_at == at(3) + WEEK
