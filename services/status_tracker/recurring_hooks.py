"""Where recurring orders meet the tracker's other streams: one call from each handler.

- The report handler calls `on_reports` with its batch's fresh `order.reported` events and
  the events it decided: a report carrying `recurring` registers the recurring order, and
  the initial order's `order.confirmed` counts as its first payment.
- The payment handler calls `on_payments` with its fresh `payment.reported` events: a
  succeeded payment of an initial order starts its recurring order; a payment of a child
  order `<recurring_order_id>-<n>` is the outcome of charge n.
Both run in the caller's transaction, so the recurring order moves with the cause.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg

from orderflow.services.status_tracker import messages, payments_store
from orderflow.services.status_tracker import recurring_store as store
from orderflow.services.status_tracker import store as store_orders
from orderflow.services.status_tracker.domain import NO_EXPIRY, decide
from orderflow.services.status_tracker.payments import PaymentStatus
from orderflow.services.status_tracker.recurring_children import child_key, paid_child
from orderflow.services.status_tracker.recurring_handlers import Happened, settle
from orderflow.services.status_tracker.recurring_schedule import Interval
from orderflow.services.status_tracker.recurring_state import (
    ChargeFailed,
    ChargeSucceeded,
    Fact,
    InitialPaid,
    Policy,
    RecurringOrder,
    Terms,
)
from orderflow.services.status_tracker.recurring_store import Key
from orderflow.shared.envelope import Envelope
from orderflow.shared.logging import get_logger

log = get_logger(__name__)
CONFIRMED = "order.confirmed"
DEFAULT_CONFIRMED = "OK"  # the loyalty profile's confirmed status


def registration(event: Envelope) -> RecurringOrder | None:
    """The recurring order an initial order's report announces (ingest validated it)."""
    plan, data = event.data.get("recurring"), event.data
    if not isinstance(plan, dict) or event.order_id is None:
        return None
    customer = data.get("customer")
    amount = data.get("amount")
    terms = Terms(
        initial_order_id=event.order_id,
        interval=Interval.parse(str(plan["interval"])),
        payments_total=plan.get("payments_total"),
        amount=None if amount is None else Decimal(str(amount)),
        currency=data.get("currency"),
        customer_id=customer.get("id") if isinstance(customer, dict) else None,
        offer_id=data.get("offer_id"),
    )
    return RecurringOrder(
        event.tenant, str(plan["recurring_order_id"]), terms, event.correlation_id
    )


async def on_reports(
    conn: asyncpg.Connection,
    reported: Sequence[Envelope],
    decided: Iterable[Envelope],
    policies: Mapping[str, Policy],
) -> None:
    """Register what the reports announce; start those whose initial order was confirmed."""
    found = [(r, e.occurred_at) for e in reported if (r := registration(e)) is not None]
    confirmed = [e for e in decided if e.type == CONFIRMED and e.order_id is not None]
    announced = [(r.tenant, r.terms.initial_order_id) for r, _ in found]
    initial = [(e.tenant, str(e.order_id)) for e in confirmed]
    keys = await store.register_and_find(conn, found, initial + announced)
    started = [
        Happened(keys[key], InitialPaid(e.occurred_at), e.event_id, e.occurred_at)
        for e in confirmed
        if (key := (e.tenant, str(e.order_id))) in keys
    ]
    started += await _paid_before(conn, {k: keys[k] for k in announced if k in keys})
    if started:  # the earliest first: it anchors the schedule, the others change nothing
        await settle(conn, sorted(started, key=lambda h: h.at), policies)


async def _paid_before(conn: asyncpg.Connection, announced: Mapping[Key, Key]) -> list[Happened]:
    """Succeeded payments of announced initial orders (initial order -> its recurring order)
    that came before the report: the first payment may arrive first."""
    if not announced:
        return []
    reports = await payments_store.load_reports(conn, announced)
    return [
        Happened(rid, InitialPaid(p.occurred_at, p.payment_system), p.report_id, p.occurred_at)
        for order, rid in announced.items()
        for p in reports[order]
        if p.status == PaymentStatus.SUCCEEDED
    ]


def charge_sequence(order_id: str, recurring_order_id: str) -> int | None:
    """n of a child order `<recurring_order_id>-<n>` (n >= 2), else None."""
    prefix = f"{recurring_order_id}-"
    tail = order_id.removeprefix(prefix)
    if order_id == tail or not tail.isdigit() or tail.startswith("0") or int(tail) < 2:
        return None
    return int(tail)


def _outcome(data: Mapping[str, Any], sequence: int, at: datetime) -> Fact | None:
    status, system = data.get("status"), data.get("payment_system")
    if status == "succeeded":
        return ChargeSucceeded(sequence, at, system)
    if status == "failed":
        return ChargeFailed(sequence, at, system)
    return None  # pending, processing, refunded: no outcome of a charge


async def on_payments(
    conn: asyncpg.Connection,
    payments: Sequence[Envelope],
    policies: Mapping[str, Policy],
    orders: dict[store_orders.OrderKey, store_orders.Order] | None = None,
    confirmed_status: Mapping[str, str] | None = None,
) -> list[messages.Outgoing]:
    """Charges' outcomes, and initial orders' first succeeded payments, in offset order.

    With the payment handler's locked, loaded `orders`, a charge that succeeded confirms its
    child order there (the caller saves it); the lifecycle events of that are returned."""
    initial = await store.keys_of_orders(
        conn, [(e.tenant, e.order_id) for e in payments if e.order_id is not None]
    )
    happened = [h for e in payments if (h := _happened(e, initial)) is not None]
    if not happened:
        return []
    out: list[messages.Outgoing] = []
    for h, decision in await settle(conn, happened, policies):
        status = (confirmed_status or {}).get(h.key[0], DEFAULT_CONFIRMED)
        report = paid_child(decision, status, h.at)
        if report is None or orders is None or (key := child_key(decision)) not in orders:
            continue
        child = orders[key]
        made = decide(child.state, child.history, report, NO_EXPIRY)
        orders[key] = child.after(made, decision.order.correlation_id)
        out += messages.outgoing(made, *key, h.cause, decision.order.correlation_id)
    return out


def _happened(e: Envelope, initial: Mapping[Key, Key]) -> Happened | None:
    at, rid = e.occurred_at, e.data.get("recurring_order_id")
    sequence = charge_sequence(e.order_id or "", rid) if isinstance(rid, str) else None
    if sequence is not None and isinstance(rid, str):
        fact = _outcome(e.data, sequence, at)
        return None if fact is None else Happened((e.tenant, rid), fact, e.event_id, at)
    key = initial.get((e.tenant, e.order_id or ""))
    if key is None or e.data.get("status") != "succeeded":
        return None
    return Happened(key, InitialPaid(at, e.data.get("payment_system")), e.event_id, at)
