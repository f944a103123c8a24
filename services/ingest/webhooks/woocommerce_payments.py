"""The payments in a WooCommerce order webhook (CONTRACTS §8). Pure.

A WooCommerce order says it was paid (`date_paid_gmt`) and lists its refunds (`refunds`,
each `{id, total}` with a negative total); WooCommerce has no refund webhook of its own, a
refund fires `order.updated`. Every delivery repeats the whole list, so each report must be
the same report at every delivery: the payment is dated by `date_paid_gmt`, and each refund
is a payment report of its own (`<payment>:refund:<refund id>`), since the order body dates
no refund. docs/webhooks.md has the table.
"""

from __future__ import annotations

from orderflow.services.ingest.payments import PaymentReport, PaymentStatus
from orderflow.services.ingest.webhooks.common import (
    Json,
    as_object,
    at,
    build_payment,
    decimal,
    decimal_text,
    require_ident,
    text,
)

_MAX_SYSTEM = 64


def payments_of(body: Json, order: Json, paid_at: str | None) -> tuple[PaymentReport, ...]:
    """`order` holds the mapped tenant, order_id and currency; `paid_at` the payment's time."""
    if paid_at is None or order.get("currency") is None:
        return ()
    amount = decimal_text(body, "total")
    if amount is None:
        return ()
    paid = payment_id(body, order["order_id"])
    base: Json = {
        "tenant": order["tenant"],
        "order_id": order["order_id"],
        "occurred_at": paid_at,
        "currency": order["currency"],
        "payment_system": (text(body, "payment_method") or "woocommerce")[:_MAX_SYSTEM],
    }
    found = [build_payment({**base, "payment_id": paid, "status": "succeeded", "amount": amount})]
    refunds = body.get("refunds")
    for index, entry in enumerate(refunds if isinstance(refunds, list) else []):
        with at(f"refunds[{index}]"):
            found.append(_refund(as_object(entry), base, paid))
    return tuple(found)


def payment_id(body: Json, order_id: str) -> str:
    """The gateway's transaction id when there is one, else the order's own id."""
    return text(body, "transaction_id") or order_id


def _refund(entry: Json, base: Json, paid: str) -> PaymentReport:
    total = decimal(entry, "total")
    returned = None if total is None else format(abs(total), "f")
    return build_payment(
        {
            **base,
            "payment_id": f"{paid}:refund:{require_ident(entry, 'id')}",
            "status": PaymentStatus.REFUNDED.value,
            "amount": returned,
            "refunded_amount": returned,
        }
    )
