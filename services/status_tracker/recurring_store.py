"""The SQL of recurring orders and their charges (migration 0004), set-based.

Everything that changes a recurring order holds its row lock (`FOR UPDATE`), taken in key
order; the timer claims due rows with `SKIP LOCKED`, so it never waits on (nor deadlocks
with) a handler or a request, and two replicas never fire the same row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeAlias

import asyncpg

from orderflow.services.status_tracker.recurring import Decision, child_order_id
from orderflow.services.status_tracker.recurring_schedule import Interval
from orderflow.services.status_tracker.recurring_state import RecurringOrder, Terms
from orderflow.services.status_tracker.recurring_table import Status
from orderflow.shared.polling import earliest

Key: TypeAlias = tuple[str, str]  # (tenant, recurring_order_id)
_KEYS = "(tenant, recurring_order_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))"
_STATE = (
    "status, anchor_at, payments_made, sequence, attempt, awaiting, next_payment_at, due_at,"
    " version"
)


async def register_and_find(
    conn: asyncpg.Connection,
    orders: Sequence[tuple[RecurringOrder, datetime]],
    initial: Iterable[Key],
) -> dict[Key, Key]:
    """Record the recurring orders the initial orders' reports announce (the first report
    wins), and find the recurring orders of the `initial` orders (tenant, order_id), those
    just recorded included: one statement, whatever the batch holds."""
    rows = [
        (o.tenant, o.recurring_order_id, o.terms.initial_order_id, o.terms.interval.text,
         o.terms.payments_total, o.terms.amount, o.terms.currency, o.terms.customer_id,
         o.terms.offer_id, o.correlation_id, created_at)
        for o, created_at in orders
    ]  # fmt: skip
    wanted = sorted(set(initial))
    found = await conn.fetch(
        "WITH new AS (INSERT INTO recurring_orders (tenant, recurring_order_id,"
        " initial_order_id, interval, payments_total, amount, currency, customer_id, offer_id,"
        " correlation_id, created_at) SELECT * FROM unnest($1::text[], $2::text[], $3::text[],"
        " $4::text[], $5::int[], $6::numeric[], $7::text[], $8::text[], $9::text[], $10::text[],"
        " $11::timestamptz[]) ON CONFLICT (tenant, recurring_order_id) DO NOTHING"
        " RETURNING tenant, initial_order_id, recurring_order_id),"
        " wanted AS (SELECT * FROM unnest($12::text[], $13::text[]) AS w(tenant, order_id))"
        " SELECT r.tenant, r.initial_order_id, r.recurring_order_id FROM recurring_orders r"
        " JOIN wanted w ON (r.tenant, r.initial_order_id) = (w.tenant, w.order_id)"
        " UNION SELECT n.tenant, n.initial_order_id, n.recurring_order_id FROM new n"
        " JOIN wanted w ON (n.tenant, n.initial_order_id) = (w.tenant, w.order_id)",
        *_columns(rows, 11),
        [k[0] for k in wanted],
        [k[1] for k in wanted],
    )
    return {(r[0], r[1]): (r[0], r[2]) for r in found}


async def keys_of_orders(conn: asyncpg.Connection, orders: Iterable[Key]) -> dict[Key, Key]:
    """(tenant, order_id) of initial orders -> their recurring order's key."""
    return await register_and_find(conn, [], orders)


