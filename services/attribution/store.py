"""The SQL of attribution's own schema: one statement per kind of read or write of a batch.

Two kinds of advisory lock, both held to the end of the transaction:
- the order (`order_locks`): every decision about one order (the consumer's, the HTTP sale
  confirmation's) reads its state and the touchpoints only after taking it, so two decisions
  about one order never interleave, and a decision always sees every touchpoint whose own
  transaction has already evaluated this order;
- the customer (`customer_locks`): a touchpoint looks up the orders of its customer, and a
  report that creates an order, gives it its customer or moves its first report time could
  otherwise commit unseen by that lookup while the touchpoint stays unseen by the report.
  Both take the customer's lock first, so one of them sees the other.

Every customer key sorts before every order key ("attribution:customer:…" <
"attribution:order:…") and `locks.take` takes keys sorted, so all lock takers go through one
global order, customers then orders: a report batch takes both kinds in one call, a
touchpoint batch its customers and then (after looking their orders up) those orders, a
lifecycle batch and the HTTP path orders only. No two of them can wait on each other in a cycle.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta

import asyncpg

from orderflow.services.attribution import rows
from orderflow.services.attribution.credits import Touch
from orderflow.services.attribution.state import CustomerKey, OrderAttribution, OrderKey
from orderflow.shared import locks

Stored = dict[OrderKey, tuple[OrderAttribution, str | None]]  # state and correlation id
ORDER_COLUMNS = (
    ("tenant", "text"),
    ("order_id", "text"),
    ("reported", "bool"),
    ("ordered_at", "timestamptz"),
    ("customer_id", "text"),
    ("customer_rank_at", "timestamptz"),
    ("customer_rank_report", "text"),
    ("contributors", "jsonb"),
    ("has_ok", "bool"),
    ("duplicate", "bool"),
    ("confirmed_at", "timestamptz"),
    ("confirmed_manager_id", "text"),
    ("credits", "jsonb"),
    ("granted", "jsonb"),
    ("seller_chosen", "bool"),
    ("seller_id", "text"),
    ("correlation_id", "text"),
)
_NAMES = ", ".join(name for name, _ in ORDER_COLUMNS)
_SAVE = (
    f"INSERT INTO orders ({_NAMES}) SELECT "
    + ", ".join(f"{n}::jsonb" if t == "jsonb" else n for n, t in ORDER_COLUMNS)
    + " FROM unnest("
    + ", ".join(
        f"${i}::{'text' if t == 'jsonb' else t}[]" for i, (_, t) in enumerate(ORDER_COLUMNS, 1)
    )
    + f") AS r({_NAMES}) ON CONFLICT (tenant, order_id) DO UPDATE SET "
    + ", ".join(f"{n} = EXCLUDED.{n}" for n, _ in ORDER_COLUMNS[2:-1])
    + ", correlation_id = COALESCE(orders.correlation_id, EXCLUDED.correlation_id),"
    " updated_at = now()"
)
_ORDERS_IN = "JOIN unnest($1::text[], $2::text[]) AS k(tenant, order_id) USING (tenant, order_id)"


def customer_locks(customers: Iterable[CustomerKey]) -> list[str]:
    return [f"attribution:customer:{tenant}:{customer}" for tenant, customer in customers]


def order_locks(keys: Iterable[OrderKey]) -> list[str]:
    return [f"attribution:order:{tenant}:{order_id}" for tenant, order_id in keys]


async def load_many(conn: asyncpg.Connection, keys: Collection[OrderKey]) -> Stored:
    """The stored orders among `keys` (an order not stored yet is absent)."""
    found = await conn.fetch(f"SELECT o.* FROM orders o {_ORDERS_IN}", *_split(keys))
    return {(r["tenant"], r["order_id"]): (rows.order_state(r), r["correlation_id"]) for r in found}


async def load(conn: asyncpg.Connection, tenant: str, order_id: str) -> OrderAttribution | None:
    found = (await load_many(conn, [(tenant, order_id)])).get((tenant, order_id))
    return found[0] if found else None


async def lock_existing(
    conn: asyncpg.Connection, tenant: str, order_id: str
) -> tuple[OrderAttribution, str | None] | None:
    """One order locked as the consumer locks it (the sale confirmation), if it is stored."""
    await locks.take(conn, order_locks([(tenant, order_id)]))
    return (await load_many(conn, [(tenant, order_id)])).get((tenant, order_id))


async def save_many(
    conn: asyncpg.Connection, orders: Sequence[tuple[str, OrderAttribution, str | None]]
) -> None:
    """Insert or update each (tenant, state, correlation id); one row per order."""
    if orders:
        values = [rows.order_values(*order) for order in orders]
        await conn.execute(_SAVE, *rows.columns(values, len(ORDER_COLUMNS)))


async def insert_touches(
    conn: asyncpg.Connection, touches: Sequence[tuple[str, Touch]]
) -> set[tuple[str, str]]:
    """Store each (tenant, touchpoint) once; the (tenant, touchpoint_id) not stored before."""
    if not touches:
        return set()
    found = await conn.fetch(
        "INSERT INTO touchpoints (tenant, touchpoint_id, member_id, kind, customer_id,"
        " occurred_at, order_id) SELECT * FROM unnest($1::text[], $2::text[], $3::text[],"
        " $4::text[], $5::text[], $6::timestamptz[], $7::text[])"
        " ON CONFLICT DO NOTHING RETURNING tenant, touchpoint_id",
        *rows.columns([rows.touch_values(*t) for t in touches], 7),
    )
    return {(r["tenant"], r["touchpoint_id"]) for r in found}


async def touches_of(
    conn: asyncpg.Connection, orders: Collection[OrderKey], customers: Collection[CustomerKey]
) -> dict[str, list[Touch]]:
    """Per tenant, every touchpoint naming one of the orders or of one of the customers."""
    found = await conn.fetch(
        "SELECT t.* FROM touchpoints t JOIN unnest($1::text[], $2::text[]) AS k(tenant, order_id)"
        " ON t.tenant = k.tenant AND t.order_id = k.order_id AND t.order_id IS NOT NULL"
        " UNION SELECT t.* FROM touchpoints t"
        " JOIN unnest($3::text[], $4::text[]) AS c(tenant, customer_id)"
        " ON t.tenant = c.tenant AND t.customer_id = c.customer_id",
        *_split(orders),
        *_split(customers),
    )
    by_tenant: dict[str, list[Touch]] = {}
    for row in found:
        by_tenant.setdefault(row["tenant"], []).append(rows.touch(row))
    return by_tenant


async def orders_in_windows(
    conn: asyncpg.Connection, windows: Sequence[tuple[str, str, datetime, timedelta]]
) -> list[list[str]]:
    """For each (tenant, customer, at, lookback): the customer's orders whose lookback window
    contains `at`, by order id (the order a touchpoint evaluates them in)."""
    if not windows:
        return []
    found = await conn.fetch(
        "SELECT w.n, o.order_id FROM unnest($1::text[], $2::text[], $3::timestamptz[],"
        " $4::timestamptz[]) WITH ORDINALITY AS w(tenant, customer_id, since, until, n)"
        " JOIN orders o ON o.tenant = w.tenant AND o.customer_id = w.customer_id"
        " AND o.reported AND NOT o.duplicate AND o.ordered_at BETWEEN w.since AND w.until"
        " ORDER BY w.n, o.order_id",
        *rows.columns([(t, c, at, at + lookback) for t, c, at, lookback in windows], 4),
    )
    orders: list[list[str]] = [[] for _ in windows]
    for row in found:
        orders[row["n"] - 1].append(row["order_id"])
    return orders


def _split(keys: Collection[tuple[str, str]]) -> list[list[str]]:
    return rows.columns(sorted(set(keys)), 2)
