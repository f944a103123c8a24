"""An order's money: paid_amount, refunded_amount, the covering payment, currencies."""

from __future__ import annotations

from decimal import Decimal

from orderflow.services.status_tracker.payments_ledger import OrderTerms, settle
from tests.unit.payment_facts import pay, report_refund

ORDER = OrderTerms(Decimal("100.00"), "EUR")


def test_paid_amount_sums_the_payments_that_succeeded() -> None:
    ledger = settle(
        [
            pay("p1", "succeeded", 1, "40.00"),
            pay("p2", "succeeded", 2, "35.00"),
            pay("p3", "failed", 3, "25.00"),
        ],
        [],
        ORDER,
    )
    assert ledger.paid_amount == Decimal("75.00")
    assert ledger.covered_by is None


def test_the_payment_that_reaches_the_amount_covers_the_order() -> None:
    second = pay("p2", "succeeded", 5, "60.00")
    ledger = settle([pay("p1", "succeeded", 1, "40.00"), second], [], ORDER)
    assert ledger.covered_by == second


def test_coverage_follows_upstream_time_not_arrival() -> None:
    early, late = pay("p2", "succeeded", 2, "60.00"), pay("p1", "succeeded", 9, "40.00")
    assert settle([late, early], [], ORDER).covered_by == late
    assert settle([early, late], [], ORDER).covered_by == late


def test_a_refund_before_the_last_payment_keeps_the_order_uncovered() -> None:
    ledger = settle(
        [
            pay("p1", "succeeded", 1, "50.00"),
            pay("p1", "refunded", 2, "50.00", refunded="10.00"),
            pay("p2", "succeeded", 3, "50.00"),
        ],
        [],
        ORDER,
    )
    assert ledger.paid_amount == Decimal("90.00")
    assert ledger.refunded_amount == Decimal("10.00")
    assert ledger.covered_by is None


def test_payments_in_another_currency_are_never_summed() -> None:
    ledger = settle(
        [pay("p1", "succeeded", 1, "100.00", currency="USD"), pay("p2", "succeeded", 2, "30.00")],
        [],
        ORDER,
    )
    assert (ledger.currency, ledger.paid_amount, ledger.covered_by) == (
        "EUR",
        Decimal("30.00"),
        None,
    )
    assert len(ledger.payments) == 2


def test_before_the_order_is_known_its_earliest_payment_gives_the_currency() -> None:
    ledger = settle(
        [pay("p2", "succeeded", 2, "5.00", currency="USD"), pay("p1", "succeeded", 1, "7.00")],
        [],
        OrderTerms(),
    )
    assert (ledger.currency, ledger.paid_amount, ledger.covered_by) == (
        "EUR",
        Decimal("7.00"),
        None,
    )


def test_a_report_refund_without_an_amount_returns_all_that_was_left() -> None:
    ledger = settle(
        [pay("p1", "succeeded", 1)],
        [report_refund("r1", 2, "30.00"), report_refund("r2", 3)],
        ORDER,
    )
    assert ledger.refunded_amount == Decimal("100.00")
    assert ledger.paid_amount == Decimal("100.00")  # a report refund is not a payment's


def test_report_and_payment_refunds_together_never_exceed_the_order_amount() -> None:
    ledger = settle(
        [pay("p1", "succeeded", 1), pay("p1", "refunded", 3, refunded="80.00")],
        [report_refund("r1", 2, "50.00")],
        ORDER,
    )
    assert ledger.refunded_amount == Decimal("100.00")


def test_a_report_refund_of_an_order_without_amount_counts_only_what_it_names() -> None:
    unknown = OrderTerms()
    assert settle([], [report_refund("r1", 1)], unknown).refunded_amount == 0
    assert settle([], [report_refund("r1", 1, "12.00")], unknown).refunded_amount == Decimal("12")


def test_payment_system_is_that_of_the_latest_succeeded_payment() -> None:
    ledger = settle(
        [
            pay("p1", "succeeded", 1, system="paypal"),
            pay("p2", "succeeded", 2, system="stripe"),
            pay("p3", "failed", 3, system="adyen"),
        ],
        [],
        ORDER,
    )
    assert ledger.payment_system == "stripe"
    assert settle([pay("p3", "failed", 3)], [], ORDER).payment_system is None


def test_an_order_of_zero_is_covered_by_its_first_succeeded_payment() -> None:
    first = pay("p1", "succeeded", 1, "0.00")
    assert settle([first], [], OrderTerms(Decimal("0.00"), "EUR")).covered_by == first
