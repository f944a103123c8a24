"""`order.refunded` as the status tracker publishes it on orders.lifecycle.v1 (CONTRACTS §8).

The tracker's payments work emits it; until it lands these synthetic envelopes have its shape:
`refund_amount, refunded_total, order_amount, currency, full`, money as decimal strings.
"""

from __future__ import annotations

from datetime import datetime

from orderflow.shared.envelope import Envelope, new_event


def refunded(
    tenant: str,
    order_id: str,
    at: datetime,
    refund_amount: str,
    refunded_total: str,
    order_amount: str = "100.00",
    currency: str = "EUR",
    full: bool = False,
) -> Envelope:
    return new_event(
        type="order.refunded",
        tenant=tenant,
        order_id=order_id,
        occurred_at=at,
        causation_id=f"cause:{tenant}:{order_id}:refund:{refunded_total}",
        correlation_id=f"chain:{tenant}:{order_id}",
        data={
            "refund_amount": refund_amount,
            "refunded_total": refunded_total,
            "order_amount": order_amount,
            "currency": currency,
            "full": full,
        },
        discriminator=f"refunded:{refunded_total}",
    )
