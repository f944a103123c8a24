"""Writes of the orders read model (migration 0002): each in the caller's transaction.

Every writer upserts only its own columns of `order_views`, so the report handler, the
attribution handler and the payments code never overwrite each other, whichever comes first.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import asyncpg

from orderflow.services.status_tracker import store
from orderflow.services.status_tracker.order_view import OrderView, view_of

_VIEW_COLUMNS = (
    "tenant, order_id, status, category, has_ok, created_at, updated_at, amount, currency,"
    " customer_id, offer_id, offer_name, report_payment_system, items_count, payment_plan,"
    " recurring_order_id"
)
_VIEW_TYPES = (
    "text[], text[], text[], text[], boolean[], timestamptz[], timestamptz[], numeric[], text[],"
    " text[], text[], text[], text[], integer[], text[], text[]"
)
_KEYS_IN = "(tenant, order_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))"


async def set_payments(
    conn: asyncpg.Connection,
    tenant: str,
    order_id: str,
    *,
    paid_amount: Decimal,
    refunded_amount: Decimal,
    payment_system: str | None,
) -> None:
    """The order's payment totals (CONTRACTS §8), for the payments code to call in its own
    transaction: `paid_amount` (ever succeeded minus refunded), `refunded_amount` (refunded in
    all) and the `payment_system` of the latest succeeded payment (None: none succeeded, the
    list then shows the reports' `payment.system`). Works before the order's first report."""
    await conn.execute(
        "INSERT INTO order_views (tenant, order_id, paid_amount, refunded_amount,"
        " paid_payment_system) VALUES ($1, $2, $3, $4, $5)"
        " ON CONFLICT (tenant, order_id) DO UPDATE SET paid_amount = EXCLUDED.paid_amount,"
        " refunded_amount = EXCLUDED.refunded_amount,"
        " paid_payment_system = EXCLUDED.paid_payment_system",
        tenant,
        order_id,
        paid_amount,
        refunded_amount,
        payment_system,
    )


async def set_payments_many(
    conn: asyncpg.Connection, totals: Sequence[tuple[str, str, Decimal, Decimal, str | None]]
) -> None:
    """`set_payments` for many orders in one statement: rows of (tenant, order_id,
    paid_amount, refunded_amount, payment_system); runs even for none (a fixed cost)."""
    await conn.execute(
        "INSERT INTO order_views (tenant, order_id, paid_amount, refunded_amount,"
        " paid_payment_system) SELECT * FROM unnest($1::text[], $2::text[], $3::numeric[],"
        " $4::numeric[], $5::text[]) ON CONFLICT (tenant, order_id) DO UPDATE SET"
        " paid_amount = EXCLUDED.paid_amount, refunded_amount = EXCLUDED.refunded_amount,"
        " paid_payment_system = EXCLUDED.paid_payment_system",
        *_columns(totals, 5),
    )


async def save_orders(conn: asyncpg.Connection, orders: Sequence[store.Order]) -> None:
    """The orders' decisions (`store.save_many`), then the views of those that changed."""
    await store.save_many(conn, orders)
    views = [
        view_of(o.tenant, o.order_id, o.state, o.history)
        for o in orders
        if o.unsaved and o.state is not None
    ]
    await save_views(conn, views)


async def save_views(conn: asyncpg.Connection, views: Sequence[OrderView]) -> None:
    """Upsert the report-derived part of each order's view, its details and its lines."""
    if not views:
        return
    await conn.execute(
        f"INSERT INTO order_views ({_VIEW_COLUMNS}) SELECT * FROM unnest({_unnest(_VIEW_TYPES)})"
        " ON CONFLICT (tenant, order_id) DO UPDATE SET "
        + ", ".join(f"{c} = EXCLUDED.{c}" for c in _VIEW_COLUMNS.split(", ")[2:]),
        *_columns([_view_row(v) for v in views], 16),
    )
    await conn.execute(
        "INSERT INTO order_details (tenant, order_id, customer_name, discounts, metadata, shipping)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[], $5::jsonb[],"
        " $6::jsonb[]) ON CONFLICT (tenant, order_id) DO UPDATE SET"
        " customer_name = EXCLUDED.customer_name, discounts = EXCLUDED.discounts,"
        " metadata = EXCLUDED.metadata, shipping = EXCLUDED.shipping",
        *_columns([_details_row(v) for v in views], 6),
    )
    keys = _columns([(v.tenant, v.order_id) for v in views], 2)
    await conn.execute(f"DELETE FROM order_items WHERE {_KEYS_IN}", *keys)
    lines = [_line_row(v, n, item) for v in views for n, item in enumerate(v.items, 1)]
    await conn.execute(  # even with no lines: a batch costs the same statements whatever it holds
        "INSERT INTO order_items (tenant, order_id, line, sku, name, quantity, unit_price,"
        " line_total, category, offer_id, offer_name) SELECT * FROM unnest($1::text[],"
        " $2::text[], $3::integer[], $4::text[], $5::text[], $6::integer[], $7::numeric[],"
        " $8::numeric[], $9::text[], $10::text[], $11::text[])",
        *_columns(lines, 11),
    )


def _unnest(types: str) -> str:
    return ", ".join(f"${i}::{t}" for i, t in enumerate(types.split(", "), 1))


def _columns(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    return [[row[i] for row in rows] for i in range(width)]


def _view_row(v: OrderView) -> tuple[Any, ...]:
    return (
        v.tenant,
        v.order_id,
        v.status,
        v.category.value,
        v.has_ok,
        v.created_at,
        v.updated_at,
        v.amount,
        v.currency,
        v.customer_id,
        v.offer_id,
        v.offer_name,
        v.payment_system,
        len(v.items),
        v.payment_plan,
        v.recurring_order_id,
    )


def _details_row(v: OrderView) -> tuple[Any, ...]:
    def dumped(value: object) -> str | None:
        return None if value is None else json.dumps(value)

    return (
        v.tenant,
        v.order_id,
        v.customer_name,
        json.dumps(list(v.discounts)),
        dumped(v.metadata),
        dumped(v.shipping),
    )


def _line_row(v: OrderView, line: int, item: Any) -> tuple[Any, ...]:
    return (
        v.tenant,
        v.order_id,
        line,
        item.sku,
        item.name,
        item.quantity,
        item.unit_price,
        item.unit_price * item.quantity,
        item.category,
        item.offer_id,
        item.offer_name,
    )
