"""The SQL of what decisions produce: ledger entries, rewards, and member statistics.

One statement per kind of write for a whole batch. Each insert is guarded by a unique key
(`ON CONFLICT DO NOTHING RETURNING`): the caller publishes an event only for a row that was
really inserted, never after checking first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import asyncpg

from orderflow.services.rewards.challenges import MemberState
from orderflow.services.rewards.entries import CountedOrder, LedgerEntry, RewardGrant

MemberKey = tuple[str, str]  # (tenant, member_id)
Posted = tuple[str, str, LedgerEntry]  # (tenant, order_id, entry)
Granted = tuple[str, str, RewardGrant]  # (tenant, order_id, reward)


async def append_entries(conn: asyncpg.Connection, posted: Sequence[Posted]) -> set[str]:
    """Append the entries in order; the ids of those inserted (a line has one of each kind)."""
    if not posted:
        return set()
    rows = await conn.fetch(
        "INSERT INTO ledger (entry_id, tenant, order_id, line_id, member_id, kind, amount,"
        " currency, reason, after_approval, occurred_at, cause_id)"
        " SELECT e, t, o, l, m, k, a, c, r, aa, oc, ca FROM unnest($1::text[], $2::text[],"
        " $3::text[], $4::text[], $5::text[], $6::text[], $7::numeric[], $8::text[],"
        " $9::text[], $10::bool[], $11::timestamptz[], $12::text[]) WITH ORDINALITY"
        " AS x(e, t, o, l, m, k, a, c, r, aa, oc, ca, n) ORDER BY n"
        " ON CONFLICT DO NOTHING RETURNING entry_id",
        [e.entry_id for _, _, e in posted],
        [t for t, _, _ in posted],
        [o for _, o, _ in posted],
        [e.line_id for _, _, e in posted],
        [e.member_id for _, _, e in posted],
        [e.kind.value for _, _, e in posted],
        [e.amount for _, _, e in posted],
        [e.currency for _, _, e in posted],
        [e.reason for _, _, e in posted],
        [e.after_approval for _, _, e in posted],
        [e.occurred_at for _, _, e in posted],
        [e.cause for _, _, e in posted],
    )
    return {r["entry_id"] for r in rows}


async def grant_rewards(conn: asyncpg.Connection, granted: Sequence[Granted]) -> set[str]:
    """Record the rewards in order; the ids of those inserted (once per challenge, member, order)."""
    if not granted:
        return set()
    rows = await conn.fetch(
        "INSERT INTO rewards (reward_id, tenant, order_id, member_id, challenge_id, points,"
        " badge, occurred_at, cause_id) SELECT r, t, o, m, c, p, b, oc, ca"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::int[],"
        " $7::text[], $8::timestamptz[], $9::text[]) WITH ORDINALITY"
        " AS x(r, t, o, m, c, p, b, oc, ca, n) ORDER BY n"
        " ON CONFLICT DO NOTHING RETURNING reward_id",
        [g.reward_id for _, _, g in granted],
        [t for t, _, _ in granted],
        [o for _, o, _ in granted],
        [g.member_id for _, _, g in granted],
        [g.challenge_id for _, _, g in granted],
        [g.points for _, _, g in granted],
        [g.badge for _, _, g in granted],
        [g.occurred_at for _, _, g in granted],
        [g.cause for _, _, g in granted],
    )
    return {r["reward_id"] for r in rows}


async def count_orders(conn: asyncpg.Connection, counted: Sequence[CountedOrder]) -> None:
    """Add the orders to their members' statistics, each once: one statement.

    The totals grow by what the insert really added, so a repeat changes nothing.
    """
    if not counted:
        return
    await conn.execute(
        "WITH added AS (INSERT INTO member_orders"
        " (tenant, member_id, order_id, confirmed_at, amount, currency)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[],"
        " $5::numeric[], $6::text[]) ON CONFLICT DO NOTHING"
        " RETURNING tenant, member_id, confirmed_at)"
        " INSERT INTO member_stats (tenant, member_id, order_count, last_purchase_at)"
        " SELECT tenant, member_id, count(*), max(confirmed_at) FROM added"
        " GROUP BY tenant, member_id ON CONFLICT (tenant, member_id) DO UPDATE SET"
        " order_count = member_stats.order_count + EXCLUDED.order_count,"
        " last_purchase_at = greatest(member_stats.last_purchase_at, EXCLUDED.last_purchase_at)",
        [c.tenant for c in counted],
        [c.member_id for c in counted],
        [c.order_id for c in counted],
        [c.confirmed_at for c in counted],
        [c.amount for c in counted],
        [c.currency for c in counted],
    )


async def load_members(
    conn: asyncpg.Connection, spans: Mapping[MemberKey, tuple[datetime, datetime]]
) -> dict[MemberKey, MemberState]:
    """Each member's totals and counted orders confirmed within its `(from, to)`: one statement."""
    if not spans:
        return {}
    keys = sorted(spans)
    rows = await conn.fetch(
        "SELECT q.tenant, q.member_id, s.order_count, s.last_purchase_at,"
        " ARRAY(SELECT mo.order_id FROM member_orders mo WHERE mo.tenant = q.tenant"
        " AND mo.member_id = q.member_id AND mo.confirmed_at BETWEEN q.lo AND q.hi"
        " ORDER BY mo.order_id) AS ids,"
        " ARRAY(SELECT mo.confirmed_at FROM member_orders mo WHERE mo.tenant = q.tenant"
        " AND mo.member_id = q.member_id AND mo.confirmed_at BETWEEN q.lo AND q.hi"
        " ORDER BY mo.order_id) AS times"
        " FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::timestamptz[])"
        " AS q(tenant, member_id, lo, hi)"
        " JOIN member_stats s ON s.tenant = q.tenant AND s.member_id = q.member_id",
        [t for t, _ in keys],
        [m for _, m in keys],
        [spans[k][0] for k in keys],
        [spans[k][1] for k in keys],
    )
    return {
        (r["tenant"], r["member_id"]): MemberState(
            r["order_count"],
            r["last_purchase_at"],
            frozenset(zip(r["ids"], r["times"], strict=True)),
        )
        for r in rows
    }
