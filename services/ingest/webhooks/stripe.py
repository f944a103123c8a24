"""Stripe events -> one report each. Pure.

The external status is the event type as Stripe writes it (`payment_intent.succeeded`);
event types that say nothing about an order's status are ignored. The order is the
payment: its PaymentIntent id, which the session, the charge and the dispute all name, so
their events meet on one order. docs/webhooks.md has the table and the reasons.
"""

from __future__ import annotations

from dataclasses import dataclass

from orderflow.services.ingest.webhooks import stripe_payments
from orderflow.services.ingest.webhooks.common import (
    Ignored,
    Json,
    Mapped,
    Outcome,
    as_object,
    at,
    build_report,
    customer,
    get,
    ident,
    reject,
    require_ident,
    require_text,
    text,
    unix_time,
)
from orderflow.services.ingest.webhooks.stripe_money import decimal_text
from orderflow.shared.vocabulary import Category

SOURCE = "stripe"

_C = Category
# event type -> (the `object` it carries, its category)
EVENTS: dict[str, tuple[str, Category]] = {
    "checkout.session.completed": ("checkout.session", _C.CONFIRMED),  # unless still unpaid
    "checkout.session.async_payment_succeeded": ("checkout.session", _C.CONFIRMED),
    "checkout.session.async_payment_failed": ("checkout.session", _C.DECLINED),
    "checkout.session.expired": ("checkout.session", _C.EXPIRED),
    "payment_intent.processing": ("payment_intent", _C.PENDING),
    "payment_intent.succeeded": ("payment_intent", _C.CONFIRMED),
    "payment_intent.payment_failed": ("payment_intent", _C.DECLINED),
    "payment_intent.canceled": ("payment_intent", _C.CANCELLED),
    "charge.succeeded": ("charge", _C.CONFIRMED),
    "charge.failed": ("charge", _C.DECLINED),
    # Sent for partial refunds too: those keep the order confirmed (see adapt).
    "charge.refunded": ("charge", _C.REFUNDED),
    "charge.dispute.created": ("dispute", _C.CHARGEBACK),
    "invoice.paid": ("invoice", _C.CONFIRMED),
    "invoice.payment_failed": ("invoice", _C.DECLINED),
    "invoice.voided": ("invoice", _C.CANCELLED),
}
# A completed Checkout paid by a delayed method (bank debit) is not paid yet; its
# async_payment_succeeded or async_payment_failed event follows.
_UNPAID_SESSION = "unpaid"


@dataclass(frozen=True)
class _Shape:
    """Where each kind of object keeps the order amount and the customer's contact."""

    amount: str | None
    email: str | None
    name: str | None


_SHAPES = {
    "checkout.session": _Shape("amount_total", "customer_details.email", "customer_details.name"),
    "payment_intent": _Shape("amount", "receipt_email", None),
    "charge": _Shape("amount", "billing_details.email", "billing_details.name"),
    # A dispute's amount is the disputed sum, not the order's.
    "dispute": _Shape(None, None, None),
    "invoice": _Shape("total", "customer_email", "customer_name"),
}


def adapt(tenant: str, payload: object) -> Outcome:
    """A retried delivery carries the same event id, so it is a duplicate."""
    event = as_object(payload)
    event_type = require_text(event, "type")
    if event_type not in EVENTS:
        return Ignored(f"Stripe event type {event_type!r} carries no order status")
    kind, category = EVENTS[event_type]
    obj = as_object(get(event, "data.object"), "data.object")
    if obj.get("object") != kind:
        raise reject("data.object.object", f"must be {kind!r} for a {event_type} event")
    if event_type == "checkout.session.completed" and obj.get("payment_status") == _UNPAID_SESSION:
        category = _C.PENDING
    with at("data.object"):
        fields = _object_fields(obj, kind)
    fields.update(
        tenant=tenant,
        status=event_type,
        occurred_at=unix_time(event, "created"),
        report_id=require_ident(event, "id"),
        source=SOURCE,
    )
    if event_type == "charge.refunded" and stripe_payments.partial_refund(obj, event):
        # Part of the charge is kept: the order stays paid; the payment names the refund.
        category = _C.CONFIRMED
    report = build_report(fields)
    payment = stripe_payments.payment_of(event, obj, report)
    return Mapped(report, category, (payment,) if payment else ())


def _object_fields(obj: Json, kind: str) -> Json:
    shape = _SHAPES[kind]
    amount, currency = _money(obj, shape.amount)
    return {
        "order_id": order_id(obj),
        "amount": amount,
        "currency": currency,
        "customer": _customer(obj, shape),
        "payment": {"system": SOURCE},
        "metadata": {
            "stripe_object": kind,
            "stripe_object_id": require_ident(obj, "id"),
            "stripe_livemode": obj.get("livemode") is True,
        },
    }


def _linked_id(obj: Json, field: str) -> str | None:
    # Stripe sends a linked object as its id, or as the object itself when expanded.
    return ident(obj, f"{field}.id") if isinstance(obj.get(field), dict) else ident(obj, field)


def order_id(obj: Json) -> str:
    """The PaymentIntent behind the object, else its charge, else (a subscription's
    Checkout) its invoice, else the object itself."""
    if obj.get("object") == "payment_intent":
        return require_ident(obj, "id")
    for field in ("payment_intent", "charge", "invoice"):
        if (linked := _linked_id(obj, field)) is not None:
            return linked
    return require_ident(obj, "id")


def _money(obj: Json, field: str | None) -> tuple[str | None, str | None]:
    if field is None or obj.get(field) is None:
        return None, None
    currency = require_text(obj, "currency").upper()
    return minor_amount(obj, field, currency), currency


def minor_amount(obj: Json, field: str, currency: str) -> str:
    """The integer amount in minor units at `field`, as an exact decimal string."""
    minor = obj.get(field)
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise reject(field, "must be an integer amount in minor units")
    return decimal_text(minor, currency)


def _customer(obj: Json, shape: _Shape) -> Json | None:
    email = text(obj, shape.email) if shape.email else None
    name = text(obj, shape.name) if shape.name else None
    return customer(_linked_id(obj, "customer"), email, name)
