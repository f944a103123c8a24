"""Thin, set-based handlers: claim, lock, load, decide, save, enqueue (one transaction per batch).

A batch costs the same statements whatever its size: one each for the inbox claim, the
locks, the orders, the touchpoints, the writes and the outbox (a touchpoint batch also
stores its touchpoints, looks up their customers' orders and locks those). The decisions
are folded in memory per order in offset order (fold.py), so several records of one order
or one customer in one batch give exactly what handling them one at a time gives.

Reports and lifecycle events are keyed by order, touchpoints by customer, so they arrive on
different partitions at once; store.py says which locks keep their decisions apart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Sequence
from datetime import timedelta

import asyncpg
from aiokafka import ConsumerRecord

from orderflow.services.attribution import messages, store
from orderflow.services.attribution.domain import (
    Decision,
    Fact,
    Lifecycle,
    OrderAttribution,
    Reported,
    Touch,
    Touched,
    customer_after,
    decide,
)
from orderflow.services.attribution.fold import Emitted, Fold, Step, customers_during
from orderflow.services.attribution.state import CustomerKey
from orderflow.shared import consumer, inbox, locks, outbox, topics
from orderflow.shared.envelope import Envelope
from orderflow.shared.errors import Rejected
from orderflow.shared.logging import get_logger
from orderflow.shared.tenants import TenantRegistry, UnknownTenant

log = get_logger(__name__)
CONSUMER = "attribution"
Records = Sequence[ConsumerRecord[bytes, bytes]]


def lookback_of(tenants: TenantRegistry, tenant: str) -> timedelta:
    try:
        return timedelta(days=tenants.get(tenant).attribution.lookback_days)
    except UnknownTenant as exc:
        raise Rejected(f"tenant: '{tenant}' is not a configured tenant", "unknown_tenant") from exc


async def on_order_reported(
    conn: asyncpg.Connection, records: Records, *, tenants: TenantRegistry
) -> None:
    events = consumer.envelopes(records)
    fresh = await _claim(conn, events, _order_steps(events, messages.reported_from, tenants))
    if not fresh:
        return
    keys = {s.key for s in fresh}
    # The customers the orders have during the batch, read unlocked (only this partition's
    # reports change an order's customer), are locked with the orders, and sort before them.
    known = await store.load_many(conn, keys)
    customers = customers_during({k: state for k, (state, _) in known.items()}, fresh)
    await locks.take(conn, [*store.customer_locks(customers), *store.order_locks(keys)])
    await _decide(conn, fresh, locked=customers)


async def on_lifecycle(
    conn: asyncpg.Connection, records: Records, *, tenants: TenantRegistry
) -> None:
    events = consumer.envelopes(records)
    fresh = await _claim(conn, events, _order_steps(events, messages.lifecycle_from, tenants))
    if fresh:
        await locks.take(conn, store.order_locks({s.key for s in fresh}))
        await _decide(conn, fresh)


async def on_touchpoint(
    conn: asyncpg.Connection, records: Records, *, tenants: TenantRegistry
) -> None:
    events = consumer.envelopes(records)
    touches = {e.event_id: messages.touch_from(e) for e in events}
    lookbacks = {e.tenant: lookback_of(tenants, e.tenant) for e in events}
    claimed = await inbox.claim_many(conn, CONSUMER, [e.event_id for e in events])
    fresh = [(e, touches[e.event_id]) for e in consumer.first_seen(events, claimed)]
    if not fresh:
        return
    await locks.take(conn, store.customer_locks({(e.tenant, t.customer_id) for e, t in fresh}))
    new = await _store_touches(conn, fresh)
    # Under the customers' locks: no report can move an order into or out of these windows.
    steps = await _touch_steps(conn, new, lookbacks)
    if steps:
        await locks.take(conn, store.order_locks({s.key for s in steps}))
        await _decide(conn, steps, hidden={(e.tenant, t.touchpoint_id) for e, t in new})


async def settle(
    conn: asyncpg.Connection,
    tenant: str,
    state: OrderAttribution,
    fact: Fact,
    lookback: timedelta,
    causation_id: str,
    correlation_id: str,
) -> Decision:
    """Decide on one order locked by the caller and save it with its events (raises Refused)."""
    customer = customer_after(state, fact)
    customers = {(tenant, customer)} if customer is not None else set()
    touches = await store.touches_of(conn, {(tenant, state.order_id)}, customers)
    decision = decide(state, fact, touches.get(tenant, []), lookback)
    await store.save_many(conn, [(tenant, decision.state, correlation_id)])
    await _enqueue(
        conn,
        [Emitted(tenant, state.order_id, e, causation_id, correlation_id) for e in decision.events],
    )
    return decision


async def _decide(
    conn: asyncpg.Connection,
    steps: Sequence[Step],
    *,
    locked: Collection[CustomerKey] | None = None,
    hidden: Collection[tuple[str, str]] = (),
) -> None:
    """Load the locked orders and their touchpoints, fold the steps, save, enqueue."""
    stored = await store.load_many(conn, {s.key for s in steps})
    customers = customers_during({k: state for k, (state, _) in stored.items()}, steps)
    if locked is not None and not customers <= set(locked):
        # Only if another consumer changed a customer since the unlocked read (a partition's
        # old owner still finishing): out of the global lock order, so a deadlock, detected
        # by Postgres, is retried as transient.
        await locks.take(conn, store.customer_locks(customers - set(locked)))
    touches = await store.touches_of(conn, {s.key for s in steps}, customers)
    fold = Fold(stored, touches, hidden)
    for step in steps:
        fold.apply(step)
    await store.save_many(conn, fold.changed())
    await _enqueue(conn, fold.emitted)


def _order_steps(
    events: Sequence[Envelope],
    fact_of: Callable[[Envelope], Reported | Lifecycle],
    tenants: TenantRegistry,
) -> dict[str, Step]:
    """Each record's step, by event id: a malformed record fails here, before any write."""
    steps = {}
    for event in events:
        fact = fact_of(event)
        assert event.order_id is not None, "reported_from and lifecycle_from require one"
        lookback = lookback_of(tenants, event.tenant)
        steps[event.event_id] = Step(event.tenant, event.order_id, fact, lookback, event)
    return steps


