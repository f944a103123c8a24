"""Thin, set-based handling of payments: `payment.reported`, and the report handler's hook.

One transaction per batch, as for reports: claim, lock the orders (the tracker's own order
lock, so payments, reports and the expiry timer take turns on an order), load, decide
purely, save, enqueue. A covering payment confirms through the tracker's `decide`, fed a
synthetic confirmed report, so `order.confirmed` stays exactly once and the timer and the
read model follow as for any report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import asyncpg
from aiokafka import ConsumerRecord

from orderflow.services.status_tracker import (
    messages,
    payments_store,
    read_model_store,
    recurring_hooks,
    store,
)
from orderflow.services.status_tracker.domain import NO_EXPIRY, ExpiryRule, Report, decide
from orderflow.services.status_tracker.history import REVERSAL_CATEGORIES
from orderflow.services.status_tracker.payments import PaymentReport
from orderflow.services.status_tracker.payments_decisions import PaymentFacts, confirmation, record
from orderflow.services.status_tracker.payments_ledger import Ledger
from orderflow.services.status_tracker.payments_messages import (
    lifecycle_rows,
    payments_by_event,
    report_refunds,
    terms_of,
)
from orderflow.services.status_tracker.payments_plan import confirms_on_payment_status
from orderflow.services.status_tracker.recurring_state import Policy
from orderflow.shared import consumer, inbox, outbox
from orderflow.shared.envelope import Envelope
from orderflow.shared.tenants import TenantRegistry

CONSUMER = "status-tracker.payments"
OrderKey = store.OrderKey


@dataclass(frozen=True)
class PaymentRules:
    """A tenant's settings the payments decisions need (CONTRACTS §8, §6)."""

    confirms_on_payment: bool = False
    confirmed_status: str = "OK"
    expiry: ExpiryRule = NO_EXPIRY


NO_RULES = PaymentRules()


def payment_rules(
    tenants: TenantRegistry, expiry: Mapping[str, ExpiryRule]
) -> dict[str, PaymentRules]:
    return {
        name: PaymentRules(
            tenants.get(name).confirms_on_payment(),
            confirms_on_payment_status(tenants.get(name).status_profile),
            expiry.get(name, NO_EXPIRY),
        )
        for name in tenants.tenants()
    }


async def on_payment_reported(
    conn: asyncpg.Connection,
    records: Sequence[ConsumerRecord[bytes, bytes]],
    *,
    rules: Mapping[str, PaymentRules],
    recurring: Mapping[str, Policy] | None = None,
) -> None:
    """Every `payment.reported` of one partition batch, in offset order."""
    events = consumer.envelopes(records)
    reports = payments_by_event(events)  # a malformed record fails before any write
    claimed = await inbox.claim_many(conn, CONSUMER, [e.event_id for e in events])
    fresh = consumer.first_seen(events, claimed)
    if not fresh:
        return
    keys = {messages.order_key(e) for e in fresh}
    await store.lock_orders(conn, keys)
    orders = await store.load_many(conn, keys)
    known = await payments_store.load_reports(conn, keys)
    books = {k: PaymentFacts(known[k], report_refunds(orders[k].history)) for k in keys}
    ledgers: dict[OrderKey, Ledger] = {}
    outgoing: list[messages.Outgoing] = []
    for event in fresh:
        outgoing += _record(orders, books, ledgers, event, reports[event.event_id], rules)
    new = [(k, r) for k in keys for r in books[k].reports[len(known[k]) :]]
    await payments_store.save_reports(conn, new)
    await payments_store.save_ledgers(conn, ledgers)
    # Recurring charges' outcomes (CONTRACTS §10); a paid charge confirms its child order.
    statuses = {tenant: rule.confirmed_status for tenant, rule in rules.items()}
    outgoing += await recurring_hooks.on_payments(conn, fresh, recurring or {}, orders, statuses)
    await read_model_store.save_orders(conn, list(orders.values()))
    await outbox.enqueue_many(conn, outgoing)


def _record(
    orders: dict[OrderKey, store.Order],
    books: dict[OrderKey, PaymentFacts],
    ledgers: dict[OrderKey, Ledger],
    event: Envelope,
    report: PaymentReport,
    rules: Mapping[str, PaymentRules],
) -> list[messages.Outgoing]:
    """One payment report, folded into `orders`, `books` and `ledgers`; the events decided."""
    key = messages.order_key(event)
    recorded = record(books[key], terms_of(orders[key].state), report)
    books[key], ledgers[key] = recorded.facts, recorded.ledger
    correlation = orders[key].correlation_id or event.correlation_id
    out = lifecycle_rows(recorded.events, *key, event.event_id, correlation)
    rule = rules.get(event.tenant, NO_RULES)
    return out + _confirm_if_covered(
        orders, key, recorded.ledger, rule, event.event_id, correlation
    )


def _confirm_if_covered(
    orders: dict[OrderKey, store.Order],
    key: OrderKey,
    ledger: Ledger,
    rule: PaymentRules,
    causation_id: str,
    correlation_id: str,
) -> list[messages.Outgoing]:
    order = orders[key]
    synthetic = confirmation(ledger, order.state, rule.confirmed_status)
    if not rule.confirms_on_payment or synthetic is None:
        return []
    decision = decide(order.state, order.history, synthetic, rule.expiry)
    orders[key] = order.after(decision, correlation_id)
    return messages.outgoing(decision, *key, causation_id, correlation_id)


async def after_reports(
    conn: asyncpg.Connection,
    orders: dict[OrderKey, store.Order],
    reported: Sequence[tuple[Envelope, Report]],
    rules: Mapping[str, PaymentRules],
) -> list[messages.Outgoing]:
    """The report handler's hook, after its decisions and before it saves: the refunds the
    new reports carry (`order.refunded`), and the confirmation of an order whose payments
    came first and already cover the amount it now has. Updates `orders` in place."""
    known = await payments_store.load_reports(conn, orders)
    ledgers: dict[OrderKey, Ledger] = {}
    outgoing: list[messages.Outgoing] = []
    for key, order in orders.items():
        if order.state is None or order.correlation_id is None:
            continue
        new_ids = {e.report_id for e in order.unsaved}
        before = [e for e in order.history if e.report_id not in new_ids]
        books, terms = PaymentFacts(known[key], report_refunds(before)), terms_of(order.state)
        ours = [(e, r) for e, r in reported if messages.order_key(e) == key]
        for event, report in ours:
            if report.report_id in new_ids and report.category in REVERSAL_CATEGORIES:
                [refund] = report_refunds([report])  # the report is the new history entry
                recorded = record(books, terms, refund)
                books = recorded.facts
                rows = lifecycle_rows(recorded.events, *key, event.event_id, order.correlation_id)
                outgoing += rows
        if not books.reports and not books.refunds:
            continue
        ledgers[key] = ledger = books.ledger(terms)
        cause = ours[-1][0].event_id if ours else order.correlation_id
        rule = rules.get(key[0], NO_RULES)
        outgoing += _confirm_if_covered(orders, key, ledger, rule, cause, order.correlation_id)
    await payments_store.save_ledgers(conn, ledgers)
    return outgoing
