"""Thin handlers: store each report once and enqueue its internal event, in the caller's transaction.

HTTP, the platform webhooks and Kafka share `accept_categorised`, so a report has the same
identity, the same duplicate handling and the same event whichever way it came in. A batch
costs two statements whatever its size: one insert of every report, one of every event.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

import asyncpg
import structlog

from orderflow.services.ingest import domain, store
from orderflow.services.ingest.payments import PaymentReport
from orderflow.services.ingest.reports import (
    OrderReport,
    ReportRejected,
    Touchpoint,
    parse_report_record,
    parse_touchpoint_record,
    touchpoint_uuid,
)
from orderflow.shared import metrics, outbox, topics
from orderflow.shared.envelope import Envelope, OutgoingEvent, utcnow
from orderflow.shared.errors import Rejected
from orderflow.shared.logging import get_logger
from orderflow.shared.runner import Record
from orderflow.shared.tenants import TenantRegistry
from orderflow.shared.vocabulary import Category

log = get_logger(__name__)
Item = TypeVar("Item", OrderReport, Touchpoint, PaymentReport)


@dataclass(frozen=True)
class Accepted:
    ids: list[str]
    duplicates: int


def first_occurrences(ids: Sequence[str]) -> list[int]:
    """The index of each id's first occurrence: a later one in the same batch is a duplicate."""
    seen: set[str] = set()
    first = []
    for i, item_id in enumerate(ids):
        if item_id not in seen:
            seen.add(item_id)
            first.append(i)
    return first


async def accept_reports(
    conn: asyncpg.Connection, tenants: TenantRegistry, reports: Sequence[OrderReport], channel: str
) -> Accepted:
    """Reports whose category the tenant's status profile decides."""
    categorised = [(r, domain.category_of(tenants.get(r.tenant), r)) for r in reports]
    return await accept_categorised(conn, categorised, channel)


async def accept_categorised(
    conn: asyncpg.Connection,
    reports: Sequence[tuple[OrderReport, Category | None]],
    channel: str,
) -> Accepted:
    """Reports whose category is already decided (a platform adapter's, CONTRACTS §2)."""
    now, prepared = utcnow(), domain.Prepared()
    for report, category in reports:
        prepared.add(report, category, now)
    return await accept_prepared(conn, prepared, channel, now)


async def accept_prepared(
    conn: asyncpg.Connection, reports: domain.Prepared, channel: str, now: datetime
) -> Accepted:
    """Reports already prepared (`domain.Prepared`, received at `now`): one insert of the
    reports, one of the events of those that were new."""
    ids = reports.report_ids
    first = first_occurrences(ids)
    stored = await store.insert_reports(conn, reports.taking(first), channel, now)
    events: list[tuple[str, OutgoingEvent, bytes | None]] = []
    for i in (i for i in first if ids[i] in stored):
        if reports.categories[i] is None:
            _unmapped(reports, i)
        events.append((topics.ORDER_REPORTS, reports.event(i), None))
    await outbox.enqueue_many(conn, events)
    return Accepted(ids, len(ids) - len(events))


def _unmapped(reports: domain.Prepared, i: int) -> None:
    metrics.STATUS_UNMAPPED.labels(reports.tenants[i]).inc()
    log.warning(
        "status_unmapped",
        tenant=reports.tenants[i],
        order_id=reports.order_ids[i],
        status=reports.statuses[i],
        report_id=reports.report_ids[i],
    )


async def accept_touchpoints(
    conn: asyncpg.Connection, touchpoints: Sequence[Touchpoint], channel: str
) -> Accepted:
    now, ids = utcnow(), [str(touchpoint_uuid(tp)) for tp in touchpoints]
    first = first_occurrences(ids)
    stored = await store.insert_touchpoints(
        conn, [(ids[i], touchpoints[i]) for i in first], channel, now
    )
    events: list[tuple[str, Envelope, bytes | None]] = []
    for i in (i for i in first if ids[i] in stored):
        tp = touchpoints[i]
        key = f"{tp.tenant}:{tp.customer_id}".encode()
        events.append((topics.TOUCHPOINTS_RECORDED, domain.touchpoint_event(tp, ids[i], now), key))
    await outbox.enqueue_many(conn, events)
    return Accepted(ids, len(ids) - len(events))


def parse_records(
    records: Sequence[Record],
    parse: Callable[[bytes | None, bytes, datetime], Item],
    error_type: str,
    tenants: TenantRegistry,
) -> list[Item]:
    """Every record of the batch, valid and of a known tenant, or `Rejected` for the first
    that is not (the runner then replays the batch one record at a time to isolate it)."""
    items, clock = [], utcnow()
    for record in records:
        # Received when the broker has it: a redelivery is judged against the same instant
        # (a record stamped ahead of our clock, or not stamped, is judged by our clock).
        stamped = record.timestamp > 0  # -1 (or 0): the record carries no time
        received = (
            min(clock, datetime.fromtimestamp(record.timestamp / 1000, UTC)) if stamped else clock
        )
        try:
            item = parse(record.key, record.value or b"", received)
        except ReportRejected as exc:
            raise Rejected(str(exc), error_type) from exc
        if item.tenant not in tenants:
            raise Rejected(f"tenant: '{item.tenant}' is not a configured tenant", "unknown_tenant")
        items.append(item)
    if len(items) == 1:
        structlog.contextvars.bind_contextvars(tenant=items[0].tenant, order_id=items[0].order_id)
    return items


async def on_order_reports(
    conn: asyncpg.Connection, records: Sequence[Record], *, tenants: TenantRegistry
) -> None:
    """A batch of `orders.inbound.v1`: the same path as one HTTP request of many reports."""
    reports = parse_records(records, parse_report_record, "invalid_report", tenants)
    try:
        domain.check_refunds(tenants, reports, indexed=False)
    except ReportRejected as exc:
        raise Rejected(str(exc), "invalid_report") from exc
    await accept_reports(conn, tenants, reports, channel="kafka")


async def on_touchpoints(
    conn: asyncpg.Connection, records: Sequence[Record], *, tenants: TenantRegistry
) -> None:
    """A batch of `touchpoints.inbound.v1`."""
    touchpoints = parse_records(records, parse_touchpoint_record, "invalid_touchpoint", tenants)
    await accept_touchpoints(conn, touchpoints, channel="kafka")
