"""Shopify `orders/*` webhooks -> one report each; refunds and transactions -> payments. Pure.

The external status is Shopify's own word: the order's `financial_status`, or `cancelled`
for a cancelled order. Refunds and order transactions move money: they become payment
reports (`shopify_payments.py`), not order statuses. docs/webhooks.md has the
mapping table and the reasons behind it.
"""

from __future__ import annotations

from orderflow.services.ingest.webhooks import shopify_payments
from orderflow.services.ingest.webhooks.common import (
    Ignored,
    Json,
    Mapped,
    Outcome,
    as_object,
    at,
    build_report,
    customer,
    decimal_text,
    ident,
    require_ident,
    require_text,
    text,
)
from orderflow.shared.vocabulary import Category

SOURCE = "shopify"
CANCELLED = "cancelled"

# Topics whose body is the order itself; other orders/* topics (edited, risk, ...) are not.
ORDER_TOPICS = frozenset(
    f"orders/{name}"
    for name in ("create", "updated", "paid", "cancelled", "fulfilled", "partially_fulfilled")
)
REFUND_TOPIC = "refunds/create"

_C = Category
# Shopify's financial_status words, then the two words of our own.
CATEGORIES: dict[str, Category] = {
    "pending": _C.PENDING,
    "authorized": _C.PENDING,  # reserved on the card, not captured: not paid yet
    "partially_paid": _C.PENDING,
    "paid": _C.CONFIRMED,
    # Part of the money was returned and the rest kept: still paid. The refund itself is a
    # payment report of refunds/create, with its sum (CONTRACTS §8, pro rata).
    "partially_refunded": _C.CONFIRMED,
    "refunded": _C.REFUNDED,
    "voided": _C.CANCELLED,
    "expired": _C.EXPIRED,
    CANCELLED: _C.CANCELLED,
}
# A cancelled order that was paid and then refunded is first of all refunded: the reversal
# is what commissions and rewards must see.
_REFUND_WINS_OVER_CANCEL = frozenset({"refunded", "partially_refunded"})


def adapt(
    tenant: str,
    payload: object,
    topic: str | None,
    webhook_id: str | None,
    event_id: str | None = None,
) -> Outcome:
    """`topic`, `webhook_id` and `event_id` are X-Shopify-Topic, -Webhook-Id and -Event-Id,
    when sent.

    Without a topic the body's shape decides (a refund has `order_id` and
    `refund_line_items`). The report's identity is `delivery_id`'s.
    """
    body = as_object(payload)
    if topic == REFUND_TOPIC or (topic is None and "refund_line_items" in body):
        return shopify_payments.refund(tenant, body)
    if topic == shopify_payments.TRANSACTION_TOPIC:
        return shopify_payments.transaction(tenant, body)
    if topic is not None and topic not in ORDER_TOPICS:
        return Ignored(f"Shopify topic {topic!r} carries no order status")
    return _order(tenant, body, topic, delivery_id(event_id, webhook_id, topic or "orders"))


def delivery_id(event_id: str | None, webhook_id: str | None, topic: str) -> str | None:
    """Shopify redelivers one event with its X-Shopify-Event-Id, and sends one event to each
    subscription of a topic (other API versions, so other body shapes) with the same event
    id and another webhook id: the event id and the topic name the report, whatever the
    body. The topic stays in, so the several topics one merchant action may cause remain a
    report each, as they were. Without an event id the webhook id (kept across the retries
    of one delivery) does."""
    if event_id and event_id.strip():
        return f"event:{event_id.strip()}:{topic}"
    return webhook_id


def order_status(body: Json) -> str:
    financial = text(body, "financial_status")
    if body.get("cancelled_at") and financial not in _REFUND_WINS_OVER_CANCEL:
        return CANCELLED
    return financial or require_text(body, "financial_status")


def _order(tenant: str, body: Json, topic: str | None, report_id: str | None) -> Mapped:
    status = order_status(body)
    when = "cancelled_at" if status == CANCELLED else "updated_at"
    fields: Json = {
        "tenant": tenant,
        "order_id": require_ident(body, "id"),
        "status": status,
        "occurred_at": text(body, when) or require_text(body, "created_at"),
        # Without a delivery id the §3.1 identity (order, status, time) applies.
        "report_id": report_id,
        "source": SOURCE,
        "amount": decimal_text(body, "total_price"),
        "currency": text(body, "currency"),
        "customer": _customer(body),
        "items": _items(body),
        "metadata": _present({"shopify_order_name": text(body, "name"), "shopify_topic": topic}),
    }
    return Mapped(build_report(fields), CATEGORIES.get(status))


def _present(values: dict[str, str | None]) -> dict[str, str] | None:
    return {k: v for k, v in values.items() if v is not None} or None


def _customer(body: Json) -> Json | None:
    first, last = text(body, "customer.first_name"), text(body, "customer.last_name")
    name = " ".join(part for part in (first, last) if part) or None
    return customer(ident(body, "customer.id"), text(body, "customer.email"), name)


def _items(body: Json) -> list[Json] | None:
    lines = body.get("line_items")
    if not isinstance(lines, list) or not lines:
        return None
    items = []
    for index, line in enumerate(lines):
        with at(f"line_items[{index}]"):
            items.append(_item(as_object(line)))
    return items


def _item(line: Json) -> Json:
    # Custom lines have no SKU; the variant, product or line id still names them.
    sku = text(line, "sku") or ident(line, "variant_id") or ident(line, "product_id")
    return {
        "sku": sku or require_ident(line, "id"),
        "name": text(line, "title") or text(line, "name"),
        "quantity": line.get("quantity"),
        "unit_price": decimal_text(line, "price"),
    }
