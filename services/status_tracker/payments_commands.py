"""A manager's `complete` or `decline` of an order paid in parts (CONTRACTS §8), in the
caller's transaction: under the order's lock, decided purely, saved as any report is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from orderflow.services.status_tracker import messages, read_model_store, store
from orderflow.services.status_tracker.domain import NO_EXPIRY, ExpiryRule, decide
from orderflow.services.status_tracker.order_view import view_of
from orderflow.services.status_tracker.payments_plan import ManagerCommand, Refused, manager_report
from orderflow.shared import outbox
from orderflow.shared.vocabulary import StatusProfile


@dataclass(frozen=True)
class Unknown:
    """No report of this order has reached the tracker."""


async def close(
    conn: asyncpg.Connection,
    key: store.OrderKey,
    command: ManagerCommand,
    by: str,
    now: datetime,
    profile: StatusProfile,
    rule: ExpiryRule = NO_EXPIRY,
) -> Unknown | Refused | None:
    """Record the manager's status; None when it was recorded (and its events enqueued)."""
    await store.lock_orders(conn, [key])
    order = (await store.load_many(conn, [key]))[key]
    if order.state is None or order.correlation_id is None:
        return Unknown()
    plan = view_of(*key, order.state, order.history).payment_plan
    report = manager_report(order.state, plan, command, profile, by, now)
    if isinstance(report, Refused):
        return report
    decision = decide(order.state, order.history, report, rule)
    await read_model_store.save_orders(conn, [order.after(decision, order.correlation_id)])
    rows = messages.outgoing(decision, *key, report.report_id, order.correlation_id)
    await outbox.enqueue_many(conn, rows)
    return None
