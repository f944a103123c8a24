"""One order as the reads show it (CONTRACTS §7): its summary, its detail, its timeline.

The customer's name and the shipping address are personal data: they are returned in the
detail (to the tenant's own keys, which the route checks) and never logged.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from orderflow.services.status_tracker import store, timeline
from orderflow.services.status_tracker.order_payments import Payments
from orderflow.services.status_tracker.orders_query import SUMMARY

_ONE = "v.tenant = $1 AND v.order_id = $2 AND v.status IS NOT NULL"


def money(value: Decimal | None, like: Decimal | None = None) -> str | None:
    """A decimal string; a total (paid, refunded) padded to the scale of the order's amount,
    as the CSV export writes it (never rounded)."""
    if value is None:
        return None
    exponent = value.as_tuple().exponent
    wanted = like.as_tuple().exponent if like is not None else 0
    if isinstance(exponent, int) and isinstance(wanted, int) and wanted < exponent:
        value = value.quantize(Decimal(1).scaleb(wanted))
    return format(value, "f")


def instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def summary(row: Mapping[str, Any]) -> dict[str, Any]:
    manager = row["sales_manager_id"]
    return {
        "order_id": row["order_id"],
        "status": row["status"],
        "category": row["category"],
        "has_ok": row["has_ok"],
        "created_at": instant(row["created_at"]),
        "updated_at": instant(row["updated_at"]),
        "amount": money(row["amount"]),
        "currency": row["currency"],
        "customer_id": row["customer_id"],
        "offer_id": row["offer_id"],
        "offer_name": row["offer_name"],
        "payment_system": row["payment_system"],
        "items_count": row["items_count"],
        "sales_manager": None
        if manager is None
        else {"member_id": manager, "confirmed": bool(row["sales_manager_confirmed"])},
        "paid_amount": money(row["paid_amount"], row["amount"]),
        "payment_plan": row["payment_plan"],
    }


def _json_list(select: str, table: str, order: str) -> str:
    return (
        f"(SELECT coalesce(json_agg(json_build_object({select}) ORDER BY {order}), '[]')"
        f" FROM {table} x WHERE x.tenant = v.tenant AND x.order_id = v.order_id)"
    )


_ITEMS = _json_list(
    "'sku', x.sku, 'name', x.name, 'quantity', x.quantity, 'unit_price', x.unit_price::text,"
    " 'line_total', x.line_total::text, 'category', x.category, 'offer_id', x.offer_id,"
    " 'offer_name', x.offer_name",
    "order_items",
    "x.line",
)
_CREDITS = _json_list(
    "'member_id', x.member_id, 'via', x.via, 'model', x.model, 'confirmed', x.confirmed",
    "order_credits",
    "x.credited_at, x.member_id",
)
_NOTES = _json_list(
    "'note_id', x.note_id, 'text', x.text, 'author', x.author, 'created_at', x.created_at",
    "order_notes",
    "x.created_at, x.note_id",
)
# One statement, one round trip: the view, its details, lines, credits and notes.
_DETAIL = (
    f"SELECT {SUMMARY}, v.refunded_amount, o.expiry_due_at, d.customer_name, d.discounts,"
    f" d.metadata, d.shipping, {_ITEMS} AS items, {_CREDITS} AS credits, {_NOTES} AS notes"
    " FROM order_views v"
    " LEFT JOIN orders o ON o.tenant = v.tenant AND o.order_id = v.order_id"
    " LEFT JOIN order_details d ON d.tenant = v.tenant AND d.order_id = v.order_id"
    f" WHERE {_ONE}"
)


def _loaded(text: str | None) -> Any:
    return None if text is None else json.loads(text)


async def detail(
    conn: asyncpg.Connection, tenant: str, order_id: str, payments: Payments
) -> dict[str, Any] | None:
    row = await conn.fetchrow(_DETAIL, tenant, order_id)
    if row is None:
        return None
    notes = json.loads(row["notes"])
    for n in notes:  # as the note's POST answered it
        n["created_at"] = instant(datetime.fromisoformat(n["created_at"]))
    return {
        **summary(row),
        "refunded_amount": money(row["refunded_amount"], row["amount"]),
        "items": json.loads(row["items"]),
        "discounts": _loaded(row["discounts"]) or [],
        "metadata": _loaded(row["metadata"]),
        "customer": None
        if row["customer_id"] is None
        else {"id": row["customer_id"], "name": row["customer_name"]},
        "shipping": _loaded(row["shipping"]),
        "payments": await payments.of_order(conn, tenant, order_id),
        "credits": json.loads(row["credits"]),
        "notes": notes,
        "expiry_due_at": instant(row["expiry_due_at"]),
    }


# The timeline's entries that are not reports, in one statement.
_OTHERS = (
    "SELECT 'note' AS kind, created_at AS at, created_at AS received_at, note_id, author, text,"
    " NULL AS member_id, NULL AS via, NULL::boolean AS confirmed FROM order_notes"
    " WHERE tenant = $1 AND order_id = $2 UNION ALL"
    " SELECT 'attributed', at, received_at, NULL, NULL, NULL, member_id, via, confirmed"
    " FROM order_attributions WHERE tenant = $1 AND order_id = $2"
)
_FIELDS = {"note": ("note_id", "author", "text"), "attributed": ("member_id", "via", "confirmed")}


async def events(
    conn: asyncpg.Connection, tenant: str, order_id: str, payments: Payments
) -> list[dict[str, Any]] | None:
    """The order's timeline, oldest first; None for an order the tracker does not know."""
    keys = (tenant, order_id)
    rows = await conn.fetch("SELECT * FROM history WHERE tenant = $1 AND order_id = $2", *keys)
    if not rows:
        return None
    found = timeline.of_history([store.entry_of(r) for r in rows])
    for r in await conn.fetch(_OTHERS, *keys):
        found.append({"at": r["at"], "received_at": r["received_at"], "kind": r["kind"],
                      **{k: r[k] for k in _FIELDS[r["kind"]]}})  # fmt: skip
    found += await payments.timeline(conn, tenant, order_id)
    return [
        {**e, "at": instant(e["at"]), "received_at": instant(e["received_at"])}
        for e in timeline.ordered(found)
    ]
