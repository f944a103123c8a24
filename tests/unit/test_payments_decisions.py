"""What a payment fact emits, and the confirmation a covering payment feeds the tracker."""

from __future__ import annotations

from decimal import Decimal

from orderflow.services.status_tracker.domain import NO_EXPIRY, OrderState, Report, decide
from orderflow.services.status_tracker.history import OrderSummary
from orderflow.services.status_tracker.payments_decisions import (
    PaymentFacts,
    Recorded,
    confirmation,
    record,
)
from orderflow.services.status_tracker.payments_ledger import OrderTerms
from orderflow.shared.vocabulary import Category
from tests.unit.payment_facts import at, pay, report_refund

ORDER = OrderTerms(Decimal("100.00"), "EUR")


def feed(*facts: object, terms: OrderTerms = ORDER) -> list[Recorded]:
    known, out = PaymentFacts(), []
    for fact in facts:
        recorded = record(known, terms, fact)  # type: ignore[arg-type]
        known = recorded.facts
        out.append(recorded)
    return out


def test_a_payment_report_records_the_payment_and_the_paid_amount() -> None:
    [recorded] = feed(pay("inv-1", "succeeded", 1, "40.00", fee="1.20", share="40"))
    [event] = recorded.events
    assert event.type == "order.payment_recorded"
    assert event.occurred_at == at(1)
    assert event.data == {
        "payment_id": "inv-1",
        "status": "succeeded",
        "amount": "40.00",
        "currency": "EUR",
        "fee": "1.20",
        "funds_credited": "38.80",
        "payment_system": "stripe",
        "one_click": None,
        "share_percent": "40",
        "paid_amount": "40.00",
    }


def test_a_repeated_report_has_no_effect() -> None:
    first, again = feed(pay("p1", "succeeded", 1), pay("p1", "succeeded", 1))
    assert (again.new_fact, again.events) == (None, ())
    assert again.facts == first.facts


def test_a_stale_report_that_changes_nothing_emits_nothing() -> None:
    _, stale = feed(pay("p1", "succeeded", 2), pay("p1", "pending", 1))
    assert stale.new_fact is not None
    assert stale.events == ()


def test_a_failed_payment_is_recorded_without_funds() -> None:
    [recorded] = feed(pay("p1", "failed", 1))
    assert recorded.events[0].data["funds_credited"] is None
    assert recorded.events[0].data["paid_amount"] == "0.00"


def test_partial_then_full_refund_of_a_payment() -> None:
    _, partial, rest = feed(
        pay("p1", "succeeded", 1),
        pay("p1", "refunded", 2, refunded="30.00"),
        pay("p1", "refunded", 3),
    )
    assert [e.type for e in partial.events] == ["order.payment_recorded", "order.refunded"]
    assert partial.events[1].data == {
        "refund_amount": "30.00",
        "refunded_total": "30.00",
        "order_amount": "100.00",
        "currency": "EUR",
        "full": False,
    }
    refunded = rest.events[1].data
    assert (refunded["refund_amount"], refunded["refunded_total"], refunded["full"]) == (
        "70.00",
        "100.00",
        True,
    )
    assert rest.events[0].data["paid_amount"] == "0.00"


def test_a_report_refund_emits_order_refunded_only() -> None:
    _, refund = feed(pay("p1", "succeeded", 1), report_refund("r-refund", 2, "25.00"))
    assert [e.type for e in refund.events] == ["order.refunded"]
    assert refund.events[0].data["refund_amount"] == "25.00"
    assert refund.events[0].discriminator == "refunded:r-refund"


def test_a_refund_with_nothing_left_to_return_emits_no_refund() -> None:
    *_, empty = feed(pay("p1", "succeeded", 1), report_refund("r1", 2), report_refund("r2", 3))
    assert empty.events == ()


def state(has_ok: bool = False) -> OrderState:
    report = Report(
        "r1",
        "Pending payment",
        Category.PENDING,
        "api",
        at(0),
        at(0),
        OrderSummary(Decimal("100.00"), "EUR"),
    )
    return (
        decide(None, [], report, NO_EXPIRY).state
        if not has_ok
        else decide(
            None, [], Report("r1", "OK", Category.CONFIRMED, "api", at(0), at(0)), NO_EXPIRY
        ).state
    )


def test_a_covering_payment_gives_a_confirmed_report_at_its_time() -> None:
    *_, last = feed(pay("p1", "succeeded", 1, "40.00"), pay("p2", "succeeded", 3, "60.00"))
    confirmed = confirmation(last.ledger, state(), "Completed")
    assert confirmed == Report(
        "payment:p2", "Completed", Category.CONFIRMED, "payment", at(3), at(1000)
    )


def test_no_confirmation_before_coverage_nor_for_an_order_already_ok_or_unknown() -> None:
    [partial] = feed(pay("p1", "succeeded", 1, "40.00"))
    assert confirmation(partial.ledger, state(), "Completed") is None
    [full] = feed(pay("p1", "succeeded", 1, "100.00"))
    assert confirmation(full.ledger, state(has_ok=True), "Completed") is None
    assert confirmation(full.ledger, None, "Completed") is None
