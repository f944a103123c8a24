"""One payment (invoice) of an order, read from its reports in upstream time (CONTRACTS §8).

Pure. A payment's state is its report with the latest `occurred_at`; everything else
(whether it ever succeeded, how much of it was refunded) is read from all of its reports
sorted in upstream time, so the answer does not depend on the order they arrived in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

ZERO = Decimal(0)


class PaymentStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"


# Two reports of one payment at the same instant: the one further along the lifecycle is
# the later, so a tie never depends on arrival order.
_LIFECYCLE_RANK = {
    PaymentStatus.PENDING: 0,
    PaymentStatus.PROCESSING: 1,
    PaymentStatus.FAILED: 2,
    PaymentStatus.SUCCEEDED: 3,
    PaymentStatus.REFUNDED: 4,
}
# A refund is only ever made of money that was taken: it proves the payment succeeded even
# when its succeeded report is missing or still on its way.
_TAKEN = frozenset({PaymentStatus.SUCCEEDED, PaymentStatus.REFUNDED})


@dataclass(frozen=True)
class PaymentReport:
    """One report of one payment, as ingest recorded it (`payment.reported`)."""

    report_id: str
    payment_id: str
    status: PaymentStatus
    occurred_at: datetime
    received_at: datetime
    amount: Decimal
    currency: str
    payment_system: str
    source: str = "api"
    fee: Decimal | None = None
    one_click: bool | None = None
    share_percent: Decimal | None = None
    refunded_amount: Decimal | None = None  # with `refunded`: None = what was left
    error_code: str | None = None
    comment: str | None = None  # the buyer's: personal data, never logged
    recurring_order_id: str | None = None

    def __post_init__(self) -> None:
        if self.occurred_at.tzinfo is None or self.received_at.tzinfo is None:
            raise ValueError(f"payment report {self.report_id}: times must carry a UTC offset")

    @property
    def upstream(self) -> tuple[datetime, int, str]:
        """Its place in upstream time: sorting by this is the same whatever the arrival order."""
        return self.occurred_at, _LIFECYCLE_RANK[self.status], self.report_id


@dataclass(frozen=True)
class Refund:
    """One refund report of a payment and what it actually returned."""

    report: PaymentReport
    amount: Decimal


@dataclass(frozen=True)
class Payment:
    payment_id: str
    state: PaymentReport  # the report latest upstream
    succeeded: PaymentReport | None  # the earliest report showing the money was taken
    refunds: tuple[Refund, ...]  # in upstream time
    made_at: datetime  # the payment's time: its earliest report
    # What a later report does not repeat (a refund report seldom names the fee) is not
    # lost: each of these is taken from the latest report that says it.
    fee: Decimal | None = None
    one_click: bool | None = None
    share_percent: Decimal | None = None

    @property
    def status(self) -> PaymentStatus:
        return self.state.status

    @property
    def refunded(self) -> Decimal:
        return sum((r.amount for r in self.refunds), ZERO)

    @property
    def funds_credited(self) -> Decimal | None:
        """`amount - fee` of a payment that succeeded; None for one that never did."""
        if self.succeeded is None:
            return None
        return self.state.amount - (self.fee or ZERO)

    @property
    def paid(self) -> Decimal:
        """What this payment still contributes to the order: taken minus refunded."""
        return ZERO if self.succeeded is None else self.state.amount - self.refunded


def payment_of(reports: Iterable[PaymentReport]) -> Payment:
    """The payment that these reports (all of one payment id) describe."""
    ordered = sorted(reports, key=lambda r: r.upstream)
    if not ordered:
        raise ValueError("a payment has at least one report")
    if len({r.payment_id for r in ordered}) != 1:
        raise ValueError("reports of several payments given as one")
    state = ordered[-1]
    succeeded = next((r for r in ordered if r.status in _TAKEN), None)
    refunds = _refunds(ordered, state.amount)
    return Payment(
        state.payment_id,
        state,
        succeeded,
        refunds,
        ordered[0].occurred_at,
        fee=next((r.fee for r in reversed(ordered) if r.fee is not None), None),
        one_click=next((r.one_click for r in reversed(ordered) if r.one_click is not None), None),
        share_percent=next(
            (r.share_percent for r in reversed(ordered) if r.share_percent is not None), None
        ),
    )


def _refunds(ordered: list[PaymentReport], amount: Decimal) -> tuple[Refund, ...]:
    """Each refund report's share, in upstream time: several add up, none returns more than
    was left, and one without `refunded_amount` returns all that was left."""
    left = amount
    refunds = []
    for report in ordered:
        if report.status is not PaymentStatus.REFUNDED:
            continue
        wanted = left if report.refunded_amount is None else report.refunded_amount
        returned = max(ZERO, min(wanted, left))
        left -= returned
        refunds.append(Refund(report, returned))
    return tuple(refunds)


def payments_of(reports: Iterable[PaymentReport]) -> tuple[Payment, ...]:
    """Every payment of an order, by payment id."""
    by_id: dict[str, list[PaymentReport]] = {}
    for report in reports:
        by_id.setdefault(report.payment_id, []).append(report)
    return tuple(payment_of(by_id[payment_id]) for payment_id in sorted(by_id))
