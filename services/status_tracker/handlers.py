"""Thin, set-based handlers: claim, lock the orders, load, decide, save, enqueue (one transaction).

A batch costs the same statements whatever its size: one each for the inbox claim, the
locks, the states, the histories, the new history rows, the new states and the outbox.
The decisions are folded in memory, per order in offset order, so several reports of one
order in one batch give exactly what handling them one at a time gives.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

import asyncpg
from aiokafka import ConsumerRecord

from orderflow.services.status_tracker import (
    messages,
    payments_handlers,
    read_model_store,
    recurring_hooks,
    store,
)
from orderflow.services.status_tracker.domain import NO_EXPIRY, ExpiryRule, Report, decide, expire
from orderflow.services.status_tracker.recurring_state import Policy
from orderflow.shared import consumer, inbox, outbox
from orderflow.shared.envelope import Envelope

CONSUMER = "status-tracker"


async def on_order_reported(
    conn: asyncpg.Connection,
    records: Sequence[ConsumerRecord[bytes, bytes]],
    *,
    rules: dict[str, ExpiryRule],
    payment_rules: Mapping[str, payments_handlers.PaymentRules] | None = None,
    recurring: Mapping[str, Policy] | None = None,
) -> None:
    """Every `order.reported` of one partition batch, in offset order."""
    events = consumer.envelopes(records)
    reports = messages.reports_by_event(events)  # a malformed record fails before any write
    claimed = await inbox.claim_many(conn, CONSUMER, [e.event_id for e in events])
    fresh = consumer.first_seen(events, claimed)
    if not fresh:
        return
    keys = {messages.order_key(e) for e in fresh}
    await store.lock_orders(conn, keys)
    orders = await store.load_many(conn, keys)
    reported = [(e, reports[e.event_id]) for e in fresh]
    decided = _decide_all(orders, reported, rules)
    # Refunds the reports carry, and payments that came first covering the amount (§8).
    after = await payments_handlers.after_reports(conn, orders, reported, payment_rules or {})
    outgoing = messages.refunds_first(decided, after)
    await read_model_store.save_orders(conn, list(orders.values()))
    await outbox.enqueue_many(conn, outgoing)
    # A report carrying `recurring` registers its recurring order; a confirmed initial order starts it.
    await recurring_hooks.on_reports(conn, fresh, [e for _, e, _ in outgoing], recurring or {})


def _decide_all(
    orders: dict[store.OrderKey, store.Order],
    reported: Sequence[tuple[Envelope, Report]],
    rules: dict[str, ExpiryRule],
) -> list[messages.Outgoing]:
    """Fold `decide` over the reports in offset order, updating `orders`; the events decided."""
    outgoing: list[messages.Outgoing] = []
    for event, report in reported:
        key = messages.order_key(event)
        order = orders[key]
        decision = decide(order.state, order.history, report, rules.get(event.tenant, NO_EXPIRY))
        orders[key] = order = order.after(decision, event.correlation_id)
        assert order.correlation_id is not None
        outgoing += messages.outgoing(decision, *key, event.event_id, order.correlation_id)
    return outgoing


async def fire_expiry(
    conn: asyncpg.Connection,
    tenant: str,
    order_id: str,
    due_at: datetime,
    now: datetime,
    rule: ExpiryRule,
) -> bool:
    """Fire one due pending-payment timer; False when it was moved, cancelled or already fired."""
    key = (tenant, order_id)
    await store.lock_orders(conn, [key])
    order = (await store.load_many(conn, [key]))[key]
    if order.state is None or order.correlation_id is None or order.state.expiry_due_at != due_at:
        return False
    decision = expire(order.state, order.history, due_at, now, rule)
    cause = f"expiry:{due_at.isoformat()}"
    await read_model_store.save_orders(conn, [order.after(decision, order.correlation_id)])
    await outbox.enqueue_many(
        conn, messages.outgoing(decision, tenant, order_id, cause, order.correlation_id)
    )
    return True