async def _claim(
    conn: asyncpg.Connection, events: Sequence[Envelope], steps: dict[str, Step]
) -> list[Step]:
    """The steps of the records seen for the first time, each once, in offset order."""
    claimed = await inbox.claim_many(conn, CONSUMER, [e.event_id for e in events])
    return [steps[e.event_id] for e in consumer.first_seen(events, claimed)]


async def _store_touches(
    conn: asyncpg.Connection, touches: Sequence[tuple[Envelope, Touch]]
) -> list[tuple[Envelope, Touch]]:
    """The touchpoints stored for the first time, with the first record of each, in order."""
    firsts: dict[tuple[str, str], tuple[Envelope, Touch]] = {}
    for event, touch in touches:
        firsts.setdefault((event.tenant, touch.touchpoint_id), (event, touch))
    new = await store.insert_touches(conn, [(e.tenant, t) for e, t in firsts.values()])
    return [first for key, first in firsts.items() if key in new]


async def _touch_steps(
    conn: asyncpg.Connection,
    new: Sequence[tuple[Envelope, Touch]],
    lookbacks: dict[str, timedelta],
) -> list[Step]:
    """A step per order each touchpoint may concern: the order it names, or else its
    customer's orders whose lookback window it falls in."""
    unnamed = [
        (e.tenant, t.customer_id, t.occurred_at, lookbacks[e.tenant])
        for e, t in new
        if t.order_id is None
    ]
    windows = iter(await store.orders_in_windows(conn, unnamed))
    steps: list[Step] = []
    for event, touch in new:
        orders = [touch.order_id] if touch.order_id is not None else next(windows)
        lookback = lookbacks[event.tenant]
        steps += [Step(event.tenant, o, Touched(touch), lookback, event) for o in orders]
    return steps


async def _enqueue(conn: asyncpg.Connection, emitted: Sequence[Emitted]) -> None:
    outgoing: list[tuple[str, Envelope, bytes | None]] = []
    for item in emitted:
        event = item.event
        envelope = messages.attribution_envelope(
            event, item.tenant, item.order_id, item.causation_id, item.correlation_id
        )
        outgoing.append((topics.ORDERS_ATTRIBUTION, envelope, None))
        # Each decision is on the topic already; a line per decision is for debugging only
        # (rendering it cost a tenth of the service under load, bench/PROFILE.md).
        log.debug(
            event.type.replace(".", "_"),
            attributed_order_id=item.order_id,
            member_id=event.credit.member_id,
            model=event.credit.model.value,
            reason=event.reason,
        )
    if outgoing:
        kinds = Counter(e.type for _, e, _ in outgoing)
        log.info("attribution_decided", events=len(outgoing), **dict(kinds))
    await outbox.enqueue_many(conn, outgoing)
