"""Store each payment report once and enqueue its `payment.reported`, in the caller's transaction.

HTTP, the platform webhooks and `payments.inbound.v1` share `accept_payments`, so a payment
has the same identity, duplicate handling and event whichever way it came in: two
statements per batch, one insert of every report, one of every event.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from orderflow.services.ingest import payment_store, payments
from orderflow.services.ingest.handlers import Accepted, first_occurrences, parse_records
from orderflow.services.ingest.payments import (
    PaymentReport,
    PaymentSource,
    parse_payment_record,
    payment_uuid,
)
from orderflow.shared import outbox, topics
from orderflow.shared.envelope import Envelope, utcnow
from orderflow.shared.runner import Record
from orderflow.shared.tenants import TenantRegistry


async def accept_payments(
    conn: asyncpg.Connection, reports: Sequence[PaymentReport], source: PaymentSource, channel: str
) -> Accepted:
    """`source` is the event's (api, kafka or the platform), `channel` the door (http, ...)."""
    now, ids = utcnow(), [str(payment_uuid(p)) for p in reports]
    first = first_occurrences(ids)
    fresh = [(ids[i], reports[i]) for i in first]
    stored = await payment_store.insert_payments(conn, fresh, source, channel, now)
    events: list[tuple[str, Envelope, bytes | None]] = [
        (topics.PAYMENT_REPORTS, payments.reported_event(p, report_id, source, now), None)
        for report_id, p in fresh
        if report_id in stored
    ]
    await outbox.enqueue_many(conn, events)
    return Accepted(ids, len(ids) - len(events))


async def on_payment_records(
    conn: asyncpg.Connection, records: Sequence[Record], *, tenants: TenantRegistry
) -> None:
    """A batch of `payments.inbound.v1`: the same path as one HTTP request of many payments."""
    reports = parse_records(records, parse_payment_record, "invalid_payment", tenants)
    await accept_payments(conn, reports, PaymentSource.KAFKA, channel="kafka")
