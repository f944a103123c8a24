"""Builders of payment facts for the payments unit tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from orderflow.services.status_tracker.payments import PaymentReport, PaymentStatus
from orderflow.services.status_tracker.payments_ledger import ReportRefund

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def pay(
    payment_id: str,
    status: str,
    hours: float,
    amount: str = "100.00",
    *,
    currency: str = "EUR",
    fee: str | None = None,
    refunded: str | None = None,
    system: str = "stripe",
    share: str | None = None,
) -> PaymentReport:
    return PaymentReport(
        report_id=f"{payment_id}:{status}:{hours}",
        payment_id=payment_id,
        status=PaymentStatus(status),
        occurred_at=at(hours),
        received_at=at(1000),
        amount=Decimal(amount),
        currency=currency,
        payment_system=system,
        fee=None if fee is None else Decimal(fee),
        refunded_amount=None if refunded is None else Decimal(refunded),
        share_percent=None if share is None else Decimal(share),
    )


def report_refund(report_id: str, hours: float, amount: str | None = None) -> ReportRefund:
    return ReportRefund(report_id, at(hours), None if amount is None else Decimal(amount))
