"""The SQL of ingest's own schema."""

from __future__ import annotations

import json
from datetime import datetime

import asyncpg

from orderflow.services.ingest.reports import OrderReport, Touchpoint
from orderflow.shared.vocabulary import Category


async def insert_report(
    conn: asyncpg.Connection,
    report_id: str,
    report: OrderReport,
    category: Category | None,
    channel: str,
    received_at: datetime,
) -> bool:
    """Store the report; False when a report with the same identity is already stored."""
    row = await conn.fetchval(
        "INSERT INTO reports (report_id, tenant, order_id, source, status, category, occurred_at,"
        " received_at, channel, raw) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)"
        " ON CONFLICT (report_id) DO NOTHING RETURNING 1",
        report_id,
        report.tenant,
        report.order_id,
        report.source,
        report.status,
        category.value if category else None,
        report.occurred_at,
        received_at,
        channel,
        json.dumps(report.model_dump(mode="json", exclude_none=True)),
    )
    return row is not None


async def insert_touchpoint(
    conn: asyncpg.Connection,
    touchpoint_uuid: str,
    tp: Touchpoint,
    channel: str,
    received_at: datetime,
) -> bool:
    row = await conn.fetchval(
        "INSERT INTO touchpoints (touchpoint_uuid, tenant, touchpoint_id, member_id, customer_id, kind,"
        " occurred_at, received_at, channel, raw) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb)"
        " ON CONFLICT (touchpoint_uuid) DO NOTHING RETURNING 1",
        touchpoint_uuid,
        tp.tenant,
        tp.touchpoint_id,
        tp.member_id,
        tp.customer_id,
        tp.kind.value,
        tp.occurred_at,
        received_at,
        channel,
        json.dumps(tp.model_dump(mode="json", exclude_none=True)),
    )
    return row is not None
