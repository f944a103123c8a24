"""The SQL of customers: statistics, membership and the segment timer, a batch at a time."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from orderflow.services.rewards.customers import Customer, Move, Purchase
from orderflow.services.rewards.segment_conditions import CustomerStats
from orderflow.shared import locks

CustomerKey = tuple[str, str]  # (tenant, customer_id)


def tenant_lock(tenant: str) -> str:
    """Live updates hold it shared, a rebuild of the tenant's segments exclusive."""
    return f"segments:{tenant}"


async def lock(conn: asyncpg.Connection, keys: Iterable[CustomerKey]) -> None:
    """The tenants' segment locks (shared), then each customer's (exclusive), sorted."""
    wanted = sorted(set(keys))
    await conn.execute(
        "SELECT pg_advisory_xact_lock_shared(hashtextextended(k, 0))"
        " FROM unnest($1::text[]) WITH ORDINALITY AS t(k, n) ORDER BY n",
        sorted({tenant_lock(t) for t, _ in wanted}),
    )
    await locks.take(conn, [f"c:{t}:{c}" for t, c in wanted])


async def count_orders(
    conn: asyncpg.Connection, purchases: Sequence[tuple[str, str, Purchase]]
) -> set[tuple[str, str]]:
    """Record each (tenant, customer, order); the (tenant, order_id) pairs counted now."""
    rows = await conn.fetch(
        "INSERT INTO customer_orders (tenant, customer_id, order_id, confirmed_at, amount,"
        " currency) SELECT * FROM unnest($1::text[], $2::text[], $3::text[],"
        " $4::timestamptz[], $5::numeric[], $6::text[])"
        " ON CONFLICT DO NOTHING RETURNING tenant, order_id",
        [t for t, _, _ in purchases],
        [c for _, c, _ in purchases],
        [p.order_id for _, _, p in purchases],
        [p.confirmed_at for _, _, p in purchases],
        [p.amount for _, _, p in purchases],
        [p.currency for _, _, p in purchases],
    )
    return {(r["tenant"], r["order_id"]) for r in rows}


async def load(
    conn: asyncpg.Connection, keys: Iterable[CustomerKey]
) -> dict[CustomerKey, Customer]:
    """Every wanted customer (unknown ones empty), with their segments: one statement."""
    wanted = sorted(set(keys))
    rows = await conn.fetch(
        "SELECT k.tenant, k.customer_id, c.orders_count, c.spent::text AS spent,"
        " c.first_purchase_at, c.last_purchase_at, c.segments_due_at,"
        " ARRAY(SELECT m.segment_id FROM segment_members m WHERE m.tenant = k.tenant"
        " AND m.customer_id = k.customer_id) AS segments"
        " FROM unnest($1::text[], $2::text[]) AS k(tenant, customer_id)"
        " LEFT JOIN customers c ON c.tenant = k.tenant AND c.customer_id = k.customer_id",
        [t for t, _ in wanted],
        [c for _, c in wanted],
    )
    return {(r["tenant"], r["customer_id"]): customer_of(r) for r in rows}


def customer_of(row: asyncpg.Record) -> Customer:
    stats = CustomerStats()
    if row["orders_count"] is not None:
        stats = CustomerStats(
            row["orders_count"],
            {k: Decimal(v) for k, v in json.loads(row["spent"]).items()},
            row["first_purchase_at"],
            row["last_purchase_at"],
        )
    segments = frozenset(row["segments"])
    return Customer(row["tenant"], row["customer_id"], stats, segments, row["segments_due_at"])


def spent_json(spent: dict[str, Decimal] | Any) -> str:
    return json.dumps({k: format(v, "f") for k, v in sorted(spent.items())})


