"""The SQL of ingest's `payments` table: one statement per batch of payment reports.

The caller passes each identity once; the primary key, never a check, decides what is new.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from orderflow.services.ingest.payments import PaymentReport, PaymentSource


async def insert_payments(
    conn: asyncpg.Connection,
    payments: Sequence[tuple[str, PaymentReport]],
    source: PaymentSource,
    channel: str,
    received_at: datetime,
) -> set[str]:
    """Store each `(report_id, payment)`; returns the ids that were not stored yet."""
    if not payments:
        return set()
    rows = await conn.fetch(
        "INSERT INTO payments (report_id, tenant, order_id, payment_id, status, occurred_at,"
        " source, received_at, channel, raw)"
        " SELECT p.report_id, p.tenant, p.order_id, p.payment_id, p.status, p.occurred_at,"
        "  $8, $9, $10, p.raw::jsonb"
        " FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[],"
        "  $6::timestamptz[], $7::text[]) WITH ORDINALITY"
        "  AS p(report_id, tenant, order_id, payment_id, status, occurred_at, raw, n)"
        " ORDER BY p.n ON CONFLICT (report_id) DO NOTHING RETURNING report_id::text",
        [report_id for report_id, _ in payments],
        [p.tenant for _, p in payments],
        [p.order_id for _, p in payments],
        [p.payment_id for _, p in payments],
        [p.status.value for _, p in payments],
        [p.occurred_at for _, p in payments],
        [json.dumps(p.model_dump(mode="json", exclude_none=True)) for _, p in payments],
        source.value,
        received_at,
        channel,
    )
    return {row["report_id"] for row in rows}
