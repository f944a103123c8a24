"""Read side of customers and segments: one customer, segment sizes, a segment's members."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Any

import asyncpg

from orderflow.services.rewards.money import to_minor_units

_MEMBER_COLUMNS = (
    "SELECT c.customer_id, c.orders_count, c.spent::text AS spent, c.first_purchase_at,"
    " c.last_purchase_at FROM segment_members m JOIN customers c ON c.tenant = m.tenant"
    " AND c.customer_id = m.customer_id WHERE m.tenant = $1 AND m.segment_id = $2"
)


def spent_view(spent_json: str) -> dict[str, str]:
    """`{currency: decimal string}`, each in its currency's minor units, never summed across."""
    spent = json.loads(spent_json)
    return {c: format(to_minor_units(Decimal(v), c), "f") for c, v in sorted(spent.items())}


def _instant(value: Any) -> str | None:
    return None if value is None else value.isoformat()


async def customer(
    conn: asyncpg.Connection, tenant: str, customer_id: str
) -> dict[str, Any] | None:
    row = await conn.fetchrow(
        "SELECT customer_id, orders_count, spent::text AS spent, first_purchase_at,"
        " last_purchase_at, ARRAY(SELECT m.segment_id FROM segment_members m"
        " WHERE m.tenant = c.tenant AND m.customer_id = c.customer_id ORDER BY m.segment_id)"
        " AS segments FROM customers c WHERE tenant = $1 AND customer_id = $2",
        tenant,
        customer_id,
    )
    if row is None:
        return None
    return {**member_view(row), "segments": list(row["segments"])}


async def shoppers(
    conn: asyncpg.Connection, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], tuple[int, list[str]]]:
    """What validation needs of each (tenant, customer_id): orders and segments, in one
    statement; a customer without orders is absent."""
    rows = await conn.fetch(
        "SELECT c.tenant, c.customer_id, c.orders_count, ARRAY(SELECT m.segment_id"
        " FROM segment_members m WHERE m.tenant = c.tenant AND m.customer_id = c.customer_id)"
        " AS segments FROM unnest($1::text[], $2::text[]) AS k(tenant, customer_id)"
        " JOIN customers c ON c.tenant = k.tenant AND c.customer_id = k.customer_id",
        [t for t, _ in keys],
        [c for _, c in keys],
    )
    return {(r["tenant"], r["customer_id"]): (r["orders_count"], list(r["segments"])) for r in rows}


def member_view(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "customer_id": row["customer_id"],
        "orders_count": row["orders_count"],
        "spent": spent_view(row["spent"]),
        "first_purchase_at": _instant(row["first_purchase_at"]),
        "last_purchase_at": _instant(row["last_purchase_at"]),
    }


async def sizes(
    conn: asyncpg.Connection, tenant: str, segment_ids: Sequence[str]
) -> dict[str, int]:
    rows = await conn.fetch(
        "SELECT s.id, (SELECT count(*) FROM segment_members m WHERE m.tenant = $1"
        " AND m.segment_id = s.id) AS size FROM unnest($2::text[]) AS s(id)",
        tenant,
        list(segment_ids),
    )
    return {r["id"]: r["size"] for r in rows}


async def members_page(
    conn: asyncpg.Connection, tenant: str, segment_id: str, after: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of members in customer_id order, and the last one's id when more follow."""
    rows = await conn.fetch(
        _MEMBER_COLUMNS + " AND ($3::text IS NULL OR m.customer_id > $3)"
        " ORDER BY m.customer_id LIMIT $4",
        tenant,
        segment_id,
        after,
        limit + 1,
    )
    page = [member_view(r) for r in rows[:limit]]
    return page, (rows[limit - 1]["customer_id"] if len(rows) > limit else None)


async def every_member(
    conn: asyncpg.Connection, tenant: str, segment_id: str
) -> AsyncIterator[dict[str, Any]]:
    """Every member, streamed by a cursor (call inside a transaction)."""
    query = _MEMBER_COLUMNS + " ORDER BY m.customer_id"
    async for row in conn.cursor(query, tenant, segment_id, prefetch=1000):
        yield member_view(row)
