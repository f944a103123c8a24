"""Thin handlers: claim, lock, load, decide, save, enqueue (one transaction per message).

Reports and lifecycle events are keyed by order, touchpoints by customer, so they arrive on
different partitions at once; store.py says which locks keep their decisions apart.
"""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import structlog
from aiokafka import ConsumerRecord

from orderflow.services.attribution import messages, store
from orderflow.services.attribution.domain import (
    Decision,
    Fact,
    OrderAttribution,
    Touched,
    customer_after,
    decide,
)
from orderflow.shared import inbox, outbox, topics
from orderflow.shared.envelope import Envelope, parse_envelope
from orderflow.shared.errors import Rejected
from orderflow.shared.logging import get_logger
from orderflow.shared.tenants import TenantRegistry, UnknownTenant

log = get_logger(__name__)
CONSUMER = "attribution"


def lookback_of(tenants: TenantRegistry, tenant: str) -> timedelta:
    try:
        return timedelta(days=tenants.get(tenant).attribution.lookback_days)
    except UnknownTenant as exc:
        raise Rejected(f"tenant: '{tenant}' is not a configured tenant", "unknown_tenant") from exc


def _bind(event: Envelope) -> None:
    structlog.contextvars.bind_contextvars(
        tenant=event.tenant, order_id=event.order_id, event_id=event.event_id
    )


async def on_order_reported(
    conn: asyncpg.Connection, record: ConsumerRecord[bytes, bytes], *, tenants: TenantRegistry
) -> None:
    event = parse_envelope(record.value)
    _bind(event)
    fact = messages.reported_from(event)
    lookback = lookback_of(tenants, event.tenant)
    if not await inbox.claim(conn, CONSUMER, event.event_id):
        return
    assert event.order_id is not None
    # The customer the order will have: its lock is taken before the order's (store.py).
    known = await store.load(conn, event.tenant, event.order_id)
    customer = customer_after(known or OrderAttribution(event.order_id), fact)
    if customer is not None:
        await store.lock_customer(conn, event.tenant, customer)
    await apply(conn, event.tenant, event.order_id, fact, lookback, event)


async def on_touchpoint(
    conn: asyncpg.Connection, record: ConsumerRecord[bytes, bytes], *, tenants: TenantRegistry
) -> None:
    event = parse_envelope(record.value)
    _bind(event)
    touch = messages.touch_from(event)
    lookback = lookback_of(tenants, event.tenant)
    if not await inbox.claim(conn, CONSUMER, event.event_id):
        return
    await store.lock_customer(conn, event.tenant, touch.customer_id)
    if not await store.insert_touch(conn, event.tenant, touch):
        return
    orders = (
        [touch.order_id]
        if touch.order_id is not None
        else await store.orders_in_window(
            conn, event.tenant, touch.customer_id, touch.occurred_at, lookback
        )
    )
    for order_id in orders:
        await apply(conn, event.tenant, order_id, Touched(touch), lookback, event)


async def on_lifecycle(
    conn: asyncpg.Connection, record: ConsumerRecord[bytes, bytes], *, tenants: TenantRegistry
) -> None:
    event = parse_envelope(record.value)
    _bind(event)
    fact = messages.lifecycle_from(event)
    lookback = lookback_of(tenants, event.tenant)
    if not await inbox.claim(conn, CONSUMER, event.event_id):
        return
    assert event.order_id is not None
    await apply(conn, event.tenant, event.order_id, fact, lookback, event)


async def apply(
    conn: asyncpg.Connection,
    tenant: str,
    order_id: str,
    fact: Fact,
    lookback: timedelta,
    cause: Envelope,
) -> Decision:
    state, correlation = await store.lock_order(conn, tenant, order_id)
    return await settle(
        conn, tenant, state, fact, lookback, cause.event_id, correlation or cause.correlation_id
    )


async def settle(
    conn: asyncpg.Connection,
    tenant: str,
    state: OrderAttribution,
    fact: Fact,
    lookback: timedelta,
    causation_id: str,
    correlation_id: str,
) -> Decision:
    """Decide on a locked order and save the outcome with its events (raises Refused)."""
    customer = customer_after(state, fact)
    touches = await store.touches_for(conn, tenant, state.order_id, customer)
    decision = decide(state, fact, touches, lookback)
    await store.save(conn, tenant, decision.state, correlation_id)
    for event in decision.events:
        envelope = messages.attribution_envelope(
            event, tenant, state.order_id, causation_id, correlation_id
        )
        await outbox.enqueue(conn, topics.ORDERS_ATTRIBUTION, envelope)
        log.info(
            event.type.replace(".", "_"),
            attributed_order_id=state.order_id,
            member_id=event.credit.member_id,
            model=event.credit.model.value,
            reason=event.reason,
        )
    return decision
