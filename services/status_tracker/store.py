"""The SQL of the status-tracker's own schema, and the mapping of its rows."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any, TypeAlias

import asyncpg

from orderflow.services.status_tracker.domain import Decision, OrderState
from orderflow.services.status_tracker.history import HistoryEntry, OrderItem, OrderSummary
from orderflow.services.status_tracker.report_details import details_from
from orderflow.shared import locks
from orderflow.shared.vocabulary import Category

OrderKey: TypeAlias = tuple[str, str]  # (tenant, order_id)
_ORDER_COLUMNS = (
    "tenant, order_id, status, category, current_report_id, occurred_at, has_ok,"
    " confirmed_emitted, reversed_emitted, summary, expiry_due_at, correlation_id"
)
_HISTORY_COLUMNS = (
    "tenant, order_id, report_id, status, category, source, occurred_at, received_at, summary,"
    " details"
)
_KEYS_IN = "(tenant, order_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))"


@dataclass(frozen=True)
class Order:
    """One order as stored, plus the history entries decided since it was loaded."""

    tenant: str
    order_id: str
    state: OrderState | None = None
    history: tuple[HistoryEntry, ...] = ()
    correlation_id: str | None = None  # of the order's first report
    unsaved: tuple[HistoryEntry, ...] = ()

    def after(self, decision: Decision, correlation_id: str) -> Order:
        new = () if decision.new_entry is None else (decision.new_entry,)
        return replace(
            self,
            state=decision.state,
            history=self.history + new,
            correlation_id=self.correlation_id or correlation_id,
            unsaved=self.unsaved + new,
        )


def lock_key(tenant: str, order_id: str) -> str:
    """The advisory lock key of one order, taken by the consumer and the expiry timer alike."""
    return f"{tenant}:{order_id}"


async def lock_orders(conn: asyncpg.Connection, keys: Iterable[OrderKey]) -> None:
    """Serialise everything that changes an order (reports, the expiry timer, replicas)."""
    await locks.take(conn, [lock_key(tenant, order_id) for tenant, order_id in keys])


async def load_many(conn: asyncpg.Connection, keys: Iterable[OrderKey]) -> dict[OrderKey, Order]:
    """Every order of `keys` with its history: two statements, whatever the number of orders."""
    wanted = sorted(set(keys))
    tenants, order_ids = [k[0] for k in wanted], [k[1] for k in wanted]
    rows = await conn.fetch(f"SELECT * FROM orders WHERE {_KEYS_IN}", tenants, order_ids)
    entries = await conn.fetch(f"SELECT * FROM history WHERE {_KEYS_IN}", tenants, order_ids)
    history: dict[OrderKey, list[HistoryEntry]] = {}
    for r in entries:
        history.setdefault((r["tenant"], r["order_id"]), []).append(entry_of(r))
    orders = {k: Order(*k, history=tuple(history.get(k, ()))) for k in wanted}
    for r in rows:
        key = (r["tenant"], r["order_id"])
        orders[key] = replace(orders[key], state=_state(r), correlation_id=r["correlation_id"])
    return orders


async def save_many(conn: asyncpg.Connection, orders: Sequence[Order]) -> None:
    """Append the orders' new history entries, then upsert their states: two statements."""
    entries = [(o, e) for o in orders for e in o.unsaved]
    if entries:
        await conn.execute(
            f"INSERT INTO history ({_HISTORY_COLUMNS}) SELECT * FROM unnest($1::text[],"
            " $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[],"
            " $8::timestamptz[], $9::jsonb[], $10::jsonb[])",
            *_columns([_history_row(o, e) for o, e in entries], 10),
        )
    saved = [o for o in orders if o.state is not None]
    if not saved:
        return
    await conn.execute(
        f"INSERT INTO orders ({_ORDER_COLUMNS}) SELECT * FROM unnest($1::text[], $2::text[],"
        " $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::boolean[], $8::boolean[],"
        " $9::boolean[], $10::jsonb[], $11::timestamptz[], $12::text[])"
        " ON CONFLICT (tenant, order_id) DO UPDATE SET status = EXCLUDED.status,"
        " category = EXCLUDED.category, current_report_id = EXCLUDED.current_report_id,"
        " occurred_at = EXCLUDED.occurred_at, has_ok = EXCLUDED.has_ok,"
        " confirmed_emitted = EXCLUDED.confirmed_emitted, reversed_emitted = EXCLUDED.reversed_emitted,"
        " summary = EXCLUDED.summary, expiry_due_at = EXCLUDED.expiry_due_at, updated_at = now()",
        *_columns([_order_row(o) for o in saved], 12),
    )


def _columns(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """Rows turned into one array per column, the shape `unnest` takes."""
    return [[row[i] for row in rows] for i in range(width)]


def _history_row(order: Order, entry: HistoryEntry) -> tuple[Any, ...]:
    return (
        order.tenant,
        order.order_id,
        entry.report_id,
        entry.status,
        entry.category.value if entry.category else None,
        entry.source,
        entry.occurred_at,
        entry.received_at,
        json.dumps(summary_json(entry.summary)) if entry.summary else None,
        json.dumps(entry.details.to_json()) if entry.details else None,
    )


def _order_row(order: Order) -> tuple[Any, ...]:
    state = order.state
    assert state is not None and order.correlation_id is not None
    return (
        order.tenant,
        order.order_id,
        state.status,
        state.category.value,
        state.current_report_id,
        state.occurred_at,
        state.has_ok,
        state.confirmed_emitted,
        state.reversed_emitted,
        json.dumps(summary_json(state.summary)),
        state.expiry_due_at,
        order.correlation_id,
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
                "offer_name": i.offer_name,
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
                offer_name=i.get("offer_name"),
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


def entry_of(row: asyncpg.Record) -> HistoryEntry:
    """A `history` row as the entry it stores."""
    return HistoryEntry(
        report_id=row["report_id"],
        status=row["status"],
        category=Category(row["category"]) if row["category"] else None,
        source=row["source"],
        occurred_at=row["occurred_at"],
        received_at=row["received_at"],
        summary=summary_from_json(json.loads(row["summary"])) if row["summary"] else None,
        details=details_from(json.loads(row["details"])) if row["details"] else None,
    )
