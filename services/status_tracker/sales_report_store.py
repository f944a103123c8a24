"""The SQL of the sales reports (CONTRACTS §9): one grouped statement per report, over the
orders read model (`order_views`, `order_items`) and the payments table.

Orders are in the period by their created time, payments by their time (`made_at`, the
earliest report); both bounds inclusive. Every sum is Postgres numeric, so exact.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from orderflow.services.status_tracker.sales_report import By, Row, money

_ORDERS = "v.tenant = $1 AND v.status IS NOT NULL AND ($2::timestamptz IS NULL OR v.created_at >= $2) AND ($3::timestamptz IS NULL OR v.created_at <= $3)"
_ORDER_SUMS = (
    "count(*) AS orders, count(*) FILTER (WHERE v.has_ok) AS completed,"
    " sum(v.amount) FILTER (WHERE v.has_ok) AS amount,"
    " sum(v.refunded_amount) FILTER (WHERE v.has_ok) AS refunded"
)
_SQL: dict[By, str] = {
    By.OFFER: (
        f"SELECT v.offer_id, v.currency, {_ORDER_SUMS},"
        " (array_agg(v.offer_name ORDER BY v.created_at DESC, v.order_id DESC)"
        "  FILTER (WHERE v.offer_name IS NOT NULL))[1] AS offer_name"
        f" FROM order_views v WHERE {_ORDERS} GROUP BY v.offer_id, v.currency"
    ),
    By.SALES_MANAGER: (
        f"SELECT v.sales_manager_id AS member_id, v.currency, {_ORDER_SUMS}"
        f" FROM order_views v WHERE {_ORDERS} AND v.sales_manager_id IS NOT NULL"
        " AND v.sales_manager_confirmed GROUP BY v.sales_manager_id, v.currency"
    ),
    By.OFFER_CATEGORY: (
        "SELECT i.category, v.currency, count(DISTINCT v.order_id) AS orders,"
        " count(DISTINCT v.order_id) FILTER (WHERE v.has_ok) AS completed,"
        " sum(i.line_total) FILTER (WHERE v.has_ok) AS amount,"
        " sum(refund_share(v.refunded_amount, i.line_total, v.amount, v.currency))"
        "  FILTER (WHERE v.has_ok) AS refunded"
        " FROM order_views v JOIN order_items i ON i.tenant = v.tenant AND i.order_id = v.order_id"
        f" WHERE {_ORDERS} GROUP BY i.category, v.currency"
    ),
    By.PAYMENT_SYSTEM: (
        "SELECT p.payment_system, p.currency, count(*) AS payments,"
        " count(*) FILTER (WHERE p.succeeded_at IS NOT NULL) AS succeeded,"
        " sum(p.amount) FILTER (WHERE p.succeeded_at IS NOT NULL) AS amount,"
        " sum(coalesce(p.fee, 0)) FILTER (WHERE p.succeeded_at IS NOT NULL) AS fees,"
        " sum(p.funds_credited) AS funds_credited, sum(p.refunded) AS refunded"
        " FROM payments p WHERE p.tenant = $1 AND ($2::timestamptz IS NULL OR p.made_at >= $2)"
        " AND ($3::timestamptz IS NULL OR p.made_at <= $3) GROUP BY p.payment_system, p.currency"
    ),
}
_TOTALS = (
    "SELECT v.currency, count(*) AS completed, sum(v.amount - v.refunded_amount) AS net"
    f" FROM order_views v WHERE {_ORDERS} AND v.has_ok AND v.currency IS NOT NULL"
    " GROUP BY v.currency"
)


async def rows(
    conn: asyncpg.Connection, tenant: str, by: By, start: datetime | None, end: datetime | None
) -> list[Row]:
    found = await conn.fetch(_SQL[by], tenant, start, end)
    return [_row(by, dict(r)) for r in found]


async def completed(
    conn: asyncpg.Connection, tenant: str, start: datetime | None, end: datetime | None
) -> list[tuple[str, int, Decimal]]:
    found = await conn.fetch(_TOTALS, tenant, start, end)
    return [(r["currency"], r["completed"], r["net"]) for r in found]


def _row(by: By, r: dict[str, Any]) -> Row:
    currency = r["currency"]
    for name in ("amount", "fees", "funds_credited", "refunded"):
        if name in r:
            r[name] = money(r[name], currency)
    if by is not By.PAYMENT_SYSTEM:
        r["net"] = money(Decimal(r["amount"]) - Decimal(r["refunded"]), currency)
    return r
