"""The SQL of ingest's own schema: one statement per batch of reports or touchpoints.

The caller passes each identity once; the primary key, never a check, decides what is new,
so two requests racing with the same report store it once and one of them hears "duplicate".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import asyncpg

from orderflow.services.ingest.domain import Prepared
from orderflow.services.ingest.reports import Touchpoint


def _raw(item: Touchpoint) -> str:
    # pydantic's serialiser writes the JSON model_dump(mode="json") holds, in half the time.
    return item.model_dump_json(exclude_none=True)


async def insert_reports(
    conn: asyncpg.Connection,
    reports: Prepared,
    channel: str,
    received_at: datetime,
) -> set[str]:
    """Store each report (each id once); returns the ids that were not stored yet."""
    if not reports:
        return set()
    rows = await conn.fetch(
        "INSERT INTO reports (report_id, tenant, order_id, source, status, category, occurred_at,"
        " received_at, channel, raw)"
        " SELECT r.report_id, r.tenant, r.order_id, r.source, r.status, r.category,"
        "  r.occurred_at, $9, $10, r.raw::jsonb"
        " FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
        "  $7::timestamptz[], $8::text[]) WITH ORDINALITY"
        "  AS r(report_id, tenant, order_id, source, status, category, occurred_at, raw, n)"
        " ORDER BY r.n ON CONFLICT (report_id) DO NOTHING RETURNING report_id::text",
        reports.report_ids,
        reports.tenants,
        reports.order_ids,
        reports.sources,
        reports.statuses,
        [c.value if c else None for c in reports.categories],
        reports.occurred_at,
        reports.raw,
        received_at,
        channel,
    )
    return {row["report_id"] for row in rows}


async def insert_touchpoints(
    conn: asyncpg.Connection,
    touchpoints: Sequence[tuple[str, Touchpoint]],
    channel: str,
    received_at: datetime,
) -> set[str]:
    """Store each `(touchpoint_uuid, touchpoint)`; returns the uuids that were not stored yet."""
    if not touchpoints:
        return set()
    rows = await conn.fetch(
        "INSERT INTO touchpoints (touchpoint_uuid, tenant, touchpoint_id, member_id, customer_id,"
        " kind, occurred_at, received_at, channel, raw)"
        " SELECT t.touchpoint_uuid, t.tenant, t.touchpoint_id, t.member_id, t.customer_id,"
        "  t.kind, t.occurred_at, $9, $10, t.raw::jsonb"
        " FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
        "  $7::timestamptz[], $8::text[]) WITH ORDINALITY"
        "  AS t(touchpoint_uuid, tenant, touchpoint_id, member_id, customer_id, kind,"
        "  occurred_at, raw, n)"
        " ORDER BY t.n ON CONFLICT (touchpoint_uuid) DO NOTHING RETURNING touchpoint_uuid::text",
        [tp_id for tp_id, _ in touchpoints],
        [tp.tenant for _, tp in touchpoints],
        [tp.touchpoint_id for _, tp in touchpoints],
        [tp.member_id for _, tp in touchpoints],
        [tp.customer_id for _, tp in touchpoints],
        [tp.kind.value for _, tp in touchpoints],
        [tp.occurred_at for _, tp in touchpoints],
        [_raw(tp) for _, tp in touchpoints],
        received_at,
        channel,
    )
    return {row["touchpoint_uuid"] for row in rows}
