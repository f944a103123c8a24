"""The SQL of the sales reports (CONTRACTS §9): the whole UTC days of the period from the
daily sums (migration 0003_sales_summary, kept by triggers), the partial first and last
days from the raw rows (order_views, order_items, payments), added up per group.

Orders are in the period by their created time, payments by their time (`made_at`, the
earliest report); both bounds inclusive. Every sum is Postgres numeric, so exact.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from orderflow.services.status_tracker.sales_period import Split, split
from orderflow.services.status_tracker.sales_report import By, Row, money

_RAW = "(({t} >= $4 AND {t} < $5) OR ({t} >= $6 AND {t} < $7))"
_DAYS = "($2::date IS NULL OR day >= $2) AND ($3::date IS NULL OR day < $3)"
_ORDER_SUMS = (
    "count(*), count(*) FILTER (WHERE v.has_ok), coalesce(sum(v.amount) FILTER (WHERE v.has_ok), 0),"
    " coalesce(sum(v.refunded_amount) FILTER (WHERE v.has_ok), 0)"
)
_VIEWS = f"FROM order_views v WHERE v.tenant = $1 AND v.status IS NOT NULL AND {_RAW.format(t='v.created_at')}"
_RAW_ORDERS: dict[By, str] = {
    By.OFFER: f"SELECT coalesce(v.offer_id, ''), coalesce(v.currency, ''), {_ORDER_SUMS} {_VIEWS} GROUP BY 1, 2",
    By.SALES_MANAGER: (
        f"SELECT v.sales_manager_id, coalesce(v.currency, ''), {_ORDER_SUMS} {_VIEWS}"
        " AND v.sales_manager_id IS NOT NULL AND v.sales_manager_confirmed GROUP BY 1, 2"
    ),
    By.OFFER_CATEGORY: (
        "SELECT coalesce(i.category, ''), coalesce(v.currency, ''), count(DISTINCT v.order_id),"
        " count(DISTINCT v.order_id) FILTER (WHERE v.has_ok),"
        " coalesce(sum(i.line_total) FILTER (WHERE v.has_ok), 0),"
        " coalesce(sum(refund_share(v.refunded_amount, i.line_total, v.amount, v.currency))"
        "  FILTER (WHERE v.has_ok), 0)"
        f" {_VIEWS.replace('FROM order_views v', 'FROM order_views v JOIN order_items i ON i.tenant = v.tenant AND i.order_id = v.order_id')}"
        " GROUP BY 1, 2"
    ),
}
_ORDERS = (
    "SELECT key, currency, sum(o) AS orders, sum(c) AS completed, sum(a) AS amount,"
    " sum(r) AS refunded FROM ({raw} UNION ALL SELECT key, currency, sum(orders), sum(completed),"
    " sum(amount), sum(refunded) FROM sales_days WHERE tenant = $1 AND report = '{report}' AND"
    f" {_DAYS} GROUP BY 1, 2) AS parts(key, currency, o, c, a, r) GROUP BY 1, 2 HAVING sum(o) > 0"
)
_OFFER_NAME = (
    "SELECT offer_name FROM order_views WHERE tenant = $1 AND offer_id = $2"
    " AND offer_name IS NOT NULL ORDER BY created_at DESC, order_id DESC LIMIT 1"
)
_PAYMENTS = (
    "SELECT payment_system, currency, sum(n) AS payments, sum(s) AS succeeded, sum(a) AS amount,"
    " sum(f) AS fees, sum(fc) AS funds_credited, sum(r) AS refunded FROM ("
    " SELECT p.payment_system, p.currency, count(*), count(*) FILTER (WHERE p.succeeded_at IS NOT NULL),"
    " coalesce(sum(p.amount) FILTER (WHERE p.succeeded_at IS NOT NULL), 0),"
    " coalesce(sum(coalesce(p.fee, 0)) FILTER (WHERE p.succeeded_at IS NOT NULL), 0),"
    " coalesce(sum(p.funds_credited), 0), coalesce(sum(p.refunded), 0)"
    f" FROM payments p WHERE p.tenant = $1 AND {_RAW.format(t='p.made_at')} GROUP BY 1, 2"
    " UNION ALL SELECT payment_system, currency, sum(payments), sum(succeeded), sum(amount),"
    f" sum(fees), sum(funds_credited), sum(refunded) FROM payment_days WHERE tenant = $1 AND {_DAYS}"
    " GROUP BY 1, 2) AS parts(payment_system, currency, n, s, a, f, fc, r)"
    " GROUP BY 1, 2 HAVING sum(n) > 0"
)
_KEY = {By.OFFER: "offer_id", By.SALES_MANAGER: "member_id", By.OFFER_CATEGORY: "category"}


def _args(tenant: str, period: Split) -> list[Any]:
    raw = [*period.raw, (None, None), (None, None)][:2]
    return [tenant, period.first_day, period.end_day, *raw[0], *raw[1]]


async def rows(
    conn: asyncpg.Connection, tenant: str, by: By, start: datetime | None, end: datetime | None
) -> list[Row]:
    args = _args(tenant, split(start, end))
    if by is By.PAYMENT_SYSTEM:
        return [_money(dict(r)) for r in await conn.fetch(_PAYMENTS, *args)]
    found = await conn.fetch(_ORDERS.format(raw=_RAW_ORDERS[by], report=by.value), *args)
    out = []
    for r in found:
        row = _money(dict(r))
        row[_KEY[by]] = row.pop("key") or None
        if by is By.OFFER:
            named = None if row["offer_id"] is None else row["offer_id"]
            row["offer_name"] = (
                None if named is None else await conn.fetchval(_OFFER_NAME, tenant, named)
            )
        out.append(row)
    return out


async def completed(
    conn: asyncpg.Connection, tenant: str, start: datetime | None, end: datetime | None
) -> list[tuple[str, int, Decimal]]:
    """Per currency, the completed orders of the period and their amounts net of refunds."""
    args = _args(tenant, split(start, end))
    found = await conn.fetch(_ORDERS.format(raw=_RAW_ORDERS[By.OFFER], report="offer"), *args)
    totals: dict[str, tuple[int, Decimal]] = {}
    for r in found:
        if r["currency"] and r["completed"]:
            count, net = totals.get(r["currency"], (0, Decimal(0)))
            totals[r["currency"]] = (count + int(r["completed"]), net + r["amount"] - r["refunded"])
    return [(c, n, v) for c, (n, v) in sorted(totals.items())]


def _money(r: dict[str, Any]) -> Row:
    currency = r["currency"] = r["currency"] or None  # '' in the daily sums: none
    for name in ("amount", "fees", "funds_credited", "refunded"):
        if name in r:
            r[name] = money(r[name], currency)
    for name in ("orders", "completed", "payments", "succeeded"):
        if name in r:
            r[name] = int(r[name])
    if "orders" in r:
        r["net"] = money(Decimal(r["amount"]) - Decimal(r["refunded"]), currency)
    return r
