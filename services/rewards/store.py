"""The SQL of the order books (orders and their lines): loaded and saved a batch at a time."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
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
from orderflow.services.rewards.refund_rows import refund, refund_json
from orderflow.shared.vocabulary import Category

OrderKey = tuple[str, str]  # (tenant, order_id)


def order_lock(tenant: str, order_id: str) -> str:
    """The advisory lock key that serialises one order (both input topics, the timer)."""
    return f"o:{tenant}:{order_id}"


async def load_books(
    conn: asyncpg.Connection, keys: Iterable[OrderKey]
) -> tuple[dict[OrderKey, OrderBook], dict[OrderKey, str]]:
    """The books that exist among `keys`, and their chains' correlation ids: one statement."""
    wanted = sorted(set(keys))
    rows = await conn.fetch(
        "SELECT o.*, ARRAY(SELECT l FROM lines l WHERE l.tenant = o.tenant"
        " AND l.order_id = o.order_id ORDER BY l.seq) AS book_lines"
        " FROM unnest($1::text[], $2::text[]) AS k(tenant, order_id)"
        " JOIN orders o ON o.tenant = k.tenant AND o.order_id = k.order_id",
        [t for t, _ in wanted],
        [o for _, o in wanted],
    )
    books = {
        (r["tenant"], r["order_id"]): OrderBook(
            r["tenant"],
            r["order_id"],
            _lifecycle(r),
            tuple(_line(line) for line in r["book_lines"]),
            frozenset(r["evaluated_members"]),
            tuple(refund(x) for x in json.loads(r["refunds"])),
        )
        for r in rows
    }
    return books, {(r["tenant"], r["order_id"]): r["correlation_id"] for r in rows}


_SAVE_BOOKS = (
    "WITH saved AS (INSERT INTO orders (tenant, order_id, confirmed_by, confirmed_at, summary,"
    " category, category_at, sightings, duplicate_before_ok, evaluated_members, correlation_id,"
    " refunds)"
    " SELECT t, o, cb, ca, s::jsonb, c, cat, si::jsonb, d,"
    " ARRAY(SELECT jsonb_array_elements_text(em::jsonb)), corr, rf::jsonb"
    " FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[],"
    " $6::text[], $7::timestamptz[], $8::text[], $9::bool[], $10::text[], $11::text[],"
    " $12::text[]) AS r(t, o, cb, ca, s, c, cat, si, d, em, corr, rf)"
    " ON CONFLICT (tenant, order_id) DO UPDATE SET confirmed_by = EXCLUDED.confirmed_by,"
    " confirmed_at = EXCLUDED.confirmed_at, summary = EXCLUDED.summary,"
    " category = EXCLUDED.category, category_at = EXCLUDED.category_at,"
    " sightings = EXCLUDED.sightings, duplicate_before_ok = EXCLUDED.duplicate_before_ok,"
    " evaluated_members = EXCLUDED.evaluated_members, refunds = EXCLUDED.refunds,"
    " updated_at = now() RETURNING 1)"
    " INSERT INTO lines (tenant, order_id, line_id, member_id, credit_key, attributed_at,"
    " voided_by, voided_at, decided, accrued, currency, reversed, approved, approve_due_at,"
    " void_reason, reversed_amount, refunds_seen)"
    " SELECT tn, oid, lid, mid, ck, aat, vby, vat, dcd, acc, cur, rvd, apd, due, vr, ra,"
    " rs::jsonb"
    " FROM unnest($13::text[], $14::text[], $15::text[], $16::text[], $17::text[],"
    " $18::timestamptz[], $19::text[], $20::timestamptz[], $21::bool[], $22::numeric[],"
    " $23::text[], $24::bool[], $25::bool[], $26::timestamptz[], $27::text[], $28::numeric[],"
    " $29::text[]) WITH ORDINALITY AS r("
    " tn, oid, lid, mid, ck, aat, vby, vat, dcd, acc, cur, rvd, apd, due, vr, ra, rs, n)"
    " ORDER BY n"
    " ON CONFLICT (tenant, order_id, line_id) DO UPDATE SET voided_by = EXCLUDED.voided_by,"
    " voided_at = EXCLUDED.voided_at, decided = EXCLUDED.decided, accrued = EXCLUDED.accrued,"
    " currency = EXCLUDED.currency, reversed = EXCLUDED.reversed,"
    " approved = EXCLUDED.approved, approve_due_at = EXCLUDED.approve_due_at,"
    " void_reason = EXCLUDED.void_reason, reversed_amount = EXCLUDED.reversed_amount,"
    " refunds_seen = EXCLUDED.refunds_seen"
)


async def save_books(conn: asyncpg.Connection, books: Sequence[tuple[OrderBook, str]]) -> None:
    """Upsert each (book, correlation id): the orders and all their lines, one statement."""
    if not books:
        return
    orders = [_order_row(book, correlation) for book, correlation in books]
    lines = [_line_row(book, line) for book, _ in books for line in book.lines]
    await conn.execute(_SAVE_BOOKS, *_columns(orders, 12), *_columns(lines, 17))


def _columns(rows: list[tuple[Any, ...]], width: int) -> list[list[Any]]:
    return [[row[i] for row in rows] for i in range(width)]


def _order_row(book: OrderBook, correlation_id: str) -> tuple[Any, ...]:
    life, confirmed = book.lifecycle, book.lifecycle.confirmed
    return (
        book.tenant,
        book.order_id,
        confirmed.event_id if confirmed else None,
        confirmed.occurred_at if confirmed else None,
        json.dumps(_summary_json(confirmed.summary)) if confirmed else None,
        life.category.value if life.category else None,
        life.category_at,
        json.dumps([_sighting_json(s) for s in life.sightings]),
        life.duplicate_before_ok,
        json.dumps(sorted(book.evaluated_members)),
        correlation_id,
        json.dumps([refund_json(r) for r in book.refunds]),
    )


def _line_row(book: OrderBook, line: Line) -> tuple[Any, ...]:
    return (
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
        line.void_reason,
        line.reversed_amount,
        json.dumps(list(line.refunds_seen)),
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
        void_reason=row["void_reason"],
        reversed_amount=row["reversed_amount"],
        refunds_seen=tuple(json.loads(row["refunds_seen"])),
    )
