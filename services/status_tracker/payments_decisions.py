"""What a payment report, or a refund carried by a status report, does to an order.

Pure (CONTRACTS §8). The order's money is re-settled from the whole set of facts after each
new one; the events say what that changed: `order.payment_recorded` when the payment's
state or the order's `paid_amount` moved, `order.refunded` when a refund raised the order's
refunded total. Confirmation on payment is not decided here but by the tracker's own
`decide`, fed the synthetic confirmed report `confirmation` returns, so `order.confirmed`
stays exactly once whoever confirms first.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from orderflow.services.status_tracker.domain import LifecycleEvent, OrderState, Report
from orderflow.services.status_tracker.payments import Payment, PaymentReport, PaymentStatus
from orderflow.services.status_tracker.payments_ledger import (
    Ledger,
    OrderTerms,
    ReportRefund,
    settle,
)
from orderflow.shared.currencies import minor_units
from orderflow.shared.vocabulary import Category

PAYMENT_SOURCE = "payment"
Fact = PaymentReport | ReportRefund


@dataclass(frozen=True)
class PaymentFacts:
    """Everything known of an order's money: its payment reports and its report refunds."""

    reports: tuple[PaymentReport, ...] = ()
    refunds: tuple[ReportRefund, ...] = ()

    def knows(self, fact: Fact) -> bool:
        known = self.reports if isinstance(fact, PaymentReport) else self.refunds
        return any(f.report_id == fact.report_id for f in known)

    def adding(self, fact: Fact) -> PaymentFacts:
        if isinstance(fact, PaymentReport):
            return replace(self, reports=(*self.reports, fact))
        return replace(self, refunds=(*self.refunds, fact))

    def ledger(self, terms: OrderTerms) -> Ledger:
        return settle(self.reports, self.refunds, terms)


@dataclass(frozen=True)
class Recorded:
    facts: PaymentFacts
    ledger: Ledger
    new_fact: Fact | None  # None: the fact was known already (a harmless repeat)
    events: tuple[LifecycleEvent, ...]


def record(facts: PaymentFacts, terms: OrderTerms, fact: Fact) -> Recorded:
    """Add one fact to the order's money."""
    before = facts.ledger(terms)
    if facts.knows(fact):
        return Recorded(facts, before, None, ())
    grown = facts.adding(fact)
    after = grown.ledger(terms)
    events: list[LifecycleEvent] = []
    if isinstance(fact, PaymentReport):
        payment = _payment(after, fact.payment_id)
        earlier = _payment_or_none(before, fact.payment_id)
        moved = earlier is None or earlier.state != payment.state
        if moved or before.paid_amount != after.paid_amount:
            events.append(_payment_recorded(fact, payment, after))
    if _is_refund(fact) and after.refunded_amount > before.refunded_amount:
        events.append(_refunded(fact, before, after, terms))
    return Recorded(grown, after, fact, tuple(events))


def confirmation(ledger: Ledger, state: OrderState | None, status: str) -> Report | None:
    """The confirmed report a covering payment gives the order, or None (nothing to confirm).

    Only for an order the tracker knows and that is not Has OK: once confirmed (by payment
    or upstream) an order is confirmed for good, and a later covering payment adds nothing.
    """
    covering = ledger.covered_by
    if state is None or state.has_ok or covering is None:
        return None
    return Report(
        report_id=f"payment:{covering.payment_id}",
        status=status,
        category=Category.CONFIRMED,
        source=PAYMENT_SOURCE,
        occurred_at=covering.occurred_at,
        received_at=covering.received_at,
    )


def _is_refund(fact: Fact) -> bool:
    return isinstance(fact, ReportRefund) or fact.status is PaymentStatus.REFUNDED


def _payment(ledger: Ledger, payment_id: str) -> Payment:
    payment = _payment_or_none(ledger, payment_id)
    assert payment is not None, "a recorded payment is in the ledger"
    return payment


def _payment_or_none(ledger: Ledger, payment_id: str) -> Payment | None:
    return next((p for p in ledger.payments if p.payment_id == payment_id), None)


def money(amount: Decimal | None) -> str | None:
    return None if amount is None else format(amount, "f")


def total(amount: Decimal, currency: str | None) -> str:
    """A sum written with the currency's minor units (exact: no input has more digits)."""
    if currency is None:
        return format(amount, "f")
    return format(amount.quantize(Decimal(1).scaleb(-minor_units(currency))), "f")


def _payment_recorded(fact: PaymentReport, payment: Payment, ledger: Ledger) -> LifecycleEvent:
    state = payment.state
    data: dict[str, object] = {
        "payment_id": payment.payment_id,
        "status": state.status.value,
        "amount": money(state.amount),
        "currency": state.currency,
        "fee": money(payment.fee),
        "funds_credited": money(payment.funds_credited),
        "payment_system": state.payment_system,
        "one_click": payment.one_click,
        "share_percent": money(payment.share_percent),
        "paid_amount": total(ledger.paid_amount, ledger.currency),
    }
    return LifecycleEvent(
        "order.payment_recorded", fact.occurred_at, data, f"payment_recorded:{fact.report_id}"
    )


def _refunded(fact: Fact, before: Ledger, after: Ledger, terms: OrderTerms) -> LifecycleEvent:
    full = terms.amount is not None and after.refunded_amount >= terms.amount
    data: dict[str, object] = {
        "refund_amount": total(after.refunded_amount - before.refunded_amount, after.currency),
        "refunded_total": total(after.refunded_amount, after.currency),
        "order_amount": money(terms.amount),
        "currency": after.currency,
        "full": full,
    }
    return LifecycleEvent("order.refunded", fact.occurred_at, data, f"refunded:{fact.report_id}")
