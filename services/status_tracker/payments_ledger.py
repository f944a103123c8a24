"""An order's money: what its payments paid, what was refunded, which payment covered it.

Pure (CONTRACTS §8). `paid_amount` = the amounts of the order's payments that ever
succeeded - everything refunded of them, in the order's currency (a payment in another
currency is listed but never summed). `refunded_amount` adds the refunds that status
reports carry (§3.1 `refunded_amount`), and never exceeds the order amount. Every answer
is a fold in upstream time over the whole set of facts, so it is the same whatever order
the facts arrived in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from orderflow.services.status_tracker.payments import (
    ZERO,
    Payment,
    PaymentReport,
    PaymentStatus,
    payments_of,
)

_REFUND_RANK = 4  # a report refund sorts among payment refunds of the same instant


@dataclass(frozen=True)
class ReportRefund:
    """A status report (§3.1) with a refunded or chargeback status: a refund of the order."""

    report_id: str
    occurred_at: datetime
    refunded_amount: Decimal | None = None  # None: all that was left

    @property
    def upstream(self) -> tuple[datetime, int, str]:
        return self.occurred_at, _REFUND_RANK, self.report_id


@dataclass(frozen=True)
class OrderTerms:
    """What the status reports say the order costs (unknown until a report gives it)."""

    amount: Decimal | None = None
    currency: str | None = None


@dataclass(frozen=True)
class Ledger:
    currency: str | None  # the order's, or while unknown that of its earliest payment
    payments: tuple[Payment, ...]
    paid_amount: Decimal
    refunded_amount: Decimal
    covered_by: PaymentReport | None  # the succeeded report that brought paid to the amount
    payment_system: str | None  # of the latest succeeded payment


@dataclass(frozen=True)
class _Step:
    at: tuple[datetime, int, str]
    taken: Decimal = ZERO  # money a payment took
    returned: Decimal = ZERO  # money a payment refund gave back
    report_refund: ReportRefund | None = None
    report: PaymentReport | None = None


def settle(
    reports: Iterable[PaymentReport], refunds: Iterable[ReportRefund], terms: OrderTerms
) -> Ledger:
    payments = payments_of(reports)
    currency = terms.currency or _earliest_currency(payments)
    counted = [p for p in payments if p.state.currency == currency]
    running = refunded = ZERO
    covered_by: PaymentReport | None = None
    for step in sorted(_steps(counted, refunds), key=lambda s: s.at):
        running += step.taken - step.returned
        refunded += step.returned
        if step.report_refund is not None:
            refunded += _report_refund(step.report_refund, terms.amount, refunded)
        reached = terms.amount is not None and running >= terms.amount
        if step.report is not None and covered_by is None and reached:
            covered_by = step.report
    paid = sum((p.paid for p in counted), ZERO)
    if terms.amount is not None:
        refunded = min(refunded, terms.amount)
    return Ledger(currency, payments, paid, refunded, covered_by, _latest_system(payments))


def _steps(counted: Iterable[Payment], refunds: Iterable[ReportRefund]) -> list[_Step]:
    steps = [_Step(refund.upstream, report_refund=refund) for refund in refunds]
    for payment in counted:
        if payment.succeeded is not None:
            taken = payment.state.amount
            steps.append(_Step(payment.succeeded.upstream, taken=taken, report=payment.succeeded))
        steps += [_Step(r.report.upstream, returned=r.amount) for r in payment.refunds]
    return steps


def _report_refund(refund: ReportRefund, amount: Decimal | None, refunded: Decimal) -> Decimal:
    """What one report refund returned: its own amount, or all that was left, never more."""
    if amount is None:  # nothing is known to be left: only an explicit amount counts
        return max(ZERO, refund.refunded_amount or ZERO)
    left = max(ZERO, amount - refunded)
    wanted = left if refund.refunded_amount is None else refund.refunded_amount
    return max(ZERO, min(wanted, left))


def _earliest_currency(payments: Iterable[Payment]) -> str | None:
    # Any choice fixed by the set of facts will do: the order's own currency replaces it.
    first = min((p.state for p in payments), key=lambda r: r.upstream, default=None)
    return None if first is None else first.currency


def _latest_system(payments: Iterable[Payment]) -> str | None:
    taken = [(p.succeeded.upstream, p.state.payment_system) for p in payments if p.succeeded]
    return max(taken)[1] if taken else None


__all__ = ["Ledger", "OrderTerms", "PaymentStatus", "ReportRefund", "settle"]
