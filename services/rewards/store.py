"""The SQL of the rewards service's own schema: order books, ledger, rewards, member statistics."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from orderflow.services.rewards.facts import (
    Confirmed,
    Item,
    Lifecycle,
    Line,
    OrderBook,
    OrderSummary,
    Sighting,
)
from orderflow.shared.vocabulary import Category


async def lock_order(conn: asyncpg.Connection, tenant: str, order_id: str) -> None:
    """Serialise everything that changes one order (both topics' consumers, the timer, replicas)."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"o:{tenant}:{order_id}"
    )


async def lock_members(conn: asyncpg.Connection, tenant: str, members: Iterable[str]) -> None:
    """Serialise the statistics of a member across its orders; sorted, so locks are taken in one order."""
    for member in sorted(set(members)):
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"m:{tenant}:{member}"
        )


async def load_book(
    conn: asyncpg.Connection, tenant: str, order_id: str
) -> tuple[OrderBook, str | None]:
    """The order's book and the correlation id of its chain (None for an order not seen yet)."""
    row = await conn.fetchrow(
        "SELECT * FROM orders WHERE tenant = $1 AND order_id = $2", tenant, order_id
    )
    if row is None:
        return OrderBook(tenant, order_id), None
    lines = await conn.fetch(
        "SELECT * FROM lines WHERE tenant = $1 AND order_id = $2 ORDER BY seq", tenant, order_id
    )
    book = OrderBook(
        tenant,
        order_id,
        _lifecycle(row),
        tuple(_line(r) for r in lines),
        frozenset(row["evaluated_members"]),
    )
    return book, row["correlation_id"]


async def save_book(conn: asyncpg.Connection, book: OrderBook, correlation_id: str) -> None:
    life = book.lifecycle
    confirmed = life.confirmed
    await conn.execute(
        "INSERT INTO orders (tenant, order_id, confirmed_by, confirmed_at, summary, category,"
        " category_at, sightings, duplicate_before_ok, evaluated_members, correlation_id)"
        " VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8::jsonb, $9, $10, $11)"
        " ON CONFLICT (tenant, order_id) DO UPDATE SET confirmed_by = EXCLUDED.confirmed_by,"
        " confirmed_at = EXCLUDED.confirmed_at, summary = EXCLUDED.summary,"
        " category = EXCLUDED.category, category_at = EXCLUDED.category_at,"
        " sightings = EXCLUDED.sightings, duplicate_before_ok = EXCLUDED.duplicate_before_ok,"
        " evaluated_members = EXCLUDED.evaluated_members, updated_at = now()",
        book.tenant,
        book.order_id,
        confirmed.event_id if confirmed else None,
        confirmed.occurred_at if confirmed else None,
        json.dumps(_summary_json(confirmed.summary)) if confirmed else None,
        life.category.value if life.category else None,
        life.category_at,
        json.dumps([_sighting_json(s) for s in life.sightings]),
        life.duplicate_before_ok,
        sorted(book.evaluated_members),
        correlation_id,
    )
    for line in book.lines:
        await _save_line(conn, book, line)


async def _save_line(conn: asyncpg.Connection, book: OrderBook, line: Line) -> None:
    await conn.execute(
        "INSERT INTO lines (tenant, order_id, line_id, member_id, credit_key, attributed_at,"
        " voided_by, voided_at, decided, accrued, currency, reversed, approved, approve_due_at)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        " ON CONFLICT (tenant, order_id, line_id) DO UPDATE SET voided_by = EXCLUDED.voided_by,"
        " voided_at = EXCLUDED.voided_at, decided = EXCLUDED.decided, accrued = EXCLUDED.accrued,"
        " currency = EXCLUDED.currency, reversed = EXCLUDED.reversed,"
        " approved = EXCLUDED.approved, approve_due_at = EXCLUDED.approve_due_at",
        book.tenant,
        book.order_id,
        line.line_id,
        line.member_id,
        line.credit_key,
        line.attributed_at,
        line.voided_by,
        line.voided_at,
        line.decided,
        line.accrued,
        line.currency,
        line.reversed,
        line.approved,
        line.approve_due_at,
    )


async def due_approvals(
    conn: asyncpg.Connection, now: datetime, limit: int
) -> list[tuple[str, str, str, datetime]]:
    rows = await conn.fetch(
        "SELECT tenant, order_id, line_id, approve_due_at FROM lines"
        " WHERE approve_due_at <= $1 ORDER BY approve_due_at LIMIT $2",
        now,
        limit,
    )
    return [(r["tenant"], r["order_id"], r["line_id"], r["approve_due_at"]) for r in rows]


def _summary_json(summary: OrderSummary) -> dict[str, Any]:
    return {
        "amount": None if summary.amount is None else str(summary.amount),
        "currency": summary.currency,
        "offer_id": summary.offer_id,
        "items": [
            {"sku": i.sku, "category": i.category, "offer_id": i.offer_id} for i in summary.items
        ],
    }


def _summary(data: dict[str, Any]) -> OrderSummary:
    amount = data.get("amount")
    return OrderSummary(
        amount=None if amount is None else Decimal(amount),
        currency=data.get("currency"),
        offer_id=data.get("offer_id"),
        items=tuple(Item(i["sku"], i.get("category"), i.get("offer_id")) for i in data["items"]),
    )


def _sighting_json(sighting: Sighting) -> dict[str, str]:
    return {
        "category": sighting.category.value,
        "event_id": sighting.event_id,
        "occurred_at": sighting.occurred_at.isoformat(),
    }


def _lifecycle(row: asyncpg.Record) -> Lifecycle:
    confirmed = None
    if row["confirmed_by"] is not None:
        summary = _summary(json.loads(row["summary"]))
        confirmed = Confirmed(row["confirmed_by"], row["confirmed_at"], summary)
    sightings = tuple(
        Sighting(Category(s["category"]), s["event_id"], datetime.fromisoformat(s["occurred_at"]))
        for s in json.loads(row["sightings"])
    )
    return Lifecycle(
        confirmed=confirmed,
        category=Category(row["category"]) if row["category"] else None,
        category_at=row["category_at"],
        sightings=sightings,
        duplicate_before_ok=row["duplicate_before_ok"],
    )


def _line(row: asyncpg.Record) -> Line:
    return Line(
        line_id=row["line_id"],
        member_id=row["member_id"],
        credit_key=row["credit_key"],
        attributed_at=row["attributed_at"],
        voided_by=row["voided_by"],
        voided_at=row["voided_at"],
        decided=row["decided"],
        accrued=row["accrued"],
        currency=row["currency"],
        reversed=row["reversed"],
        approved=row["approved"],
        approve_due_at=row["approve_due_at"],
    )
