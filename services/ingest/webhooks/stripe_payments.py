"""The payment a Stripe charge or PaymentIntent event reports (CONTRACTS §8). Pure.

One payment per PaymentIntent (else per charge), so a charge's events and its
PaymentIntent's events are reports of one payment; the order (`stripe.order_id`) is named
the same way. A refund event names how much *this* refund returned: Stripe's
`amount_refunded` is the running total, so the total before it (`previous_attributes`) is
taken off; a full refund is sent without an amount ("what was left", §8), which is exact
whatever came before it. docs/webhooks.md has the table.
"""

from __future__ import annotations

from orderflow.services.ingest.payments import PaymentReport, PaymentStatus
from orderflow.services.ingest.reports import OrderReport
from orderflow.services.ingest.webhooks.common import (
    Json,
    build_payment,
    get,
    ident,
    require_ident,
    text,
)
from orderflow.services.ingest.webhooks.stripe_money import decimal_text

_S = PaymentStatus
STATUSES: dict[str, PaymentStatus] = {
    "charge.succeeded": _S.SUCCEEDED,
    "charge.failed": _S.FAILED,
    "charge.refunded": _S.REFUNDED,
    "payment_intent.processing": _S.PROCESSING,
    "payment_intent.succeeded": _S.SUCCEEDED,
    "payment_intent.payment_failed": _S.FAILED,
}
SYSTEM = "stripe"
_MAX_ERROR_CODE = 64


def payment_of(event: Json, obj: Json, report: OrderReport) -> PaymentReport | None:
    """The §8 report of the event, or None for a type that moves no money; the order
    report already holds the object's amount, currency and the event's time."""
    status = STATUSES.get(str(event.get("type")))
    if status is None or report.amount is None or report.currency is None:
        return None
    fields: Json = {
        "tenant": report.tenant,
        "order_id": report.order_id,
        "payment_id": payment_id(obj),
        "status": status.value,
        "occurred_at": report.occurred_at.isoformat(),
        "amount": format(report.amount, "f"),
        "currency": report.currency,
        "payment_system": SYSTEM,
    }
    if status is _S.SUCCEEDED and (received := _received(obj)) is not None:
        fields["amount"] = decimal_text(received, report.currency)
    if status is _S.FAILED:
        code = text(obj, "failure_code") or text(obj, "last_payment_error.code")
        code = code or text(obj, "last_payment_error.type")
        fields["error_code"] = code[:_MAX_ERROR_CODE] if code else None
    if status is _S.REFUNDED and (refund := partial_refund(obj, event)) is not None:
        fields["refunded_amount"] = decimal_text(refund, report.currency)
    return build_payment(fields)


def payment_id(obj: Json) -> str:
    if obj.get("object") == "payment_intent":
        return require_ident(obj, "id")
    linked = obj.get("payment_intent")
    pi = (
        ident(obj, "payment_intent.id")
        if isinstance(linked, dict)
        else ident(obj, "payment_intent")
    )
    return pi or require_ident(obj, "id")


def _received(obj: Json) -> int | None:
    """A PaymentIntent's `amount_received` (less than `amount` after a partial capture)."""
    received = _count(obj.get("amount_received")) if obj.get("object") == "payment_intent" else None
    return received if received else None


def partial_refund(obj: Json, event: Json) -> int | None:
    """This refund's minor units when part of the charge is kept (0 < `amount_refunded` <
    `amount`), else None: a full refund, whose amount is "what was left"."""
    total, refunded = _count(obj.get("amount")), _count(obj.get("amount_refunded"))
    if total is None or refunded is None or not 0 < refunded < total:
        return None
    before = _count(get(event, "data.previous_attributes.amount_refunded"))
    if before is not None and 0 <= before < refunded:
        return refunded - before
    return refunded  # no earlier total given: the first refund


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
