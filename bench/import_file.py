"""`python -m bench --import`: `orderflow import orders` of a CSV, through to ingest.reports.v1.

On a throwaway stack running ingest (whose relay publishes what the import stores): the real
command in a child process imports `--import-rows` rows (JSON `items` and `customer` cells),
timed from its start until ingest's relay has had the last `order.reported` acknowledged by
the broker (`_all_sent`); then the same file again (every row a duplicate, nothing
published); then the topic is read, to see every record on it once. Goal: >= 10,000 rows/s.
"""

from __future__ import annotations

import asyncio
import csv
import json
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import asyncpg

from bench.probe import Probe
from bench.report import machine_text
from demo.system import running_system
from orderflow.shared import outbox
from orderflow.shared.provision import schema_name
from orderflow.shared.topics import ORDER_REPORTS

GOAL_ROWS_PER_S = 10_000
HEADER = ["order_id", "status", "occurred_at", "amount", "currency", "customer", "items"]


def write_csv(path: Path, rows: int) -> Path:
    items = json.dumps([{"sku": "sku-1", "quantity": 1, "unit_price": "19.90"}])
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for n in range(rows):
            customer = json.dumps({"id": f"c-{n % 997}"})
            writer.writerow(
                [f"imp-{n}", "OK", "2026-11-30T12:00:00+00:00", "19.90", "EUR", customer, items]
            )
    return path


def _import(source: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        "-m",
        "orderflow.shared.cli",
        "import",
        "orders",
        str(source),
        "--tenant",
        "bench",
    ]
    return subprocess.run(
        command, capture_output=True, text=True, env=dict(env), timeout=1800, check=False
    )


async def import_bench(
    work: Path, env: Mapping[str, str], rows: int, timeout_s: float, say: Callable[[str], None]
) -> dict[str, Any]:
    source = write_csv(work / "orders.csv", rows)
    say(f"starting the embedded stack and ingest in {work}; importing {rows} rows ...")
    async with running_system(work / "system", env, ("ingest",)) as system:
        child_env = {**system.env, **env, "PATH": "/usr/bin:/bin"}
        started = time.monotonic()
        first = await asyncio.to_thread(_import, source, child_env)
        stored_s = time.monotonic() - started
        if first.returncode != 0:
            raise RuntimeError(f"the import failed: {first.stdout}{first.stderr}")
        dsn = system.env["DATABASE_URL"]
        published_s = await _all_sent(dsn, timeout_s, system.check_alive) - started
        started = time.monotonic()
        again = await asyncio.to_thread(_import, source, child_env)
        again_s = time.monotonic() - started
        # After the timing: read the topic, so what the relay acknowledged is seen there.
        async with Probe(system.kafka(), [ORDER_REPORTS]).running() as probe:
            probe.expect_total(ORDER_REPORTS, rows)
            await probe.wait_total(ORDER_REPORTS, timeout_s, system.check_alive)
            await probe.settled()
    if again.returncode != 0:
        raise RuntimeError(f"the second import failed: {again.stdout}{again.stderr}")
    return {
        "rows": rows,
        "command_s": round(stored_s, 2),
        "published_s": round(published_s, 2),
        "rows_per_s_published": round(rows / published_s),
        "rows_per_s_stored": round(rows / stored_s),
        "again_s": round(again_s, 2),
        "records_on_topic": probe.totals[ORDER_REPORTS],
        "first": first.stdout.strip(),
        "again": again.stdout.strip(),
    }


async def _all_sent(dsn: str, timeout_s: float, check: Callable[[], None]) -> float:
    """When ingest's relay has had every outbox row acknowledged (acks=all) by the broker
    and marked it sent: the rows are on ingest.reports.v1 (read back after the timing).

    Polled after the command exits (its last chunk commits just before), every 20 ms. A
    consumer counting the records as they came cost a sixth of the two cores meanwhile."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema_name("ingest")})
    try:
        deadline = time.monotonic() + timeout_s
        while await outbox.pending_count(conn):
            if time.monotonic() > deadline:
                raise TimeoutError("ingest's outbox was not all sent in time")
            check()
            await asyncio.sleep(0.02)
        return time.monotonic()
    finally:
        await conn.close()


def import_text(result: dict[str, Any], info: dict[str, Any]) -> str:
    verdict = "met" if result["rows_per_s_published"] >= GOAL_ROWS_PER_S else "NOT met"
    return "\n".join(
        [
            f"import: {result['rows']} CSV rows with `orderflow import orders` (a child process,"
            " start-up included), durable Postgres",
            f"  through to ingest.reports.v1: {result['published_s']} s ="
            f" {result['rows_per_s_published']} rows/s (goal >= {GOAL_ROWS_PER_S}: {verdict})",
            f"  command alone (stored + outbox): {result['command_s']} s ="
            f" {result['rows_per_s_stored']} rows/s",
            f"  the same file again (all duplicates): {result['again_s']} s; records on the topic:"
            f" {result['records_on_topic']} (no second copy)",
            f"  {result['first']}",
            f"  {result['again']}",
            machine_text(info),
        ]
    )
