"""Read side of the HTTP API: a member's balances, ledger and rewards, from this schema."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from orderflow.services.rewards.money import to_minor_units


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_after: int | None  # pass as `after` for the next page; None on the last page


async def balances(conn: asyncpg.Connection, tenant: str, member_id: str) -> list[dict[str, str]]:
    """Per currency: accrued, approved, reversed (signed), available and pending.

    `available` is what was approved minus reversals that came after approval, so it may go
    negative; `pending` is accrued, not yet approved, not reversed.
    """
    rows = await conn.fetch(
        "SELECT currency,"
        " coalesce(sum(amount) FILTER (WHERE kind = 'accrued'), 0) AS accrued,"
        " coalesce(sum(amount) FILTER (WHERE kind = 'approved'), 0) AS approved,"
        " coalesce(sum(amount) FILTER (WHERE kind = 'reversed'), 0) AS reversed,"
        " coalesce(sum(amount) FILTER (WHERE kind = 'reversed' AND after_approval), 0) AS late"
        " FROM ledger WHERE tenant = $1 AND member_id = $2 GROUP BY currency ORDER BY currency",
        tenant,
        member_id,
    )
    result = []
    for r in rows:
        currency = r["currency"]
        amounts = {
            "accrued": r["accrued"],
            "approved": r["approved"],
            "reversed": r["reversed"],
            "available": r["approved"] + r["late"],
            "pending": r["accrued"] + (r["reversed"] - r["late"]) - r["approved"],
        }
        money = {k: format(to_minor_units(v, currency), "f") for k, v in amounts.items()}
        result.append({"currency": currency, **money})
    return result


async def ledger_page(
    conn: asyncpg.Connection, tenant: str, member_id: str, after: int, limit: int
) -> Page:
    rows = await conn.fetch(
        "SELECT seq, entry_id, order_id, kind, amount, currency, reason, occurred_at, recorded_at"
        " FROM ledger WHERE tenant = $1 AND member_id = $2 AND seq > $3 ORDER BY seq LIMIT $4",
        tenant,
        member_id,
        after,
        limit + 1,
    )
    items = [
        {
            "entry_id": r["entry_id"],
            "type": f"commission.{r['kind']}",
            "order_id": r["order_id"],
            "amount": format(r["amount"], "f"),
            "currency": r["currency"],
            "reason": r["reason"],
            "occurred_at": r["occurred_at"].isoformat(),
            "recorded_at": r["recorded_at"].isoformat(),
        }
        for r in rows[:limit]
    ]
    return Page(items, rows[limit - 1]["seq"] if len(rows) > limit else None)


async def rewards_page(
    conn: asyncpg.Connection, tenant: str, member_id: str, after: int, limit: int
) -> Page:
    rows = await conn.fetch(
        "SELECT seq, reward_id, order_id, challenge_id, points, badge, occurred_at FROM rewards"
        " WHERE tenant = $1 AND member_id = $2 AND seq > $3 ORDER BY seq LIMIT $4",
        tenant,
        member_id,
        after,
        limit + 1,
    )
    items = [
        {
            "reward_id": r["reward_id"],
            "order_id": r["order_id"],
            "challenge_id": r["challenge_id"],
            "points": r["points"],
            "badge": r["badge"],
            "occurred_at": r["occurred_at"].isoformat(),
        }
        for r in rows[:limit]
    ]
    return Page(items, rows[limit - 1]["seq"] if len(rows) > limit else None)


async def total_points(conn: asyncpg.Connection, tenant: str, member_id: str) -> int:
    total: int = await conn.fetchval(
        "SELECT coalesce(sum(points), 0) FROM rewards WHERE tenant = $1 AND member_id = $2",
        tenant,
        member_id,
    )
    return total
