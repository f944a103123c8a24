"""The SQL of the status-tracker's own schema, and the mapping of its rows."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from orderflow.services.status_tracker.domain import OrderState
from orderflow.services.status_tracker.history import HistoryEntry, OrderItem, OrderSummary
from orderflow.shared.vocabulary import Category


async def lock_order(conn: asyncpg.Connection, tenant: str, order_id: str) -> None:
    """Serialise everything that changes one order (reports, the expiry timer, replicas)."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"{tenant}:{order_id}"
    )


async def load(
    conn: asyncpg.Connection, tenant: str, order_id: str
) -> tuple[OrderState | None, list[HistoryEntry], str | None]:
    """The order's state, its history, and the correlation id of its first report."""
    row = await conn.fetchrow(
        "SELECT * FROM orders WHERE tenant = $1 AND order_id = $2", tenant, order_id
    )
    rows = await conn.fetch(
        "SELECT * FROM history WHERE tenant = $1 AND order_id = $2", tenant, order_id
    )
    if row is None:
        return None, [_entry(r) for r in rows], None
    return _state(row), [_entry(r) for r in rows], row["correlation_id"]


async def save(
    conn: asyncpg.Connection,
    tenant: str,
    order_id: str,
    state: OrderState,
    entry: HistoryEntry | None,
    correlation_id: str,
) -> None:
    if entry is not None:
        await conn.execute(
            "INSERT INTO history (tenant, order_id, report_id, status, category, source, occurred_at,"
            " received_at, summary) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)",
            tenant,
            order_id,
            entry.report_id,
            entry.status,
            entry.category.value if entry.category else None,
            entry.source,
            entry.occurred_at,
            entry.received_at,
            json.dumps(summary_json(entry.summary)) if entry.summary else None,
        )
    await conn.execute(
        "INSERT INTO orders (tenant, order_id, status, category, current_report_id, occurred_at, has_ok,"
        " confirmed_emitted, reversed_emitted, summary, expiry_due_at, correlation_id)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12)"
        " ON CONFLICT (tenant, order_id) DO UPDATE SET status = EXCLUDED.status,"
        " category = EXCLUDED.category, current_report_id = EXCLUDED.current_report_id,"
        " occurred_at = EXCLUDED.occurred_at, has_ok = EXCLUDED.has_ok,"
        " confirmed_emitted = EXCLUDED.confirmed_emitted, reversed_emitted = EXCLUDED.reversed_emitted,"
        " summary = EXCLUDED.summary, expiry_due_at = EXCLUDED.expiry_due_at, updated_at = now()",
        tenant,
        order_id,
        state.status,
        state.category.value,
        state.current_report_id,
        state.occurred_at,
        state.has_ok,
        state.confirmed_emitted,
        state.reversed_emitted,
        json.dumps(summary_json(state.summary)),
        state.expiry_due_at,
        correlation_id,
    )


async def due_timers(
    conn: asyncpg.Connection, now: datetime, limit: int
) -> list[tuple[str, str, datetime]]:
    rows = await conn.fetch(
        "SELECT tenant, order_id, expiry_due_at FROM orders WHERE expiry_due_at <= $1"
        " ORDER BY expiry_due_at LIMIT $2",
        now,
        limit,
    )
    return [(r["tenant"], r["order_id"], r["expiry_due_at"]) for r in rows]


def summary_json(summary: OrderSummary) -> dict[str, Any]:
    return {
        "amount": None if summary.amount is None else str(summary.amount),
        "currency": summary.currency,
        "customer_id": summary.customer_id,
        "offer_id": summary.offer_id,
        "items": [
            {
                "sku": i.sku,
                "quantity": i.quantity,
                "unit_price": str(i.unit_price),
                "name": i.name,
                "category": i.category,
                "offer_id": i.offer_id,
            }
            for i in summary.items
        ],
    }


def summary_from_json(data: dict[str, Any]) -> OrderSummary:
    amount = data.get("amount")
    return OrderSummary(
        amount=None if amount is None else Decimal(amount),
        currency=data.get("currency"),
        customer_id=data.get("customer_id"),
        offer_id=data.get("offer_id"),
        items=tuple(
            OrderItem(
                sku=i["sku"],
                quantity=int(i["quantity"]),
                unit_price=Decimal(i["unit_price"]),
                name=i.get("name"),
                category=i.get("category"),
                offer_id=i.get("offer_id"),
            )
            for i in data.get("items") or []
        ),
    )


def _state(row: asyncpg.Record) -> OrderState:
    return OrderState(
        status=row["status"],
        category=Category(row["category"]),
        current_report_id=row["current_report_id"],
        occurred_at=row["occurred_at"],
        has_ok=row["has_ok"],
        confirmed_emitted=row["confirmed_emitted"],
        reversed_emitted=row["reversed_emitted"],
        summary=summary_from_json(json.loads(row["summary"])),
        expiry_due_at=row["expiry_due_at"],
    )


def _entry(row: asyncpg.Record) -> HistoryEntry:
    return HistoryEntry(
        report_id=row["report_id"],
        status=row["status"],
        category=Category(row["category"]) if row["category"] else None,
        source=row["source"],
        occurred_at=row["occurred_at"],
        received_at=row["received_at"],
        summary=summary_from_json(json.loads(row["summary"])) if row["summary"] else None,
    )
