"""Thin handlers: store each report once and enqueue its internal event, in the caller's transaction.

HTTP and Kafka share `accept_reports`, so a report has the same identity, the same
duplicate handling and the same event whichever way it came in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg
from aiokafka import ConsumerRecord

from orderflow.services.ingest import domain, store
from orderflow.services.ingest.reports import (
    OrderReport,
    ReportRejected,
    Touchpoint,
    parse_report_record,
    parse_touchpoint_record,
    report_uuid,
    touchpoint_uuid,
)
from orderflow.shared import metrics, outbox, topics
from orderflow.shared.envelope import utcnow
from orderflow.shared.errors import Rejected
from orderflow.shared.logging import get_logger
from orderflow.shared.tenants import TenantRegistry
from orderflow.shared.vocabulary import Category

log = get_logger(__name__)


@dataclass(frozen=True)
class Accepted:
    ids: list[str]
    duplicates: int


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
    ids, duplicates, now = [], 0, utcnow()
    for report, category in reports:
        report_id = str(report_uuid(report))
        ids.append(report_id)
        if not await store.insert_report(conn, report_id, report, category, channel, now):
            duplicates += 1
            continue
        if category is None:
            metrics.STATUS_UNMAPPED.labels(report.tenant).inc()
            log.warning(
                "status_unmapped",
                tenant=report.tenant,
                order_id=report.order_id,
                status=report.status,
                report_id=report_id,
            )
        await outbox.enqueue(
            conn, topics.ORDER_REPORTS, domain.reported_event(report, report_id, category, now)
        )
    return Accepted(ids, duplicates)


async def accept_touchpoints(
    conn: asyncpg.Connection, touchpoints: Sequence[Touchpoint], channel: str
) -> Accepted:
    ids, duplicates, now = [], 0, utcnow()
    for tp in touchpoints:
        tp_id = str(touchpoint_uuid(tp))
        ids.append(tp_id)
        if not await store.insert_touchpoint(conn, tp_id, tp, channel, now):
            duplicates += 1
            continue
        event = domain.touchpoint_event(tp, tp_id, now)
        key = f"{tp.tenant}:{tp.customer_id}".encode()
        await outbox.enqueue(conn, topics.TOUCHPOINTS_RECORDED, event, key=key)
    return Accepted(ids, duplicates)


def _known_tenant(tenants: TenantRegistry, tenant: str) -> None:
    if tenant not in tenants:
        raise Rejected(f"tenant: '{tenant}' is not a configured tenant", "unknown_tenant")


async def on_order_report(
    conn: asyncpg.Connection, record: ConsumerRecord[bytes, bytes], *, tenants: TenantRegistry
) -> None:
    try:
        report = parse_report_record(record.key, record.value or b"")
    except ReportRejected as exc:
        raise Rejected(str(exc), "invalid_report") from exc
    _known_tenant(tenants, report.tenant)
    await accept_reports(conn, tenants, [report], channel="kafka")


async def on_touchpoint(
    conn: asyncpg.Connection, record: ConsumerRecord[bytes, bytes], *, tenants: TenantRegistry
) -> None:
    try:
        touchpoint = parse_touchpoint_record(record.key, record.value or b"")
    except ReportRejected as exc:
        raise Rejected(str(exc), "invalid_touchpoint") from exc
    _known_tenant(tenants, touchpoint.tenant)
    await accept_touchpoints(conn, [touchpoint], channel="kafka")
