"""Re-emitting ingest's stored reports (`orderflow replay reports`, CONTRACTS §12).

Each stored report is rebuilt from its raw JSON, its category and its receipt time as they
were stored, so its `order.reported` event is the one first published, byte for byte under
the same event id; downstream inboxes absorb it and nothing changes there. Reports are
chosen by tenant and receipt time, and queued in the order they were received.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime

import asyncpg

from orderflow.services.ingest import domain
from orderflow.services.ingest.reports import OrderReport
from orderflow.shared import outbox, topics
from orderflow.shared.envelope import Envelope
from orderflow.shared.vocabulary import Category

BATCH = 1000


async def _batches(
    conn: asyncpg.Connection, tenant: str, since: datetime | None, until: datetime | None
) -> AsyncIterator[list[asyncpg.Record]]:
    # Keyset pages over reports_by_receipt (migration 0003): each page starts where the
    # last one ended, in the index, whatever the tenant's size.
    after: tuple[datetime | None, str] = (since, _BEFORE_ANY_ID)
    while True:
        rows = await conn.fetch(
            PAGE,
            tenant,
            after[0],
            after[1],
            until,
            BATCH,
        )
        if not rows:
            return
        yield list(rows)
        after = (rows[-1]["received_at"], rows[-1]["report_id"])


PAGE = (
    "SELECT report_id::text, category, received_at, raw::text FROM reports"
    " WHERE tenant = $1"
    " AND (received_at, report_id) > (COALESCE($2, '-infinity'::timestamptz), $3::uuid)"
    " AND received_at < COALESCE($4, 'infinity'::timestamptz)"
    " ORDER BY received_at, report_id LIMIT $5"
)
# The least uuid: (since, it) precedes every report received at `since` (ids are uuid5s).
_BEFORE_ANY_ID = "00000000-0000-0000-0000-000000000000"


def _event(row: asyncpg.Record) -> Envelope:
    received: datetime = row["received_at"]
    report = OrderReport.model_validate(json.loads(row["raw"]), context={"now": received})
    category = Category(row["category"]) if row["category"] else None
    return domain.reported_event(report, row["report_id"], category, received)


async def replay_reports(
    conn: asyncpg.Connection, tenant: str, since: datetime | None, until: datetime | None
) -> int:
    """Queues the tenant's reports received in [since, until) again; returns how many."""
    count = 0
    async for rows in _batches(conn, tenant, since, until):
        # One transaction a page (enqueue_again's own).
        await outbox.enqueue_again(conn, [(topics.ORDER_REPORTS, _event(r), None) for r in rows])
        count += len(rows)
    return count
