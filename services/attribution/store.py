"""The SQL of attribution's own schema, and the mapping of its rows.

Two kinds of lock, both held to the end of the transaction:
- the order's row (`lock_order`, `lock_existing`: SELECT … FOR UPDATE): every decision about
  one order reads its state and the touchpoints only after taking it, so two decisions about
  one order never interleave, and a decision always sees every touchpoint whose own
  transaction has already evaluated this order;
- the customer (`lock_customer`, an advisory lock): a touchpoint looks up the orders of its
  customer, and a report that creates an order, gives it its customer or moves its first
  report time could otherwise commit unseen by that lookup while the touchpoint stays unseen
  by the report. Both take the customer's lock first, so one of them sees the other.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from orderflow.services.attribution.credits import Contributor, Credit, Model, Touch
from orderflow.services.attribution.state import Confirmation, OrderAttribution
from orderflow.shared.vocabulary import ContributorVia, TouchpointKind


async def lock_customer(conn: asyncpg.Connection, tenant: str, customer_id: str) -> None:
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
        f"attribution:customer:{tenant}:{customer_id}",
    )


async def customer_of(conn: asyncpg.Connection, tenant: str, order_id: str) -> str | None:
    value: str | None = await conn.fetchval(
        "SELECT customer_id FROM orders WHERE tenant = $1 AND order_id = $2", tenant, order_id
    )
    return value


async def lock_order(
    conn: asyncpg.Connection, tenant: str, order_id: str
) -> tuple[OrderAttribution, str | None]:
    """The order's state, locked; a placeholder row is created for an order not seen before."""
    await conn.execute(
        "INSERT INTO orders (tenant, order_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        tenant,
        order_id,
    )
    found = await lock_existing(conn, tenant, order_id)
    assert found is not None, "the row was just inserted or already there"
    return found


async def lock_existing(
    conn: asyncpg.Connection, tenant: str, order_id: str
) -> tuple[OrderAttribution, str | None] | None:
    row = await conn.fetchrow(
        "SELECT * FROM orders WHERE tenant = $1 AND order_id = $2 FOR UPDATE", tenant, order_id
    )
    return (_state(row), row["correlation_id"]) if row else None


async def load(conn: asyncpg.Connection, tenant: str, order_id: str) -> OrderAttribution | None:
    row = await conn.fetchrow(
        "SELECT * FROM orders WHERE tenant = $1 AND order_id = $2", tenant, order_id
    )
    return _state(row) if row else None


async def save(
    conn: asyncpg.Connection, tenant: str, state: OrderAttribution, correlation_id: str | None
) -> None:
    confirmation = state.confirmation
    rank = state.customer_rank
    await conn.execute(
        "UPDATE orders SET reported = $3, ordered_at = $4, customer_id = $5,"
        " customer_rank_at = $6, customer_rank_report = $7, contributors = $8::jsonb,"
        " has_ok = $9, duplicate = $10, confirmed_at = $11, confirmed_manager_id = $12,"
        " credits = $13::jsonb, granted = $14::jsonb,"
        # The chain's id comes with the order's first report, not with what may precede it.
        " correlation_id = COALESCE(correlation_id, CASE WHEN $3 THEN $15 END), updated_at = now()"
        " WHERE tenant = $1 AND order_id = $2",
        tenant,
        state.order_id,
        state.reported,
        state.ordered_at,
        state.customer_id,
        rank[0] if rank else None,
        rank[1] if rank else None,
        json.dumps([{"member_id": c.member_id, "via": c.via.value} for c in state.contributors]),
        state.has_ok,
        state.duplicate,
        confirmation.confirmed_at if confirmation else None,
        confirmation.manager_id if confirmation else None,
        json.dumps([_credit_json(c) for c in state.credits]),
        json.dumps(list(state.granted)),
        correlation_id,
    )


async def insert_touch(conn: asyncpg.Connection, tenant: str, touch: Touch) -> bool:
    """Store the touchpoint; False when one with its id is already stored."""
    row = await conn.fetchval(
        "INSERT INTO touchpoints (tenant, touchpoint_id, member_id, kind, customer_id,"
        " occurred_at, order_id) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT DO NOTHING RETURNING 1",
        tenant,
        touch.touchpoint_id,
        touch.member_id,
        touch.kind.value,
        touch.customer_id,
        touch.occurred_at,
        touch.order_id,
    )
    return row is not None


async def touches_for(
    conn: asyncpg.Connection, tenant: str, order_id: str, customer_id: str | None
) -> list[Touch]:
    """Every touchpoint naming the order or of its customer (the domain picks among them)."""
    rows = await conn.fetch(
        "SELECT * FROM touchpoints WHERE tenant = $1 AND (order_id = $2 OR customer_id = $3)",
        tenant,
        order_id,
        customer_id,
    )
    return [_touch(r) for r in rows]


async def orders_in_window(
    conn: asyncpg.Connection, tenant: str, customer_id: str, at: datetime, lookback: timedelta
) -> list[str]:
    """Orders of the customer whose lookback window contains `at`, in a fixed (lock) order."""
    rows = await conn.fetch(
        "SELECT order_id FROM orders WHERE tenant = $1 AND customer_id = $2 AND reported"
        " AND NOT duplicate AND ordered_at BETWEEN $3 AND $4 ORDER BY order_id",
        tenant,
        customer_id,
        at,
        at + lookback,
    )
    return [r["order_id"] for r in rows]


def _credit_json(credit: Credit) -> dict[str, Any]:
    return {
        "member_id": credit.member_id,
        "via": credit.via.value,
        "model": credit.model.value,
        "touchpoint_id": credit.touchpoint_id,
        "confirmed": credit.confirmed,
    }


def _credit(data: dict[str, Any]) -> Credit:
    return Credit(
        member_id=data["member_id"],
        via=ContributorVia(data["via"]),
        model=Model(data["model"]),
        touchpoint_id=data.get("touchpoint_id"),
        confirmed=bool(data.get("confirmed")),
    )


def _state(row: asyncpg.Record) -> OrderAttribution:
    rank_at, rank_report = row["customer_rank_at"], row["customer_rank_report"]
    confirmed_at = row["confirmed_at"]
    return OrderAttribution(
        order_id=row["order_id"],
        reported=row["reported"],
        ordered_at=row["ordered_at"],
        customer_id=row["customer_id"],
        customer_rank=(rank_at, rank_report) if rank_at is not None else None,
        contributors=tuple(
            Contributor(c["member_id"], ContributorVia(c["via"]))
            for c in json.loads(row["contributors"])
        ),
        has_ok=row["has_ok"],
        duplicate=row["duplicate"],
        confirmation=Confirmation(row["confirmed_manager_id"], confirmed_at)
        if confirmed_at is not None
        else None,
        credits=tuple(_credit(c) for c in json.loads(row["credits"])),
        granted=tuple(json.loads(row["granted"])),
    )


def _touch(row: asyncpg.Record) -> Touch:
    return Touch(
        touchpoint_id=row["touchpoint_id"],
        member_id=row["member_id"],
        kind=TouchpointKind(row["kind"]),
        customer_id=row["customer_id"],
        occurred_at=row["occurred_at"],
        order_id=row["order_id"],
    )
