"""WooCommerce order webhooks -> one report each, with its payment and refunds. Pure.

A WooCommerce order webhook's body is the order exactly as its REST API returns it; the
external status is the order's `status` (`processing`, `on-hold`, ...). docs/webhooks.md
has the mapping table and the reasons.
"""

from __future__ import annotations

import re

from orderflow.services.ingest.webhooks import woocommerce_payments
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
    reject,
    require_ident,
    require_text,
    text,
)
from orderflow.shared.vocabulary import Category

SOURCE = "woocommerce"

_C = Category
STATUSES: dict[str, Category] = {
    "pending": _C.PENDING,  # awaiting payment
    "on-hold": _C.PENDING,  # awaiting a manual payment (bank transfer, cheque)
    "checkout-draft": _C.PENDING,
    "processing": _C.CONFIRMED,  # paid, to be shipped
    # Paid and delivered. Orders that need no shipping (virtual, downloadable) go from
    # pending straight to completed; only `confirmed` makes an order Has OK, so completed
    # must be confirmed too or such paid orders would stay Never OK.
    "completed": _C.CONFIRMED,
    "cancelled": _C.CANCELLED,
    "failed": _C.DECLINED,
    "refunded": _C.REFUNDED,
}
# date_*_gmt fields are UTC written without an offset.
_NAIVE_TIME_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?")
_GUEST = "0"


def adapt(
    tenant: str,
    payload: object,
    resource: str | None = None,
    event: str | None = None,
) -> Outcome:
    """`resource` and `event` are X-WC-Webhook-Resource and X-WC-Webhook-Event, when sent.

    The report id is the order's state, `<id>:<date_modified_gmt>:<status>`, not the
    delivery id: WooCommerce makes a new delivery id for every attempt, and sends one
    change to every subscribed webhook (order.created and order.updated alike).
    """
    if resource not in (None, "order"):
        return Ignored(f"WooCommerce resource {resource!r} is not an order")
    if event == "deleted":
        return Ignored("a deleted order carries no status")
    body = as_object(payload)
    order_id = require_ident(body, "id")
    status = require_text(body, "status")
    modified = require_text(body, "date_modified_gmt")
    fields: Json = {
        "tenant": tenant,
        "order_id": order_id,
        "status": status,
        "occurred_at": gmt_time(body, "date_modified_gmt"),
        "report_id": f"{order_id}:{modified}:{status}",
        "source": SOURCE,
        "amount": decimal_text(body, "total"),
        "currency": text(body, "currency"),
        "customer": _customer(body),
        "items": _items(body),
        "payment": _payment(body),
        "metadata": {"woocommerce_order_number": text(body, "number") or order_id},
    }
    paid_at = gmt_time(body, "date_paid_gmt") if text(body, "date_paid_gmt") else None
    payments = woocommerce_payments.payments_of(body, fields, paid_at)
    return Mapped(build_report(fields), STATUSES.get(status), payments)


def gmt_time(body: Json, field: str) -> str:
    value = require_text(body, field)
    if not _NAIVE_TIME_RE.fullmatch(value):
        raise reject(field, "must be a date-time such as 2017-03-22T19:28:08 (UTC)")
    return f"{value}+00:00"


def _customer(body: Json) -> Json | None:
    # A guest checkout has customer_id 0: there is no customer to name.
    customer_id = ident(body, "customer_id")
    if customer_id == _GUEST:
        return None
    first, last = text(body, "billing.first_name"), text(body, "billing.last_name")
    name = " ".join(part for part in (first, last) if part) or None
    return customer(customer_id, text(body, "billing.email"), name)


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
    # Products without a SKU are named by their variation or product id.
    variation = ident(line, "variation_id")
    sku = text(line, "sku") or (variation if variation != "0" else None)
    return {
        "sku": sku or require_ident(line, "product_id"),
        "name": text(line, "name"),
        "quantity": line.get("quantity"),
        # `price` is a JSON number; the body was decoded with parse_float=Decimal.
        "unit_price": decimal_text(line, "price"),
    }


def _payment(body: Json) -> Json | None:
    method = text(body, "payment_method")
    if method is None:
        return None
    return {"system": method, "transaction_id": text(body, "transaction_id")}
