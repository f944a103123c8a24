"""Manager KPIs (CONTRACTS §7) over all the tenant's orders whatever their status: counts
and amounts per currency (never summed across currencies), by current category and status,
and a series per `day`, `week` (ISO, from Monday) or `month`, in UTC, by created time.

`from` and `to` bound the created time, both inclusive. The series lists the periods that
have orders, oldest first.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import asyncpg

INTERVALS = ("day", "week", "month")
Tally = dict[str, Any]


def _tally() -> Tally:
    return {"orders": 0, "amount": {}}


def _add(tally: Tally, orders: int, currency: str | None, amount: Decimal | None) -> None:
    tally["orders"] += orders
    if currency is not None and amount is not None:
        tally["amount"][currency] = tally["amount"].get(currency, Decimal(0)) + amount


def _shown(tally: Tally) -> Tally:
    return {
        "orders": tally["orders"],
        "amount": {c: format(a, "f") for c, a in sorted(tally["amount"].items())},
    }


def totals(groups: Iterable[asyncpg.Record]) -> dict[str, Any]:
    whole: Tally = _tally()
    by_category: dict[str, Tally] = {}
    by_status: dict[str, Tally] = {}
    for g in groups:
        for tally in (
            whole,
            by_category.setdefault(g["category"], _tally()),
            by_status.setdefault(g["status"], _tally()),
        ):
            _add(tally, g["orders"], g["currency"], g["amount"])
    return {
        **_shown(whole),
        "by_category": {k: _shown(v) for k, v in sorted(by_category.items())},
        "by_status": {k: _shown(v) for k, v in sorted(by_status.items())},
    }


def series(groups: Iterable[asyncpg.Record]) -> list[dict[str, Any]]:
    periods: dict[datetime, Tally] = {}
    for g in groups:
        _add(periods.setdefault(g["period"], _tally()), g["orders"], g["currency"], g["amount"])
    return [
        {"period_start": p.replace(tzinfo=UTC).isoformat(), **_shown(t)}
        for p, t in sorted(periods.items())
    ]


async def kpis(
    conn: asyncpg.Connection,
    tenant: str,
    start: datetime | None,
    end: datetime | None,
    interval: str,
) -> dict[str, Any]:
    assert interval in INTERVALS
    where = "tenant = $1 AND status IS NOT NULL AND ($2::timestamptz IS NULL OR created_at >= $2) AND ($3::timestamptz IS NULL OR created_at <= $3)"
    groups = await conn.fetch(
        "SELECT category, status, currency, count(*) AS orders, sum(amount) AS amount"
        f" FROM order_views WHERE {where} GROUP BY category, status, currency",
        tenant, start, end,
    )  # fmt: skip
    periods = await conn.fetch(
        f"SELECT date_trunc('{interval}', created_at AT TIME ZONE 'UTC') AS period, currency,"
        f" count(*) AS orders, sum(amount) AS amount FROM order_views WHERE {where}"
        " GROUP BY 1, 2",
        tenant, start, end,
    )  # fmt: skip
    return {**totals(groups), "series": series(periods)}