async def save(conn: asyncpg.Connection, customers: Sequence[Customer]) -> None:
    """Upsert the statistics and timers of customers that have orders: one statement."""
    known = [c for c in customers if c.stats.orders_count > 0]
    await conn.execute(
        "INSERT INTO customers (tenant, customer_id, orders_count, spent, first_purchase_at,"
        " last_purchase_at, segments_due_at) SELECT t, c, n, s::jsonb, f, l, d FROM unnest("
        " $1::text[], $2::text[], $3::int[], $4::text[], $5::timestamptz[], $6::timestamptz[],"
        " $7::timestamptz[]) AS r(t, c, n, s, f, l, d)"
        " ON CONFLICT (tenant, customer_id) DO UPDATE SET orders_count = EXCLUDED.orders_count,"
        " spent = EXCLUDED.spent, first_purchase_at = EXCLUDED.first_purchase_at,"
        " last_purchase_at = EXCLUDED.last_purchase_at, segments_due_at = EXCLUDED.segments_due_at",
        [c.tenant for c in known],
        [c.customer_id for c in known],
        [c.stats.orders_count for c in known],
        [spent_json(c.stats.spent) for c in known],
        [c.stats.first_purchase_at for c in known],
        [c.stats.last_purchase_at for c in known],
        [c.due_at for c in known],
    )


async def move(conn: asyncpg.Connection, moves: Sequence[tuple[str, Move]]) -> None:
    """Apply `(tenant, move)`s to the membership table: one statement."""
    await conn.execute(
        "WITH m AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bool[])"
        " AS m(tenant, customer_id, segment_id, entered)),"
        " gone AS (DELETE FROM segment_members s USING m WHERE NOT m.entered"
        " AND s.tenant = m.tenant AND s.customer_id = m.customer_id"
        " AND s.segment_id = m.segment_id)"
        " INSERT INTO segment_members (tenant, segment_id, customer_id)"
        " SELECT tenant, segment_id, customer_id FROM m WHERE entered ON CONFLICT DO NOTHING",
        [t for t, _ in moves],
        [m.customer_id for _, m in moves],
        [m.segment_id for _, m in moves],
        [m.entered for _, m in moves],
    )


async def due(conn: asyncpg.Connection, now: datetime, limit: int) -> list[CustomerKey]:
    rows = await conn.fetch(
        "SELECT tenant, customer_id FROM customers WHERE segments_due_at <= $1"
        " ORDER BY segments_due_at LIMIT $2",
        now,
        limit,
    )
    return [(r["tenant"], r["customer_id"]) for r in rows]


async def clear_due(conn: asyncpg.Connection, keys: Sequence[CustomerKey]) -> None:
    """Customers of a tenant no longer configured: their timers have nothing to evaluate."""
    await conn.execute(
        "UPDATE customers c SET segments_due_at = NULL FROM unnest($1::text[], $2::text[])"
        " AS k(tenant, customer_id) WHERE c.tenant = k.tenant AND c.customer_id = k.customer_id",
        [t for t, _ in keys],
        [c for _, c in keys],
    )


async def record_segments(
    conn: asyncpg.Connection, orders: Sequence[tuple[str, str, frozenset[str]]]
) -> None:
    """Each counted order's customer segments right after it counted: what a challenge's
    `segment_in` reads (a member's order may be decided later than its confirmation)."""
    await conn.execute(
        "UPDATE customer_orders o SET segments = s.segments::text[] FROM unnest($1::text[],"
        " $2::text[], $3::text[]) AS s(tenant, order_id, segments)"
        " WHERE o.tenant = s.tenant AND o.order_id = s.order_id",
        [t for t, _, _ in orders],
        [o for _, o, _ in orders],
        ["{" + ",".join(f'"{x}"' for x in sorted(segs)) + "}" for _, _, segs in orders],
    )


async def order_segments(
    conn: asyncpg.Connection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], frozenset[str]]:
    wanted = sorted(set(keys))
    rows = await conn.fetch(
        "SELECT o.tenant, o.order_id, o.segments FROM unnest($1::text[], $2::text[])"
        " AS k(tenant, order_id) JOIN customer_orders o USING (tenant, order_id)",
        [t for t, _ in wanted],
        [o for _, o in wanted],
    )
    return {(r["tenant"], r["order_id"]): frozenset(r["segments"]) for r in rows}
