"""Translation between `payment.reported` on the wire, the history, and the payments facts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from orderflow.services.status_tracker.domain import LifecycleEvent, OrderState
from orderflow.services.status_tracker.history import REVERSAL_CATEGORIES, HistoryEntry
from orderflow.services.status_tracker.messages import Outgoing, lifecycle_envelope
from orderflow.services.status_tracker.payments import PaymentReport, PaymentStatus
from orderflow.services.status_tracker.payments_ledger import OrderTerms, ReportRefund
from orderflow.shared import topics
from orderflow.shared.envelope import Envelope
from orderflow.shared.errors import Rejected

REPORTED = "payment.reported"


def payments_by_event(events: Sequence[Envelope]) -> dict[str, PaymentReport]:
    """Each event's payment report by event id; every record is checked before any write."""
    reports: dict[str, PaymentReport] = {}
    for event in events:
        reports.setdefault(event.event_id, payment_from(event))
    return reports


def payment_from(event: Envelope) -> PaymentReport:
    """The payment report ingest published; anything malformed can never succeed."""
    if event.type != REPORTED or event.order_id is None:
        raise Rejected(
            f"type: expected {REPORTED} with an order_id, got {event.type}", "unexpected_event"
        )
    data = event.data
    try:
        return PaymentReport(
            report_id=str(data["report_id"]),
            payment_id=str(data["payment_id"]),
            status=PaymentStatus(data["status"]),
            occurred_at=event.occurred_at,
            received_at=datetime.fromisoformat(data["received_at"]),
            amount=Decimal(str(data["amount"])),
            currency=str(data["currency"]),
            payment_system=str(data["payment_system"]),
            source=str(data.get("source") or "api"),
            fee=_decimal(data.get("fee")),
            one_click=data.get("one_click"),
            share_percent=_decimal(data.get("share_percent")),
            refunded_amount=_decimal(data.get("refunded_amount")),
            error_code=data.get("error_code"),
            comment=data.get("comment"),
            recurring_order_id=data.get("recurring_order_id"),
        )
    except (KeyError, ValueError, TypeError, InvalidOperation) as exc:
        # No message can hold the comment (personal data): it is never parsed, only carried.
        raise Rejected(
            f"data: malformed payment.reported ({type(exc).__name__}: {exc})",
            "invalid_event",
        ) from exc


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def report_refunds(history: Iterable[HistoryEntry]) -> tuple[ReportRefund, ...]:
    """The refunds status reports carry: each report the profile gave a refunded or
    chargeback status, returning its `refunded_amount` (absent: all that was left)."""
    return tuple(
        ReportRefund(
            entry.report_id,
            entry.occurred_at,
            entry.details.refunded_amount if entry.details is not None else None,
        )
        for entry in history
        if entry.category in REVERSAL_CATEGORIES
    )


def terms_of(state: OrderState | None) -> OrderTerms:
    if state is None:
        return OrderTerms()
    return OrderTerms(state.summary.amount, state.summary.currency)


def lifecycle_rows(
    events: Iterable[LifecycleEvent],
    tenant: str,
    order_id: str,
    causation_id: str,
    correlation_id: str,
) -> list[Outgoing]:
    return [
        (
            topics.ORDERS_LIFECYCLE,
            lifecycle_envelope(event, tenant, order_id, causation_id, correlation_id),
            None,
        )
        for event in events
    ]
