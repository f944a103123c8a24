"""Thin handlers: claim the event, work out who the rules name, write one row per notification.

Nothing is sent here: the rows are committed with the inbox claim (and the offsets after
them), and the delivery loop sends after commit. A redelivered event is dropped by the
inbox; planning the same cause twice could not add a row anyway (unique key).
"""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg
import structlog
from aiokafka import ConsumerRecord

from orderflow.services.notifier import messages, store
from orderflow.services.notifier.domain import (
    ROLES,
    Cause,
    Recipients,
    Role,
    plan,
    wants_member_join,
)
from orderflow.shared import inbox
from orderflow.shared.envelope import Envelope, parse_envelope
from orderflow.shared.errors import Rejected
from orderflow.shared.logging import get_logger
from orderflow.shared.tenants import TenantConfig, TenantRegistry, UnknownTenant

log = get_logger(__name__)
CONSUMER = "notifier"


async def on_order_reported(conn: asyncpg.Connection, record: ConsumerRecord[bytes, bytes]) -> None:
    """Keep the order's customer contact: the only place the customer's e-mail is found."""
    event = await _claimed(conn, record)
    if event is None:
        return
    contact = messages.contact_from(event)
    if contact is not None:
        await store.save_contact(conn, contact)


async def on_event(
    conn: asyncpg.Connection, record: ConsumerRecord[bytes, bytes], *, tenants: TenantRegistry
) -> None:
    """A lifecycle, reward or commission event: notify whom the tenant's rules name."""
    event = await _claimed(conn, record)
    if event is None:
        return
    config, cause = _config(tenants, event.tenant), messages.cause_of(event)
    if not any(rule.on == event.type for rule in config.notifications.rules):
        return  # most events concern no rule: no lookups, no lock
    if event.order_id is not None:
        await store.lock_order(conn, event.tenant, event.order_id)
    await _notify(conn, config, cause, await _recipients(conn, event))
    if event.order_id is not None and wants_member_join(event.type, config.notifications.rules):
        await store.keep_order_event(conn, cause)


async def on_attribution(
    conn: asyncpg.Connection, record: ConsumerRecord[bytes, bytes], *, tenants: TenantRegistry
) -> None:
    """Track the order's members; a member who joins late hears of the kept order events."""
    event = await _claimed(conn, record)
    if event is None or event.order_id is None:
        return
    config, member = _config(tenants, event.tenant), messages.member_of(event)
    await store.lock_order(conn, event.tenant, event.order_id)
    # Whom the event itself concerns is read before it changes the order's members: a
    # voided attribution still reaches the members it takes the order from.
    recipients = await _recipients(conn, event)
    if event.type == messages.ATTRIBUTED and member is not None:
        await store.add_member(conn, event.tenant, event.order_id, member)
        joined = Recipients(merchant=event.tenant, members=(member,))
        for past in await store.order_events(conn, event.tenant, event.order_id):
            await _notify(conn, config, past, joined, roles=("member",))
    elif event.type == messages.ATTRIBUTION_VOIDED:
        await store.remove_members(conn, event.tenant, event.order_id)
    await _notify(conn, config, messages.cause_of(event), recipients)


async def _claimed(
    conn: asyncpg.Connection, record: ConsumerRecord[bytes, bytes]
) -> Envelope | None:
    event = parse_envelope(record.value)
    structlog.contextvars.bind_contextvars(
        tenant=event.tenant, order_id=event.order_id, event_id=event.event_id
    )
    return event if await inbox.claim(conn, CONSUMER, event.event_id) else None


def _config(tenants: TenantRegistry, tenant: str) -> TenantConfig:
    try:
        return tenants.get(tenant)
    except UnknownTenant as exc:
        raise Rejected(f"tenant: '{tenant}' is not a configured tenant", "unknown_tenant") from exc


async def _recipients(conn: asyncpg.Connection, event: Envelope) -> Recipients:
    customer, member = messages.customer_of(event), messages.member_of(event)
    if event.order_id is not None and customer is None:
        customer = await store.customer_of_order(conn, event.tenant, event.order_id)
    members: tuple[str, ...] = (member,) if member is not None else ()
    if event.order_id is not None and member is None:
        members = await store.members_of(conn, event.tenant, event.order_id)
    return Recipients(merchant=event.tenant, customer=customer, members=members)


async def _notify(
    conn: asyncpg.Connection,
    config: TenantConfig,
    cause: Cause,
    recipients: Recipients,
    roles: Iterable[Role] = ROLES,
) -> None:
    planned, skipped = plan(
        cause, config.notifications.rules, recipients, config.notifications.email, roles
    )
    inserted = await store.insert_notifications(conn, cause, planned)
    for skip in skipped:
        log.info("notification_skipped", role=skip.role, channel=skip.channel, reason=skip.reason)
    if inserted:
        log.info("notifications_planned", cause_type=cause.type, count=inserted)
