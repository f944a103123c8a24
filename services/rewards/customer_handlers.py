"""Thin set-based steps of customers and segments: an order confirmed, a segment timer due.

`on_confirmed` sees the orders.lifecycle.v1 batch after the commission step, in the same
transaction (`chain`): it claims its `order.confirmed` events in its own inbox, counts each
order once (unique key), locks the customers (tenant shared, customer exclusive), loads them,
decides purely (customers.py), and writes statistics, membership, timers and the segments.v1
events. `fire_due` is the durable timer's step: the same, for customers whose time came.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import asyncpg

from orderflow.services.rewards import customer_store, customers, segment_messages
from orderflow.services.rewards.customer_store import CustomerKey
from orderflow.services.rewards.customers import Customer, Move, Purchase
from orderflow.services.rewards.entries import Programme
from orderflow.services.rewards.folds import MemberInput
from orderflow.shared import consumer, inbox, outbox, topics
from orderflow.shared.envelope import Envelope, utcnow
from orderflow.shared.runner import Handler, Record
from orderflow.shared.tenant_segments import Segment

CONSUMER = "rewards.customers"
Segments = Mapping[str, Sequence[Segment]]  # per configured tenant


@dataclass(frozen=True)
class Decided:
    customer: Customer
    moves: list[Move]
    causation_id: str
    correlation_id: str


def chain(*steps: Handler) -> Handler:
    """One topic's handler made of several steps, run in order in the one transaction."""

    async def handle(conn: asyncpg.Connection, batch: Sequence[Record]) -> None:
        for step in steps:
            await step(conn, batch)

    return handle


async def on_confirmed(
    conn: asyncpg.Connection,
    batch: Sequence[Record],
    *,
    segments: Segments,
    clock: Callable[[], datetime] = utcnow,
) -> None:
    events = consumer.envelopes(batch)
    found = {
        e.event_id: p
        for e in events
        if e.tenant in segments
        if (p := segment_messages.purchase_of(e))
    }
    if not found:
        return
    claimed = await inbox.claim_many(conn, CONSUMER, list(found))
    fresh = [(e, *found[e.event_id]) for e in consumer.first_seen(events, claimed)]
    counted = await customer_store.count_orders(conn, [(e.tenant, c, p) for e, c, p in fresh])
    fresh = [(e, c, p) for e, c, p in fresh if (e.tenant, p.order_id) in counted]
    if not fresh:
        return
    by_customer: dict[CustomerKey, list[tuple[Envelope, Purchase]]] = {}
    for event, customer_id, purchase in fresh:
        by_customer.setdefault((event.tenant, customer_id), []).append((event, purchase))
    await customer_store.lock(conn, by_customer)
    before, now = await customer_store.load(conn, by_customer), clock()
    decided, at_orders = _decide(before, by_customer, segments, now)
    await customer_store.record_segments(conn, at_orders)
    await save(conn, decided, now)


def _decide(
    before: Mapping[CustomerKey, Customer],
    by_customer: Mapping[CustomerKey, list[tuple[Envelope, Purchase]]],
    segments: Segments,
    now: datetime,
) -> tuple[list[Decided], list[tuple[str, str, frozenset[str]]]]:
    """Each customer's purchases in offset order: the decisions, and each order's segments."""
    decided, at_orders = [], []
    for key, mine in sorted(by_customer.items()):
        purchases, tenant_segments = [p for _, p in mine], segments[key[0]]
        customer, moves = customers.purchased(before[key], purchases, tenant_segments, now)
        at_each = customers.segments_at_each(before[key], purchases, tenant_segments, now)
        at_orders += [(key[0], p.order_id, s) for p, s in zip(purchases, at_each, strict=True) if s]
        last = mine[-1][0]
        decided.append(Decided(customer, moves, last.event_id, last.correlation_id))
    return decided, at_orders


async def with_customer_segments(
    conn: asyncpg.Connection, fresh: Sequence[MemberInput], programmes: Mapping[str, Programme]
) -> list[MemberInput]:
    """Member facts with their order's customer segments, for tenants whose challenges
    read them (`segment_in`); others unchanged, without a statement."""
    wanted = {i.order.tenant for i in fresh} & {
        t for t, p in programmes.items() if any(c.when.segment_in for c in p.challenges)
    }
    if not wanted:
        return list(fresh)
    keys = [(i.order.tenant, i.order.order_id) for i in fresh if i.order.tenant in wanted]
    found = await customer_store.order_segments(conn, keys)
    return [
        replace(i, order=replace(i.order, customer_segments=found.get(key, frozenset())))
        if (key := (i.order.tenant, i.order.order_id)) in found
        else i
        for i in fresh
    ]


async def fire_due(
    conn: asyncpg.Connection, keys: Sequence[CustomerKey], segments: Segments, now: datetime
) -> int:
    """Re-evaluate the customers whose segment timer is due at `now`; how many were."""
    await customer_store.lock(conn, keys)
    loaded = await customer_store.load(conn, keys)
    due = [c for c in loaded.values() if c.due_at is not None and c.due_at <= now]
    gone = [(c.tenant, c.customer_id) for c in due if c.tenant not in segments]
    await customer_store.clear_due(conn, gone)
    decided = []
    for customer in (c for c in due if c.tenant in segments):
        assert customer.due_at is not None
        cause = (
            f"segment-timer:{customer.tenant}:{customer.customer_id}:{customer.due_at.isoformat()}"
        )
        updated, moves = customers.evaluated(customer, segments[customer.tenant], now)
        decided.append(Decided(updated, moves, cause, cause))
    await save(conn, decided, now)
    return len(due)


async def save(conn: asyncpg.Connection, decided: Sequence[Decided], now: datetime) -> None:
    await customer_store.save(conn, [d.customer for d in decided])
    moves = [(d.customer.tenant, m) for d in decided for m in d.moves]
    if not moves:
        return
    await customer_store.move(conn, moves)
    await outbox.enqueue_many(conn, [_outgoing(d, m, now) for d in decided for m in d.moves])


def _outgoing(d: Decided, move: Move, now: datetime) -> tuple[str, Envelope, bytes | None]:
    tenant = d.customer.tenant
    event = segment_messages.move_envelope(tenant, move, now, d.causation_id, d.correlation_id)
    return topics.SEGMENTS, event, segment_messages.customer_key(tenant, move.customer_id)
