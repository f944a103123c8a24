"""Thin handlers: claim, lock the order, load, decide, save, enqueue (one transaction)."""

from __future__ import annotations

from datetime import datetime

import asyncpg
import structlog
from aiokafka import ConsumerRecord

from orderflow.services.status_tracker import messages, store
from orderflow.services.status_tracker.domain import Decision, ExpiryRule, decide, expire
from orderflow.shared import inbox, outbox, topics
from orderflow.shared.envelope import parse_envelope
from orderflow.shared.logging import get_logger
from orderflow.shared.tenants import TenantRegistry

log = get_logger(__name__)
CONSUMER = "status-tracker"


async def on_order_reported(
    conn: asyncpg.Connection,
    record: ConsumerRecord[bytes, bytes],
    *,
    tenants: TenantRegistry,
    rules: dict[str, ExpiryRule],
) -> None:
    event = parse_envelope(record.value)
    structlog.contextvars.bind_contextvars(
        tenant=event.tenant, order_id=event.order_id, event_id=event.event_id
    )
    report = messages.report_from(event)
    if not await inbox.claim(conn, CONSUMER, event.event_id):
        return
    assert event.order_id is not None
    await store.lock_order(conn, event.tenant, event.order_id)
    state, history, correlation = await store.load(conn, event.tenant, event.order_id)
    decision = decide(state, history, report, rules.get(event.tenant, ExpiryRule()))
    correlation = correlation or event.correlation_id
    await _save(conn, event.tenant, event.order_id, decision, event.event_id, correlation)


async def fire_expiry(
    conn: asyncpg.Connection,
    tenant: str,
    order_id: str,
    due_at: datetime,
    now: datetime,
    rule: ExpiryRule,
) -> bool:
    """Fire one due pending-payment timer; False when it was moved, cancelled or already fired."""
    await store.lock_order(conn, tenant, order_id)
    state, history, correlation = await store.load(conn, tenant, order_id)
    if state is None or correlation is None or state.expiry_due_at != due_at:
        return False
    decision = expire(state, history, due_at, now, rule)
    await _save(conn, tenant, order_id, decision, f"expiry:{due_at.isoformat()}", correlation)
    return True


async def _save(
    conn: asyncpg.Connection,
    tenant: str,
    order_id: str,
    decision: Decision,
    causation_id: str,
    correlation_id: str,
) -> None:
    await store.save(conn, tenant, order_id, decision.state, decision.new_entry, correlation_id)
    for event in decision.events:
        envelope = messages.lifecycle_envelope(
            event, tenant, order_id, causation_id, correlation_id
        )
        await outbox.enqueue(conn, topics.ORDERS_LIFECYCLE, envelope)
