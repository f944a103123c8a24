"""One payment read from its reports: its state, whether it succeeded, its refunds."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orderflow.services.status_tracker.payments import PaymentStatus, payment_of, payments_of
from tests.unit.payment_facts import at, pay


def test_state_is_the_report_latest_upstream_whatever_arrived_last() -> None:
    payment = payment_of([pay("p1", "succeeded", 2), pay("p1", "pending", 1)])
    assert payment.status is PaymentStatus.SUCCEEDED
    assert payment.state.occurred_at == at(2)


def test_a_tie_in_upstream_time_goes_to_the_status_further_along() -> None:
    for reports in ([pay("p1", "processing", 1), pay("p1", "succeeded", 1)],):
        assert payment_of(reports).status is PaymentStatus.SUCCEEDED
        assert payment_of(list(reversed(reports))).status is PaymentStatus.SUCCEEDED


def test_funds_credited_is_amount_minus_fee_of_a_succeeded_payment() -> None:
    payment = payment_of([pay("p1", "succeeded", 1, "100.00", fee="2.90")])
    assert payment.funds_credited == Decimal("97.10")


def test_funds_credited_without_a_fee_is_the_amount() -> None:
    assert payment_of([pay("p1", "succeeded", 1, "40.00")]).funds_credited == Decimal("40.00")


@pytest.mark.parametrize("status", ["pending", "processing", "failed"])
def test_a_payment_that_never_succeeded_credits_and_pays_nothing(status: str) -> None:
    payment = payment_of([pay("p1", status, 1, fee="1.00")])
    assert (payment.funds_credited, payment.paid, payment.succeeded) == (None, Decimal(0), None)


def test_a_payment_that_succeeded_then_failed_still_succeeded_once() -> None:
    payment = payment_of([pay("p1", "succeeded", 1), pay("p1", "failed", 2)])
    assert payment.status is PaymentStatus.FAILED
    assert payment.paid == Decimal("100.00")


def test_a_refund_without_an_amount_returns_what_was_left() -> None:
    payment = payment_of(
        [
            pay("p1", "succeeded", 1),
            pay("p1", "refunded", 2, refunded="30.00"),
            pay("p1", "refunded", 3),
        ]
    )
    assert [r.amount for r in payment.refunds] == [Decimal("30.00"), Decimal("70.00")]
    assert (payment.refunded, payment.paid) == (Decimal("100.00"), Decimal(0))


def test_several_refunds_add_up_and_never_return_more_than_was_taken() -> None:
    payment = payment_of(
        [
            pay("p1", "succeeded", 1),
            pay("p1", "refunded", 2, refunded="60.00"),
            pay("p1", "refunded", 3, refunded="60.00"),
        ]
    )
    assert [r.amount for r in payment.refunds] == [Decimal("60.00"), Decimal("40.00")]
    assert payment.paid == 0


def test_a_refund_proves_the_payment_succeeded_when_its_success_report_is_missing() -> None:
    payment = payment_of([pay("p1", "refunded", 2, refunded="25.00")])
    assert payment.succeeded is not None
    assert payment.paid == Decimal("75.00")


def test_naive_times_are_refused() -> None:
    report = pay("p1", "succeeded", 1)
    with pytest.raises(ValueError, match="UTC offset"):
        type(report)(**{**report.__dict__, "occurred_at": at(1).replace(tzinfo=None)})


def test_reports_of_several_payments_are_not_one_payment() -> None:
    with pytest.raises(ValueError, match="several payments"):
        payment_of([pay("p1", "pending", 1), pay("p2", "pending", 1)])


def test_payments_of_groups_by_payment_id() -> None:
    payments = payments_of(
        [pay("b", "pending", 1), pay("a", "succeeded", 1), pay("b", "failed", 2)]
    )
    assert [(p.payment_id, p.status.value) for p in payments] == [
        ("a", "succeeded"),
        ("b", "failed"),
    ]


def test_what_a_later_report_leaves_out_is_taken_from_the_latest_that_says_it() -> None:
    payment = payment_of(
        [
            pay("p1", "succeeded", 1, fee="2.00", share="40"),
            pay("p1", "refunded", 2, refunded="1.00"),
        ]
    )
    assert (payment.fee, payment.share_percent, payment.funds_credited) == (
        Decimal("2.00"),
        Decimal("40"),
        Decimal("98.00"),
    )
