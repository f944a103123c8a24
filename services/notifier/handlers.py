"""Thin batch handlers: claim the events, work out whom the rules name, write the rows.

Each handler gets one partition's batch in offset order and costs a fixed number of
statements whatever its size: one inbox claim, one lock statement for the batch's orders,
one or two loads, then one insert or upsert per table. The decisions fold over the batch
in memory (`fanout`), so the batch has the effect its events would have one by one.

Nothing is sent here: the rows are committed with the inbox claims (and the offsets after
them), and the delivery loop sends after commit. A redelivered event is dropped by the
inbox; planning the same cause twice could not add a row anyway (unique key).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import asyncpg

from orderflow.services.notifier import fanout, messages, order_store, store
from orderflow.services.notifier.domain import Cause
from orderflow.services.notifier.fanout import BatchPlan, Known
from orderflow.shared import consumer, inbox, locks
from orderflow.shared.envelope import Envelope
from orderflow.shared.errors import Rejected
from orderflow.shared.logging import get_logger
from orderflow.shared.runner import Record
from orderflow.shared.tenants import Notifications, TenantRegistry, UnknownTenant

log = get_logger(__name__)
CONSUMER = "notifier"
Events = list[tuple[Notifications, Cause]]


async def on_order_reported(conn: asyncpg.Connection, records: Sequence[Record]) -> None:
    """Keep the orders' customer contacts: the only place the customer's e-mail is found."""
    contacts = [messages.contact_from(e) for e in await _claimed(conn, records)]
    merged = messages.merge_contacts([c for c in contacts if c is not None])
    await order_store.save_contacts(conn, merged)


async def on_event(
    conn: asyncpg.Connection, records: Sequence[Record], *, tenants: TenantRegistry
) -> None:
    """Lifecycle, reward and commission events: notify whom the tenant's rules name."""
    events = _with_rules(tenants, await _claimed(conn, records))
    events = [(rules, cause) for rules, cause in events if fanout.concerns_a_rule(rules, cause)]
    await _write(conn, fanout.plan_events(events, await _known(conn, events, with_kept=False)))


async def on_attribution(
    conn: asyncpg.Connection, records: Sequence[Record], *, tenants: TenantRegistry
) -> None:
    """Track the orders' members; a member who joins late hears of the kept order events."""
    claimed = [e for e in await _claimed(conn, records) if e.order_id is not None]
    events = _with_rules(tenants, claimed)
    await _write(conn, fanout.plan_attributions(events, await _known(conn, events, True)))


async def _claimed(conn: asyncpg.Connection, records: Sequence[Record]) -> list[Envelope]:
    events = consumer.envelopes(records)
    claimed = await inbox.claim_many(conn, CONSUMER, [e.event_id for e in events])
    return consumer.first_seen(events, claimed)


def _with_rules(tenants: TenantRegistry, events: Sequence[Envelope]) -> Events:
    return [(_notifications(tenants, e.tenant), messages.cause_of(e)) for e in events]


def _notifications(tenants: TenantRegistry, tenant: str) -> Notifications:
    try:
        return tenants.get(tenant).notifications
    except UnknownTenant as exc:
        raise Rejected(f"tenant: '{tenant}' is not a configured tenant", "unknown_tenant") from exc


async def _known(conn: asyncpg.Connection, events: Events, with_kept: bool) -> Known:
    """Lock the batch's orders (sorted, one statement), then load what is known of them."""
    keys = {key for _, cause in events if (key := fanout.order_key(cause)) is not None}
    await locks.take(conn, [order_store.lock_key(key) for key in keys])
    return await order_store.known(conn, keys, with_kept)


async def _write(conn: asyncpg.Connection, batch: BatchPlan) -> None:
    await order_store.clear_members(conn, batch.members_cleared)
    await order_store.add_members(conn, batch.members_added)
    await order_store.keep_events(conn, batch.kept)
    inserted = await store.insert_notifications(conn, list(batch.notifications.values()))
    skipped = Counter((cause.type, s.role, s.channel, s.reason) for cause, s in batch.skipped)
    for (cause_type, role, channel, reason), count in skipped.items():
        log.info(
            "notification_skipped",
            cause_type=cause_type,
            role=role,
            channel=channel,
            reason=reason,
            count=count,
        )
    if inserted:
        log.info("notifications_planned", count=inserted)
