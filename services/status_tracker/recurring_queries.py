"""The reads of recurring orders (GET /v1/recurring-orders/...): one page, one order's orders."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from orderflow.services.status_tracker.recurring_state import RecurringOrder
from orderflow.services.status_tracker.recurring_store import Key, order_of


@dataclass(frozen=True)
class Filters:
    """Each set is OR-ed within and AND-ed with the others; empty: no filter."""

    status: Sequence[str] = ()
    customer_id: Sequence[str] = ()
    offer_id: Sequence[str] = ()


async def page(
    conn: asyncpg.Connection, tenant: str, filters: Filters, after: str | None, limit: int
) -> tuple[list[RecurringOrder], bool]:
    """A page in recurring_order_id order after `after`; and whether more follow."""
    rows = await conn.fetch(
        "SELECT * FROM recurring_orders WHERE tenant = $1 AND status IS NOT NULL"
        " AND (cardinality($2::text[]) = 0 OR status = ANY($2))"
        " AND (cardinality($3::text[]) = 0 OR customer_id = ANY($3))"
        " AND (cardinality($4::text[]) = 0 OR offer_id = ANY($4))"
        " AND ($5::text IS NULL OR recurring_order_id > $5)"
        " ORDER BY recurring_order_id LIMIT $6",
        tenant,
        list(filters.status),
        list(filters.customer_id),
        list(filters.offer_id),
        after,
        limit + 1,
    )
    return [order_of(r) for r in rows[:limit]], len(rows) > limit


async def one(
    conn: asyncpg.Connection, tenant: str, recurring_order_id: str
) -> RecurringOrder | None:
    row = await conn.fetchrow(
        "SELECT * FROM recurring_orders WHERE tenant = $1 AND recurring_order_id = $2"
        " AND status IS NOT NULL",
        tenant,
        recurring_order_id,
    )
    return None if row is None else order_of(row)


async def charges(conn: asyncpg.Connection, keys: Sequence[Key]) -> dict[Key, list[dict[str, Any]]]:
    """The orders of each recurring order, the initial one first."""
    rows = await conn.fetch(
        "SELECT * FROM recurring_charges WHERE (tenant, recurring_order_id) IN"
        " (SELECT * FROM unnest($1::text[], $2::text[])) ORDER BY sequence",
        [k[0] for k in keys],
        [k[1] for k in keys],
    )
    found: dict[Key, list[dict[str, Any]]] = {k: [] for k in keys}
    for r in rows:
        found[(r["tenant"], r["recurring_order_id"])].append(
            {
                "order_id": r["order_id"],
                "sequence": r["sequence"],
                "created_at": r["created_at"].isoformat(),
                "status": r["status"],
                "attempts": r["attempts"],
                "amount": None if r["amount"] is None else str(r["amount"]),
                "currency": r["currency"],
                "payment_system": r["payment_system"],
            }
        )
    return found


def view(order: RecurringOrder, orders: list[dict[str, Any]]) -> dict[str, Any]:
    terms = order.terms
    return {
        "recurring_order_id": order.recurring_order_id,
        "status": None if order.status is None else order.status.value,
        "customer_id": terms.customer_id,
        "offer_id": terms.offer_id,
        "amount": None if terms.amount is None else str(terms.amount),
        "currency": terms.currency,
        "interval": terms.interval.text,
        "payments_total": terms.payments_total,
        "payments_made": order.payments_made,
        "payments_remaining": order.payments_remaining,
        "next_payment_at": None
        if order.next_payment_at is None
        else order.next_payment_at.isoformat(),
        "orders": orders,
    }
