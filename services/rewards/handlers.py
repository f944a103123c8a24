"""Thin handlers: claim, lock the order, load, record the fact, settle, save, enqueue.

One transaction per message (the runner's). The order's lock serialises its two input topics
and the approval timer; the members' locks serialise their statistics across orders.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

import asyncpg
import structlog
from aiokafka import ConsumerRecord

from orderflow.services.rewards import messages, records, store
from orderflow.services.rewards.conditions import MemberStats, widest_window
from orderflow.services.rewards.domain import Decision, Programme, approve, awaiting, settle
from orderflow.services.rewards.facts import Fact, OrderBook, record
from orderflow.shared import inbox, outbox, topics
from orderflow.shared.envelope import Envelope
from orderflow.shared.errors import Rejected
from orderflow.shared.logging import get_logger

log = get_logger(__name__)
CONSUMER = "rewards"
Programmes = Mapping[str, Programme]


async def on_lifecycle(
    conn: asyncpg.Connection, record: ConsumerRecord[bytes, bytes], *, programmes: Programmes
) -> None:
    await _handle(conn, record.value, messages.lifecycle_fact, programmes)


async def on_attribution(
    conn: asyncpg.Connection, record: ConsumerRecord[bytes, bytes], *, programmes: Programmes
) -> None:
    await _handle(conn, record.value, messages.attribution_fact, programmes)


async def _handle(
    conn: asyncpg.Connection,
    raw: bytes | None,
    fact_of: Callable[[Envelope], Fact | None],
    programmes: Programmes,
) -> None:
    event = messages.parse_envelope(raw)
    structlog.contextvars.bind_contextvars(
        tenant=event.tenant, order_id=event.order_id, event_id=event.event_id
    )
    programme = programmes.get(event.tenant)
    if programme is None:
        raise Rejected(f"tenant: unknown tenant {event.tenant!r}", "unknown_tenant")
    fact = fact_of(event)
    if not await inbox.claim(conn, CONSUMER, event.event_id) or fact is None:
        return
    assert event.order_id is not None
    await store.lock_order(conn, event.tenant, event.order_id)
    book, correlation = await store.load_book(conn, event.tenant, event.order_id)
    book = record(book, fact)
    stats = await _member_stats(conn, book, programme)
    decision = settle(book, programme, stats, event.event_id)
    await _save(conn, decision, correlation or event.correlation_id)


async def fire_approval(
    conn: asyncpg.Connection,
    tenant: str,
    order_id: str,
    line_id: str,
    due_at: datetime,
    now: datetime,
) -> bool:
    """Fire one due approval timer; False when it was cancelled, moved or already fired."""
    await store.lock_order(conn, tenant, order_id)
    book, correlation = await store.load_book(conn, tenant, order_id)
    decision = approve(book, line_id, due_at, now)
    if not decision.entries:
        return False
    await _save(conn, decision, correlation or f"approval:{tenant}:{order_id}")
    return True


async def _member_stats(
    conn: asyncpg.Connection, book: OrderBook, programme: Programme
) -> dict[str, MemberStats]:
    members = awaiting(book)
    confirmed = book.lifecycle.confirmed
    if not members or confirmed is None:
        return {}
    await store.lock_members(conn, book.tenant, members)
    window = widest_window([c.when for c in programme.challenges])
    return {
        m: await records.member_stats(conn, book.tenant, m, confirmed.occurred_at, window)
        for m in members
    }


async def _save(conn: asyncpg.Connection, decision: Decision, correlation_id: str) -> None:
    book = decision.book
    await store.save_book(conn, book, correlation_id)
    for counted in decision.counted:
        await records.count_order(conn, book.tenant, counted)
    for reward in decision.rewards:
        if await records.grant_reward(conn, book, reward):
            envelope = messages.reward_envelope(reward, book.tenant, book.order_id, correlation_id)
            await outbox.enqueue(conn, topics.REWARDS, envelope)
    for entry in decision.entries:
        if await records.append_entry(conn, book, entry):
            envelope = messages.entry_envelope(entry, book.tenant, book.order_id, correlation_id)
            await outbox.enqueue(conn, topics.COMMISSIONS, envelope)
        else:
            log.warning("ledger_entry_exists", entry_id=entry.entry_id, kind=entry.kind.value)
