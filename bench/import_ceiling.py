"""`python -m bench.import_ceiling [ROWS]`: where an import's time goes, each part alone.

On a throwaway stack running ingest, with the CSV of `bench --import`:

1. **Python**, in this process without a database: reading and judging the rows (what the
   command's reading thread does), then making what is stored (report ids, raw JSON, the
   `order.reported` events): µs a row of the command's own work.
2. **A COPY** of the same rows (the reports' columns and the outbox's bytes) into two plain
   tables with no index, durable: the cheapest way Postgres can take those bytes.
3. **Storing through ingest's path** (`handlers.accept_reports`, chunks of 1000, as the
   import does) in ONE transaction, so the relay sees nothing meanwhile: Postgres + asyncpg.
4. **The relay alone**: from that commit until every outbox row is acknowledged and marked
   sent: ingest's relay and the broker with nothing else running.

Each is a ceiling for its part; the import runs them all at once on the same two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg

from bench.import_file import write_csv
from demo.system import running_system
from orderflow.services.ingest import domain, handlers, import_rows, importer, store
from orderflow.services.ingest.reports import OrderReport, report_id
from orderflow.shared.cli_env import quiet_logs
from orderflow.shared.envelope import utcnow
from orderflow.shared.provision import schema_name
from orderflow.shared.tenants import load_tenants

TENANT = "bench"
TENANT_YAML = "tenant: bench\nstatus_profile: loyalty\napi_keys: ['bench-{key}']\n"  # as bench


def _timed(work: Callable[[], Any]) -> tuple[Any, float]:
    started = time.process_time()
    return work(), time.process_time() - started


def _chunks(source: Path, tenants_dir: Path) -> Iterator[list[OrderReport]]:
    """The file's valid reports, a chunk at a time, judged as the command judges them."""
    tenants, now = load_tenants(tenants_dir), utcnow()
    with source.open(encoding="utf-8", newline="") as file:
        rows = import_rows.read_rows(file, ".csv")
        while (chunk := importer._judge_chunk(rows, TENANT, tenants, now, (0, 1))).rows:
            yield chunk.reports


def _stored_form(reports: list[OrderReport]) -> list[tuple[Any, ...]]:
    now, out = utcnow(), []
    for report in reports:
        rid = report_id(report)
        event = domain.reported_record(report, rid, None, now)
        out.append((rid, report, store._raw(report), event.event_id, event.to_bytes()))
    return out


def _python_s(source: Path, tenants_dir: Path) -> tuple[float, float]:
    """CPU seconds judging, and making the stored form, chunk by chunk with nothing kept
    (as in the command: a process holding every row pays the collector on each of them)."""
    judge_s = form_s = 0.0
    chunks = _chunks(source, tenants_dir)
    while True:
        chunk, seconds = _timed(partial(next, chunks, None))
        if chunk is None:
            return judge_s, form_s
        judge_s += seconds
        form_s += _timed(partial(_stored_form, chunk))[1]


async def _copy(conn: asyncpg.Connection, stored: list[tuple[Any, ...]]) -> float:
    await conn.execute(
        "CREATE TABLE ceiling_reports (report_id uuid, tenant text, order_id text, source text,"
        " status text, occurred_at timestamptz, raw jsonb);"
        "CREATE TABLE ceiling_outbox (event_id text, topic text, key bytea, value bytea)"
    )
    started = time.monotonic()
    async with conn.transaction():
        await conn.copy_records_to_table(
            "ceiling_reports",
            records=[
                (rid, r.tenant, r.order_id, r.source, r.status, r.occurred_at, raw)
                for rid, r, raw, _, _ in stored
            ],
        )
        await conn.copy_records_to_table(
            "ceiling_outbox",
            records=[
                (eid, "ingest.reports.v1", f"{r.tenant}:{r.order_id}".encode(), value)
                for _, r, _, eid, value in stored
            ],
        )
    return time.monotonic() - started


async def _store_then_relay(
    conn: asyncpg.Connection, reports: list[OrderReport], tenants_dir: Path, timeout_s: float
) -> tuple[float, float]:
    tenants = load_tenants(tenants_dir)
    started = time.monotonic()
    async with conn.transaction():
        for at in range(0, len(reports), importer.CHUNK_ROWS):
            chunk = reports[at : at + importer.CHUNK_ROWS]
            await handlers.accept_reports(conn, tenants, chunk, "import")
    committed = time.monotonic()
    while await conn.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL"):
        if time.monotonic() - committed > timeout_s:
            raise TimeoutError("the relay did not publish the outbox in time")
        await asyncio.sleep(0.02)
    return committed - started, time.monotonic() - committed


async def ceiling(rows: int) -> list[str]:
    work = Path(tempfile.mkdtemp(prefix="orderflow-import-ceiling-"))
    tenants_dir = work / "tenants"
    tenants_dir.mkdir()
    (tenants_dir / "bench.yaml").write_text(TENANT_YAML.format(key=secrets.token_hex(16)))
    source = write_csv(work / "orders.csv", rows)
    judge_s, form_s = _python_s(source, tenants_dir)
    reports = [report for chunk in _chunks(source, tenants_dir) for report in chunk]
    stored = _stored_form(reports)
    env = {"ORDERFLOW_TENANTS_DIR": str(tenants_dir)}
    async with running_system(work / "system", env, ("ingest",)) as system:
        conn = await asyncpg.connect(
            system.env["DATABASE_URL"], server_settings={"search_path": schema_name("ingest")}
        )
        try:
            copy_s = await _copy(conn, stored)
            store_s, relay_s = await _store_then_relay(conn, reports, tenants_dir, 600.0)
        finally:
            await conn.close()

    def line(what: str, seconds: float) -> str:
        return f"  {what}: {seconds:.2f} s = {rows / seconds:,.0f} rows/s ({seconds / rows * 1e6:.0f} µs a row)"

    return [
        f"import ceilings, {rows} rows, each part alone (load {os.getloadavg()[0]:.2f} at the end):",
        line("Python, reading + judging (CPU)", judge_s),
        line("Python, ids + raw JSON + events (CPU)", form_s),
        line("COPY of the same bytes into plain tables", copy_s),
        line("storing by accept_reports, one transaction", store_s),
        line("the relay alone, outbox -> ingest.reports.v1", relay_s),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.import_ceiling", description=__doc__)
    parser.add_argument("rows", type=int, nargs="?", default=100_000, help="rows (100000)")
    rows = parser.parse_args().rows
    quiet_logs()
    print("\n".join(asyncio.run(ceiling(rows))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
