"""The SQL of the orders' credits (migration 0002): current credits, the attributions the
timeline shows, and the sales manager columns of `order_views`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from orderflow.services.status_tracker.order_credits import Credit, CreditFact, SalesManager

OrderKey = tuple[str, str]
_KEYS_IN = "(tenant, order_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))"


def _keys(keys: Iterable[OrderKey]) -> list[list[str]]:
    wanted = sorted(set(keys))
    return [[k[0] for k in wanted], [k[1] for k in wanted]]


async def load_many(
    conn: asyncpg.Connection, keys: Iterable[OrderKey]
) -> dict[OrderKey, dict[str, Credit]]:
    wanted = _keys(keys)
    found: dict[OrderKey, dict[str, Credit]] = {k: {} for k in zip(*wanted, strict=True)}
    for r in await conn.fetch(f"SELECT * FROM order_credits WHERE {_KEYS_IN}", *wanted):
        found[(r["tenant"], r["order_id"])][r["member_id"]] = _credit(r)
    return found


async def save_many(
    conn: asyncpg.Connection,
    credits: Mapping[OrderKey, Mapping[str, Credit]],
    attributed: Sequence[tuple[OrderKey, CreditFact]],
    received_at: datetime,
) -> None:
    """Replace the orders' credits, log the attributions, set their sales managers."""
    keys = _keys(credits)
    await conn.execute(f"DELETE FROM order_credits WHERE {_KEYS_IN}", *keys)
    rows = [(*k, c.member_id, c.via, c.model, c.confirmed, c.credited_at)
            for k, cs in credits.items() for c in cs.values()]  # fmt: skip
    await conn.execute(
        "INSERT INTO order_credits (tenant, order_id, member_id, via, model, confirmed,"
        " credited_at) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],"
        " $5::text[], $6::boolean[], $7::timestamptz[])",
        *_columns(rows, 7),
    )
    log = [(*k, f.event_id, f.member_id, f.via, f.confirmed, f.at) for k, f in attributed]
    await conn.execute(
        "INSERT INTO order_attributions (tenant, order_id, event_id, member_id, via, confirmed,"
        " at, received_at) SELECT *, $8::timestamptz FROM unnest($1::text[], $2::text[],"
        " $3::text[], $4::text[], $5::text[], $6::boolean[], $7::timestamptz[])"
        " ON CONFLICT DO NOTHING",
        *_columns(log, 7),
        received_at,
    )


async def set_sales_managers(
    conn: asyncpg.Connection, managers: Mapping[OrderKey, SalesManager | None]
) -> None:
    """The orders' sales manager columns; creates the view row if no report came yet."""
    rows = [
        (*k, m.member_id if m else None, m.confirmed if m else None) for k, m in managers.items()
    ]
    await conn.execute(
        "INSERT INTO order_views (tenant, order_id, sales_manager_id, sales_manager_confirmed)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[])"
        " ON CONFLICT (tenant, order_id) DO UPDATE SET"
        " sales_manager_id = EXCLUDED.sales_manager_id,"
        " sales_manager_confirmed = EXCLUDED.sales_manager_confirmed",
        *_columns(rows, 4),
    )


def _columns(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    return [[row[i] for row in rows] for i in range(width)]


def _credit(r: asyncpg.Record) -> Credit:
    return Credit(r["member_id"], r["via"], r["model"], r["confirmed"], r["credited_at"])
