"""`python -m bench.import_ceiling [ROWS]`: where an import's time goes, each part alone.

On a throwaway stack running ingest, with the CSV of `bench --import`:

1. **Python**, in this process without a database: reading, judging and preparing the rows
   (report ids, raw JSON, the `order.reported` events), what the command's judging process
   does: µs a row of its work.
2. **A COPY** of the same rows (the reports' columns and the outbox's bytes) into two plain
   tables with no index, durable: the cheapest way Postgres can take those bytes.
3. **Storing through ingest's path** (`handlers.accept_prepared`, chunks of 1000, as the
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
from orderflow.services.ingest import domain, handlers, import_judging, import_rows
from orderflow.shared import outbox
from orderflow.shared.cli_env import quiet_logs
from orderflow.shared.envelope import utcnow
from orderflow.shared.provision import schema_name
from orderflow.shared.tenants import load_tenants
from orderflow.shared.topics import ORDER_REPORTS

TENANT = "bench"
TENANT_YAML = "tenant: bench\nstatus_profile: loyalty\napi_keys: ['bench-{key}']\n"  # as bench


def _timed(work: Callable[[], Any]) -> tuple[Any, float]:
    started = time.process_time()
    return work(), time.process_time() - started


def _chunks(source: Path, tenants_dir: Path) -> Iterator[domain.Prepared]:
    """The file's valid reports, a chunk at a time, judged and prepared as the command does."""
    job = import_judging.Job(source, TENANT, load_tenants(tenants_dir), utcnow(), (0, 1))
    with source.open(encoding="utf-8", newline="") as file:
        rows = import_rows.read_rows(file, ".csv")
        while (chunk := import_judging.judge_chunk(rows, job)).rows:
            yield chunk.reports


def _python_s(source: Path, tenants_dir: Path) -> float:
    """CPU seconds reading, judging and preparing (ids, raw JSON, events), chunk by chunk
    with nothing kept (as in the command: a process holding every row pays the collector
    on each of them)."""
    seconds, chunks = 0.0, _chunks(source, tenants_dir)
    while True:
        chunk, spent = _timed(partial(next, chunks, None))
        if chunk is None:
            return seconds
        seconds += spent


async def _copy(conn: asyncpg.Connection, chunks: list[domain.Prepared]) -> float:
    await conn.execute(
        "CREATE TABLE ceiling_reports (report_id uuid, tenant text, order_id text, source text,"
        " status text, occurred_at timestamptz, raw jsonb);"
        "CREATE TABLE ceiling_outbox (event_id text, topic text, key bytea, value bytea)"
    )
    reports = [
        (
            c.report_ids[i],
            c.tenants[i],
            c.order_ids[i],
            c.sources[i],
            c.statuses[i],
            c.occurred_at[i],
            c.raw[i],
        )
        for c in chunks
        for i in range(len(c))
    ]
    events = [
        (
            c.event_ids[i],
            ORDER_REPORTS,
            f"{c.tenants[i]}:{c.order_ids[i]}".encode(),
            c.event_values[i],
        )
        for c in chunks
        for i in range(len(c))
    ]
    started = time.monotonic()
    async with conn.transaction():
        await conn.copy_records_to_table("ceiling_reports", records=reports)
        await conn.copy_records_to_table("ceiling_outbox", records=events)
    return time.monotonic() - started


async def _store_then_relay(
    conn: asyncpg.Connection, chunks: list[domain.Prepared], timeout_s: float
) -> tuple[float, float]:
    now, started = utcnow(), time.monotonic()
    async with conn.transaction():
        for chunk in chunks:
            await handlers.accept_prepared(conn, chunk, "import", now)
    committed = time.monotonic()
    while await outbox.pending_count(conn):
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
    python_s = _python_s(source, tenants_dir)
    chunks = list(_chunks(source, tenants_dir))
    env = {"ORDERFLOW_TENANTS_DIR": str(tenants_dir)}
    async with running_system(work / "system", env, ("ingest",)) as system:
        conn = await asyncpg.connect(
            system.env["DATABASE_URL"], server_settings={"search_path": schema_name("ingest")}
        )
        try:
            copy_s = await _copy(conn, chunks)
            store_s, relay_s = await _store_then_relay(conn, chunks, 600.0)
        finally:
            await conn.close()

    def line(what: str, seconds: float) -> str:
        return f"  {what}: {seconds:.2f} s = {rows / seconds:,.0f} rows/s ({seconds / rows * 1e6:.0f} µs a row)"

    return [
        f"import ceilings, {rows} rows, each part alone (load {os.getloadavg()[0]:.2f} at the end):",
        line("Python, reading + judging + ids, raw JSON, events (CPU)", python_s),
        line("COPY of the same bytes into plain tables", copy_s),
        line("storing by accept_prepared, one transaction", store_s),
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
