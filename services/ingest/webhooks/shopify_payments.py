"""Shopify order transactions and refunds -> payment reports (CONTRACTS §8). Pure.

Money moves in Shopify as order transactions: a `sale` or `capture` takes it, a `refund`
returns it. `order_transactions/create` sends one transaction; `refunds/create` sends the
refund with its transactions. A refund transaction is the same report whichever topic
brought it (its payment, status and time are the same), so subscribing to both is safe.

The payment is Shopify's `payment_id` of the transaction when given (a sale and its refunds
share it), else the transaction it refunds or captures (`parent_id`), else the transaction.
A refund report names the refund's own sum: several refunds of one payment add up (§8).
docs/webhooks.md has the table.
"""

from __future__ import annotations

from orderflow.services.ingest.payments import PaymentReport, PaymentStatus
from orderflow.services.ingest.webhooks.common import (
    Ignored,
    Json,
    Outcome,
    Paid,
    as_object,
    at,
    build_payment,
    decimal_text,
    ident,
    require_ident,
    require_text,
    text,
)

TRANSACTION_TOPIC = "order_transactions/create"
_S = PaymentStatus
# (kind, status) -> the payment's status; other kinds (authorization, void, ...) move no money.
_TAKES = frozenset({"sale", "capture"})
_STATUSES = {
    "success": _S.SUCCEEDED,
    "pending": _S.PENDING,
    "failure": _S.FAILED,
    "error": _S.FAILED,
}
_MAX_TEXT = 64


def transaction(tenant: str, payload: object) -> Outcome:
    """An `order_transactions/create` delivery."""
    body = as_object(payload)
    payment = _payment(tenant, body, require_ident(body, "order_id"), None)
    if payment is None:
        kind, status = body.get("kind"), body.get("status")
        return Ignored(f"a Shopify {kind!r} transaction ({status!r}) moves no money")
    return Paid((payment,))


def refund(tenant: str, body: Json) -> Outcome:
    """A `refunds/create` delivery: one refund report per successful refund transaction."""
    order_id, currency = require_ident(body, "order_id"), _refund_currency(body)
    payments = []
    for index, tx in enumerate(body.get("transactions") or []):
        with at(f"transactions[{index}]"):
            tx = as_object(tx)
            payment = (
                _payment(tenant, tx, order_id, currency) if tx.get("kind") == "refund" else None
            )
        if payment is not None:
            payments.append(payment)
    if not payments:
        return Ignored("the refund has no successful refund transaction (nothing was paid back)")
    return Paid(tuple(payments))


def _payment(tenant: str, tx: Json, order_id: str, currency: str | None) -> PaymentReport | None:
    kind, status = tx.get("kind"), _STATUSES.get(str(tx.get("status")))
    if kind == "refund":
        status = _S.REFUNDED if status is _S.SUCCEEDED else None
    elif kind not in _TAKES:
        status = None
    if status is None:
        return None
    amount = decimal_text(tx, "amount")
    fields: Json = {
        "tenant": tenant,
        "order_id": order_id,
        "payment_id": payment_id(tx),
        "status": status.value,
        "occurred_at": text(tx, "processed_at") or require_text(tx, "created_at"),
        "amount": amount,
        "currency": text(tx, "currency") or currency,
        "payment_system": (text(tx, "gateway") or "shopify")[:_MAX_TEXT],
        "refunded_amount": amount if status is _S.REFUNDED else None,
        "error_code": _error_code(tx) if status is _S.FAILED else None,
    }
    return build_payment(fields)


def payment_id(tx: Json) -> str:
    return text(tx, "payment_id") or ident(tx, "parent_id") or require_ident(tx, "id")


def _error_code(tx: Json) -> str | None:
    code = text(tx, "error_code")
    return code[:_MAX_TEXT] if code else None


def _refund_currency(body: Json) -> str | None:
    """A refund transaction may leave `currency` out; the refund's own sums name the shop's."""
    if code := text(body, "total_duties_set.shop_money.currency_code"):
        return code
    lines = body.get("refund_line_items")
    if isinstance(lines, list) and lines and isinstance(lines[0], dict):
        return text(lines[0], "subtotal_set.shop_money.currency_code")
    return None
