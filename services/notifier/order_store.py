"""The SQL of what the notifier keeps about orders: contacts, members, kept order events.

Set-based: each function is one statement for a whole batch (none when it has nothing to
do). Reads are made under the orders' advisory locks (`lock_key`), which serialise an
order's events with its attributions, so a member joining concurrently with an event
either sees the event kept or is seen by it.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence

import asyncpg

from orderflow.services.notifier.domain import Cause
from orderflow.services.notifier.fanout import Known, OrderKey
from orderflow.services.notifier.messages import Contact
from orderflow.services.notifier.store import cause_of_row

_KEYS = "SELECT * FROM unnest($1::text[], $2::text[])"


def lock_key(key: OrderKey) -> str:
    tenant, order_id = key
    return f"notifier:{tenant}:{order_id}"


def _columns(keys: Collection[OrderKey]) -> tuple[list[str], list[str]]:
    return [tenant for tenant, _ in keys], [order_id for _, order_id in keys]


async def save_contacts(conn: asyncpg.Connection, contacts: Sequence[Contact]) -> None:
    """Upsert one contact per order (`messages.merge_contacts` first): a report without an
    e-mail or name keeps what an earlier one said."""
    if not contacts:
        return
    await conn.execute(
        "INSERT INTO contacts (tenant, order_id, customer_id, email, name)"
        " SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])"
        " ON CONFLICT (tenant, order_id) DO UPDATE SET customer_id = EXCLUDED.customer_id,"
        " email = COALESCE(EXCLUDED.email, contacts.email),"
        " name = COALESCE(EXCLUDED.name, contacts.name), updated_at = now()",
        [c.tenant for c in contacts],
        [c.order_id for c in contacts],
        [c.customer_id for c in contacts],
        [c.email for c in contacts],
        [c.name for c in contacts],
    )


async def known(conn: asyncpg.Connection, keys: Collection[OrderKey], with_kept: bool) -> Known:
    """The customers and members of these orders and, when asked, their kept events."""
    if not keys:
        return Known()
    tenants, orders = _columns(keys)
    rows = await conn.fetch(
        "SELECT k.tenant, k.order_id, c.customer_id,"
        " ARRAY(SELECT m.member_id FROM order_members m WHERE m.tenant = k.tenant"
        "  AND m.order_id = k.order_id ORDER BY m.member_id) AS members"
        f" FROM ({_KEYS}) AS k(tenant, order_id)"
        " LEFT JOIN contacts c ON c.tenant = k.tenant AND c.order_id = k.order_id",
        tenants,
        orders,
    )
    customers = {(r["tenant"], r["order_id"]): r["customer_id"] for r in rows if r["customer_id"]}
    members = {(r["tenant"], r["order_id"]): tuple(r["members"]) for r in rows if r["members"]}
    kept = await _kept_events(conn, tenants, orders) if with_kept else {}
    return Known(customers, members, kept)


async def _kept_events(
    conn: asyncpg.Connection, tenants: list[str], orders: list[str]
) -> Mapping[OrderKey, list[Cause]]:
    rows = await conn.fetch(
        "SELECT * FROM order_events"
        f" WHERE (tenant, order_id) IN ({_KEYS}) ORDER BY occurred_at, event_id",
        tenants,
        orders,
    )
    kept: dict[OrderKey, list[Cause]] = {}
    for r in rows:
        kept.setdefault((r["tenant"], r["order_id"]), []).append(
            cause_of_row(r, r["event_id"], r["type"])
        )
    return kept


async def clear_members(conn: asyncpg.Connection, keys: Collection[OrderKey]) -> None:
    if keys:
        await conn.execute(
            f"DELETE FROM order_members WHERE (tenant, order_id) IN ({_KEYS})", *_columns(keys)
        )


async def add_members(conn: asyncpg.Connection, added: Mapping[OrderKey, Sequence[str]]) -> None:
    rows = [(tenant, order_id, m) for (tenant, order_id), ms in added.items() for m in ms]
    if rows:
        await conn.execute(
            "INSERT INTO order_members (tenant, order_id, member_id)"
            " SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING",
            [t for t, _, _ in rows],
            [o for _, o, _ in rows],
            [m for _, _, m in rows],
        )


async def keep_events(conn: asyncpg.Connection, causes: Sequence[Cause]) -> None:
    """Keep order events a member attributed later must hear of (same notification ids)."""
    if not causes:
        return
    await conn.execute(
        "INSERT INTO order_events (tenant, order_id, event_id, type, occurred_at, correlation_id,"
        " data) SELECT t, o, e, ty, at, c, d::jsonb FROM unnest($1::text[], $2::text[],"
        " $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::text[])"
        " AS r(t, o, e, ty, at, c, d) ON CONFLICT DO NOTHING",
        [c.tenant for c in causes],
        [c.order_id for c in causes],
        [c.event_id for c in causes],
        [c.type for c in causes],
        [c.occurred_at for c in causes],
        [c.correlation_id for c in causes],
        [json.dumps(dict(c.data)) for c in causes],
    )
