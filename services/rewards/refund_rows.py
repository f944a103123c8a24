"""The stored form of an order's refunds (`orders.refunds`, jsonb): no SQL here."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from orderflow.services.rewards.facts import Refunded


def refund_json(refund: Refunded) -> dict[str, Any]:
    return {
        "event_id": refund.event_id,
        "occurred_at": refund.occurred_at.isoformat(),
        "refund_amount": str(refund.refund_amount),
        "refunded_total": str(refund.refunded_total),
        "order_amount": str(refund.order_amount),
        "currency": refund.currency,
        "full": refund.full,
    }


def refund(data: dict[str, Any]) -> Refunded:
    return Refunded(
        event_id=data["event_id"],
        occurred_at=datetime.fromisoformat(data["occurred_at"]),
        refund_amount=Decimal(data["refund_amount"]),
        refunded_total=Decimal(data["refunded_total"]),
        order_amount=Decimal(data["order_amount"]),
        currency=data["currency"],
        full=bool(data["full"]),
    )
