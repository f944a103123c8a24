"""The SQL of what decisions produce: ledger entries, rewards, and member statistics.

Each write is guarded by a unique key (`ON CONFLICT DO NOTHING RETURNING`): the caller
publishes an event only for a row that was really inserted, never after checking first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg

from orderflow.services.rewards.conditions import MemberStats
from orderflow.services.rewards.entries import CountedOrder, LedgerEntry, RewardGrant
from orderflow.services.rewards.facts import OrderBook


async def append_entry(conn: asyncpg.Connection, book: OrderBook, entry: LedgerEntry) -> bool:
    """Append one ledger entry; False when the line already has an entry of that kind."""
    inserted = await conn.fetchval(
        "INSERT INTO ledger (entry_id, tenant, order_id, line_id, member_id, kind, amount,"
        " currency, reason, after_approval, occurred_at, cause_id)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        " ON CONFLICT DO NOTHING RETURNING 1",
        entry.entry_id,
        book.tenant,
        book.order_id,
        entry.line_id,
        entry.member_id,
        entry.kind.value,
        entry.amount,
        entry.currency,
        entry.reason,
        entry.after_approval,
        entry.occurred_at,
        entry.cause,
    )
    return inserted is not None


async def grant_reward(conn: asyncpg.Connection, book: OrderBook, reward: RewardGrant) -> bool:
    """Record one reward; False when (challenge, member, order) was already rewarded."""
    inserted = await conn.fetchval(
        "INSERT INTO rewards (reward_id, tenant, order_id, member_id, challenge_id, points,"
        " badge, occurred_at, cause_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        " ON CONFLICT DO NOTHING RETURNING 1",
        reward.reward_id,
        book.tenant,
        book.order_id,
        reward.member_id,
        reward.challenge_id,
        reward.points,
        reward.badge,
        reward.occurred_at,
        reward.cause,
    )
    return inserted is not None


async def count_order(conn: asyncpg.Connection, tenant: str, counted: CountedOrder) -> None:
    """Add an order to the member's statistics, once (the caller holds the member's lock)."""
    inserted = await conn.fetchval(
        "INSERT INTO member_orders (tenant, member_id, order_id, confirmed_at, amount, currency)"
        " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING 1",
        tenant,
        counted.member_id,
        counted.order_id,
        counted.confirmed_at,
        counted.amount,
        counted.currency,
    )
    if inserted is None:
        return
    await conn.execute(
        "INSERT INTO member_stats (tenant, member_id, order_count, last_purchase_at)"
        " VALUES ($1, $2, 1, $3) ON CONFLICT (tenant, member_id) DO UPDATE SET"
        " order_count = member_stats.order_count + 1,"
        " last_purchase_at = greatest(member_stats.last_purchase_at, EXCLUDED.last_purchase_at)",
        tenant,
        counted.member_id,
        counted.confirmed_at,
    )


async def member_stats(
    conn: asyncpg.Connection, tenant: str, member_id: str, around: datetime, window: timedelta
) -> MemberStats:
    """The member's statistics, with the order times within `window` either side of `around`."""
    row = await conn.fetchrow(
        "SELECT order_count, last_purchase_at FROM member_stats"
        " WHERE tenant = $1 AND member_id = $2",
        tenant,
        member_id,
    )
    if row is None:
        return MemberStats()
    times: list[datetime] = []
    if window > timedelta(0):
        rows = await conn.fetch(
            "SELECT confirmed_at FROM member_orders WHERE tenant = $1 AND member_id = $2"
            " AND confirmed_at BETWEEN $3 AND $4 ORDER BY confirmed_at",
            tenant,
            member_id,
            around - window,
            around + window,
        )
        times = [r["confirmed_at"] for r in rows]
    return MemberStats(row["order_count"], row["last_purchase_at"], tuple(times))
