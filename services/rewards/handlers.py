"""Thin set-based handlers: the order-keyed step, the member-keyed step, the approval timer.

Each gets a whole partition batch inside the runner's transaction. The order-keyed step
(orders.lifecycle.v1, orders.attribution.v1) claims the batch, locks its orders (the two
topics and the timer touch one order), loads their books, folds, and writes the books, the
ledger entries, and the outbox (commission events, and a member fact per (member, order)
that now counts). The member-keyed step (rewards.member-facts.v1, one partition per member)
claims, loads its members, folds, and writes the counted orders, the rewards and their
events: no member lock, since no other partition decides about those members.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

import asyncpg

from orderflow.services.rewards import customer_handlers, folds, messages, records, store
from orderflow.services.rewards.challenges import MemberDecision, window
from orderflow.services.rewards.domain import Programme, approve
from orderflow.services.rewards.facts import Fact, OrderBook
from orderflow.services.rewards.folds import MemberInput, OrderFold, OrderInput
from orderflow.shared import consumer, inbox, locks, outbox, topics
from orderflow.shared.envelope import Envelope
from orderflow.shared.errors import Rejected
from orderflow.shared.logging import get_logger
from orderflow.shared.runner import Record

log = get_logger(__name__)
CONSUMER = "rewards"
Programmes = Mapping[str, Programme]
FactOf = Callable[[Envelope], Fact | None]
Outgoing = list[tuple[str, Envelope, bytes | None]]


async def on_orders(
    conn: asyncpg.Connection, batch: Sequence[Record], *, programmes: Programmes, fact_of: FactOf
) -> None:
    events = consumer.envelopes(batch)
    inputs = {e.event_id: _order_input(e, fact_of, programmes) for e in events}
    claimed = await inbox.claim_many(conn, CONSUMER, [e.event_id for e in events])
    fresh = [i for e in consumer.first_seen(events, claimed) if (i := inputs[e.event_id])]
    if not fresh:
        return
    keys = {i.key for i in fresh}
    await locks.take(conn, [store.order_lock(*key) for key in keys])
    books, correlations = await store.load_books(conn, keys)
    await _save_orders(conn, folds.fold_orders(books, correlations, fresh, programmes), books)


async def on_member_facts(
    conn: asyncpg.Connection, batch: Sequence[Record], *, programmes: Programmes
) -> None:
    events = consumer.envelopes(batch)
    inputs = {e.event_id: _member_input(e, programmes) for e in events}
    claimed = await inbox.claim_many(conn, CONSUMER, [e.event_id for e in events])
    fresh = [inputs[e.event_id] for e in consumer.first_seen(events, claimed)]
    if not fresh:
        return
    fresh = await customer_handlers.with_customer_segments(conn, fresh, programmes)  # §11
    states = await records.load_members(conn, _spans(fresh, programmes))
    await _save_members(conn, folds.fold_members(states, fresh, programmes))


async def fire_approval(
    conn: asyncpg.Connection,
    tenant: str,
    order_id: str,
    line_id: str,
    due_at: datetime,
    now: datetime,
) -> bool:
    """Fire one due approval timer; False when it was cancelled, moved or already fired."""
    key = (tenant, order_id)
    await locks.take(conn, [store.order_lock(tenant, order_id)])
    books, correlations = await store.load_books(conn, [key])
    decision = approve(books.get(key) or OrderBook(tenant, order_id), line_id, due_at, now)
    if not decision.entries:
        return False
    correlation = correlations.get(key, f"approval:{tenant}:{order_id}")
    await _save_orders(conn, OrderFold({key: decision.book}, {key: correlation}, [decision]), books)
    return True


def _order_input(event: Envelope, fact_of: FactOf, programmes: Programmes) -> OrderInput | None:
    """The input fact an order event states; None for a type that changes nothing here."""
    order_id = messages.order_of(event)
    _programme(event, programmes)
    fact = fact_of(event)
    if fact is None:
        return None
    return OrderInput(event.tenant, order_id, fact, event.event_id, event.correlation_id)


def _member_input(event: Envelope, programmes: Programmes) -> MemberInput:
    _programme(event, programmes)
    return MemberInput(messages.counted_fact(event), event.correlation_id)


def _programme(event: Envelope, programmes: Programmes) -> Programme:
    programme = programmes.get(event.tenant)
    if programme is None:
        raise Rejected(f"tenant: unknown tenant {event.tenant!r}", "unknown_tenant")
    return programme


def _spans(
    fresh: Sequence[MemberInput], programmes: Programmes
) -> dict[folds.MemberKey, tuple[datetime, datetime]]:
    """Per member, the confirmation times its orders at hand need known: theirs ± the window."""
    spans: dict[folds.MemberKey, tuple[datetime, datetime]] = {}
    for item in fresh:
        at, span = item.order.confirmed_at, window(programmes[item.order.tenant])
        low, high = spans.get(item.key, (at, at))
        spans[item.key] = (min(low, at), max(high, at))
    return {k: (low - span, high + span) for k, (low, high) in spans.items()}


async def _save_orders(
    conn: asyncpg.Connection, fold: OrderFold, before: Mapping[folds.OrderKey, OrderBook]
) -> None:
    await store.save_books(conn, folds.changed(fold, before))
    posted = [(d.book.tenant, d.book.order_id, e) for d in fold.decisions for e in d.entries]
    inserted = await records.append_entries(conn, posted)
    await outbox.enqueue_many(conn, _order_events(fold, inserted))


async def _save_members(
    conn: asyncpg.Connection, decisions: Sequence[tuple[MemberDecision, str]]
) -> None:
    counted = [(d.counted, d.rewards, correlation) for d, correlation in decisions if d.counted]
    await records.count_orders(conn, [order for order, _, _ in counted])
    granted = [(o.tenant, o.order_id, r) for o, rewards, _ in counted for r in rewards]
    inserted = await records.grant_rewards(conn, granted)
    events: Outgoing = [
        (topics.REWARDS, messages.reward_envelope(r, o.tenant, o.order_id, correlation), None)
        for o, rewards, correlation in counted
        for r in rewards
        if r.reward_id in inserted
    ]
    await outbox.enqueue_many(conn, events)


def _order_events(fold: OrderFold, inserted: set[str]) -> Outgoing:
    """Per decision in order: its member facts, then its newly appended entries' events."""
    out: Outgoing = []
    for decision in fold.decisions:
        book, correlation = decision.book, fold.correlation(decision.book)
        for counted in decision.counted:
            fact = messages.counted_envelope(counted, correlation)
            out.append((topics.REWARDS_MEMBER_FACTS, fact, messages.member_key(counted)))
        for entry in decision.entries:
            if entry.entry_id not in inserted:
                log.warning("ledger_entry_exists", entry_id=entry.entry_id, kind=entry.kind.value)
                continue
            event = messages.entry_envelope(entry, book.tenant, book.order_id, correlation)
            out.append((topics.COMMISSIONS, event, None))
    return out
