"""`orderflow replay reports` reads a tenant's reports in receipt order, page by page, on the
real Postgres: every report in [since, until) once, in order, whatever the page size, and
each page straight from the receipt-order index (no scan and sort of the whole table)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from orderflow.services.ingest import domain, handlers, replay
from orderflow.services.ingest.reports import parse_report_batch
from orderflow.shared.tenants import load_tenants
from tests.batch_support import service_connection
from tests.harness import report, tenant_env, write_tenants

pytestmark = pytest.mark.integration
T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
async def conn(stack_env: dict[str, str]) -> AsyncIterator[asyncpg.Connection]:
    async with service_connection(stack_env, "ingest") as connection:
        yield connection


async def _store(conn: asyncpg.Connection, tenant: str, prefix: str, received: datetime) -> None:
    """Seven reports of `tenant`, received at `received`."""
    prepared = domain.Prepared()
    for n in range(7):
        body = json.loads(json.dumps(report(f"{prefix}-{n}", "OK", "2026-11-30T10:00:00Z")))
        [parsed] = parse_report_batch({**body, "tenant": tenant}, received)
        prepared.add(parsed, None, received)
    async with conn.transaction():
        await handlers.accept_prepared(conn, prepared, "import", received)


async def test_pages_cover_the_window_once_in_receipt_order(
    conn: asyncpg.Connection, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_tenants(write_tenants(tmp_path / "tenants"), env=tenant_env())
    prefix = f"pg-{uuid.uuid4().hex[:8]}"
    base = T0 + timedelta(days=int(uuid.uuid4().int % 10_000))  # this test's own receipt times
    for hour in range(4):
        for tenant in ("shop", "store"):
            await _store(conn, tenant, f"{prefix}-{hour}", base + timedelta(hours=hour))
    monkeypatch.setattr(replay, "BATCH", 3)  # pages end inside one receipt instant
    windows = [(None, None), (base + timedelta(hours=1), base + timedelta(hours=3))]
    for since, until in windows:
        paged = [
            (row["received_at"], row["report_id"])
            async for page in replay._batches(conn, "shop", since, until)
            for row in page
            if row["received_at"] >= base
        ]
        expected = await conn.fetch(
            "SELECT received_at, report_id::text FROM reports WHERE tenant = 'shop'"
            " AND received_at >= $1 AND received_at >= COALESCE($2, '-infinity'::timestamptz)"
            " AND received_at < COALESCE($3, 'infinity'::timestamptz)"
            " ORDER BY received_at, report_id",
            base,
            since,
            until,
        )
        assert paged == [tuple(r) for r in expected]
        assert len(paged) == (28 if since is None else 14)


async def test_a_page_is_read_from_the_receipt_order_index(conn: asyncpg.Connection) -> None:
    """Its plan on this small table, with sequential scans ruled out: a page can be read in
    order straight from the index (no Sort), which is what the planner picks on a big one."""
    async with conn.transaction():
        await conn.execute("SET LOCAL enable_seqscan = off")
        for since in (None, T0):
            plan = await conn.fetchval(
                f"EXPLAIN (FORMAT JSON) {replay.PAGE}",
                "shop",
                since,
                replay._BEFORE_ANY_ID,
                None,
                1000,
            )
            text = plan if isinstance(plan, str) else json.dumps(plan)
            assert "reports_by_receipt" in text, text
            assert '"Sort"' not in text, text