async def lock_many(conn: asyncpg.Connection, keys: Iterable[Key]) -> dict[Key, RecurringOrder]:
    """The recurring orders of `keys` that exist, each row locked until the transaction ends."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    rows = await conn.fetch(
        f"SELECT * FROM recurring_orders WHERE {_KEYS}"
        " ORDER BY tenant, recurring_order_id FOR UPDATE",
        [k[0] for k in wanted],
        [k[1] for k in wanted],
    )
    return {(r["tenant"], r["recurring_order_id"]): order_of(r) for r in rows}


async def next_due(conn: asyncpg.Connection) -> datetime | None:
    """The earliest timer: one probe of the partial index, whatever the number of orders."""
    return await earliest(conn, "recurring_orders", "due_at")


async def claim_due(conn: asyncpg.Connection, now: datetime, limit: int) -> list[RecurringOrder]:
    """Up to `limit` due orders no other transaction holds, locked (call inside a transaction)."""
    rows = await conn.fetch(
        "SELECT * FROM recurring_orders WHERE due_at <= $1 ORDER BY due_at LIMIT $2"
        " FOR UPDATE SKIP LOCKED",
        now,
        limit,
    )
    return [order_of(r) for r in rows]


async def save_many(conn: asyncpg.Connection, decisions: Sequence[Decision]) -> None:
    """Each changed order's last state, then its charges: one statement per table.

    `decisions` are in the order they were decided; one order may have several."""
    changed = [d for d in decisions if d.changed]
    if not changed:
        return
    last = {(d.order.tenant, d.order.recurring_order_id): d.order for d in changed}
    states = [_state_row(o) for o in last.values()]
    await conn.execute(
        f"UPDATE recurring_orders r SET ({_STATE}, updated_at) = (u.s, u.a, u.m, u.q, u.t,"
        " u.w, u.n, u.d, u.v, now()) FROM unnest($1::text[], $2::text[], $3::text[],"
        " $4::timestamptz[], $5::int[], $6::int[], $7::int[], $8::boolean[],"
        " $9::timestamptz[], $10::timestamptz[], $11::int[]) AS u(k, r, s, a, m, q, t, w, n,"
        " d, v) WHERE r.tenant = u.k AND r.recurring_order_id = u.r",
        *_columns(states, 11),
    )
    await _save_charges(conn, changed)


async def _save_charges(conn: asyncpg.Connection, decisions: Sequence[Decision]) -> None:
    merged: dict[tuple[str, str, int], tuple[Any, ...]] = {}
    for d in decisions:
        o, terms = d.order, d.order.terms
        if d.requested is not None:
            seq, attempt, status, at, system = (
                d.requested.sequence, d.requested.attempt, "processing", d.requested.due_at, None,
            )  # fmt: skip
        elif d.settled is not None:
            s = d.settled
            seq, attempt, status, at, system = (
                s.sequence, s.attempt, s.status, s.occurred_at, s.payment_system,
            )  # fmt: skip
        else:
            continue
        order_id = terms.initial_order_id if seq == 1 else child_order_id(o.recurring_order_id, seq)
        key = (o.tenant, o.recurring_order_id, seq)
        if (earlier := merged.get(key)) is not None:  # one row per charge and statement
            attempt, system, at = max(attempt, earlier[5]), system or earlier[8], earlier[9]
        merged[key] = (o.tenant, o.recurring_order_id, seq, order_id, status, attempt,
                       terms.amount, terms.currency, system, at)  # fmt: skip
    rows = list(merged.values())
    if not rows:
        return
    await conn.execute(
        "INSERT INTO recurring_charges (tenant, recurring_order_id, sequence, order_id, status,"
        " attempts, amount, currency, payment_system, created_at) SELECT * FROM unnest("
        " $1::text[], $2::text[], $3::int[], $4::text[], $5::text[], $6::int[], $7::numeric[],"
        " $8::text[], $9::text[], $10::timestamptz[]) ON CONFLICT (tenant, recurring_order_id,"
        " sequence) DO UPDATE SET status = EXCLUDED.status, attempts = GREATEST("
        " recurring_charges.attempts, EXCLUDED.attempts), payment_system = COALESCE("
        " EXCLUDED.payment_system, recurring_charges.payment_system), updated_at = now()",
        *_columns(rows, 10),
    )


def _columns(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    return [[row[i] for row in rows] for i in range(width)]


def _state_row(o: RecurringOrder) -> tuple[Any, ...]:
    return (
        o.tenant, o.recurring_order_id, None if o.status is None else o.status.value,
        o.anchor_at, o.payments_made, o.sequence, o.attempt, o.awaiting, o.next_payment_at,
        o.due_at, o.version,
    )  # fmt: skip


def order_of(r: asyncpg.Record) -> RecurringOrder:
    terms = Terms(
        r["initial_order_id"], Interval.parse(r["interval"]), r["payments_total"], r["amount"],
        r["currency"], r["customer_id"], r["offer_id"],
    )  # fmt: skip
    return RecurringOrder(
        r["tenant"], r["recurring_order_id"], terms, r["correlation_id"],
        None if r["status"] is None else Status(r["status"]), r["anchor_at"],
        r["payments_made"], r["sequence"], r["attempt"], r["awaiting"],
        r["next_payment_at"], r["due_at"], r["version"],
    )  # fmt: skip
