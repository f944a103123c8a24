"""`python -m bench --recurring`: 100,000 recurring charges falling due at the same instant.

On a throwaway stack (durable Postgres) running the status tracker as a process:
`--recurring-orders` active recurring orders are written straight into its schema, every
one's next charge due at the same instant D, about a minute ahead. Until D nothing is due:
that window measures what the timer costs when idle (the poll's query, timed from a client
on the 100,000-row table, with its plan; the tracker process's CPU over the window, relay
and consumers' idle polling included). From D the tracker's timer publishes each charge
through the outbox; measured: D to the last `recurring.charge_due` on recurring.v1 (each
order's two records, charge_due then status_changed: the time the last record arrives bounds
the last charge_due from above), and D to the last
charge_due row marked sent in the outbox. Goal: all published within 60 s.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bench.probe import Probe
from bench.report import machine_text
from demo.system import System, running_system
from orderflow.shared.cli import start_services
from orderflow.shared.localstack import free_port
from orderflow.shared.supervisor import Supervisor
from orderflow.shared.topics import RECURRING

GOAL_S = 60.0
TRACKER = "status-tracker"
LEAD_S = 60.0  # from seeding to D: the idle window
POLL_QUERY = "SELECT due_at FROM recurring_orders WHERE due_at IS NOT NULL ORDER BY due_at LIMIT 1"
SEED = (
    "INSERT INTO status_tracker.recurring_orders (tenant, recurring_order_id, initial_order_id,"
    " status, interval, payments_total, amount, currency, customer_id, anchor_at,"
    " payments_made, sequence, next_payment_at, due_at, correlation_id, created_at)"
    " SELECT 'bench', 'sub-' || n, 'init-' || n, 'active', '1M', 12, 19.90, 'EUR',"
    " 'c-' || (n % 997), $2::timestamptz - interval '1 month', 1, 2, $2, $2, 'seed-' || n,"
    " $2::timestamptz - interval '1 month' FROM generate_series(1, $1) AS n"
)
SENT = (
    "SELECT max(sent_at), max(created_at), count(*) FROM status_tracker.outbox"
    " WHERE topic LIKE '%recurring.v1' AND sent_at IS NOT NULL"
    " AND position('recurring.charge_due' in convert_from(value, 'UTF8')) > 0"
)


def _cpu_s(pid: int) -> float:
    """utime + stime of a process, in seconds (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _poll_cost(dsn: str, repeat: int = 1000) -> dict[str, Any]:
    conn = await asyncpg.connect(dsn, server_settings={"search_path": "status_tracker"})
    try:
        plan = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {POLL_QUERY}")
        started = time.perf_counter()
        for _ in range(repeat):
            await conn.fetchval(POLL_QUERY)
        per_query_ms = (time.perf_counter() - started) * 1000 / repeat
    finally:
        await conn.close()
    return {"query_ms": round(per_query_ms, 3), "plan": [r[0] for r in plan]}


async def _second_replica(system: System, env: Mapping[str, str]) -> Supervisor:
    """Another tracker process on the same database and topics (its timer races the first)."""
    supervisor = Supervisor(system.work_dir / "logs" / "replica-2")
    urls = start_services(supervisor, {**system.env, **env}, {TRACKER: free_port()})
    await supervisor.wait_ready({TRACKER: f"{urls[TRACKER]}/readyz"}, 120)
    return supervisor


async def recurring_bench(
    work: Path,
    env: Mapping[str, str],
    orders: int,
    replicas: int,
    timeout_s: float,
    say: Callable[[str], None],
) -> dict[str, Any]:
    say(f"starting the stack and {replicas} status tracker(s) in {work}; {orders} orders ...")
    service_env = {**env, "ORDERFLOW_TIMER_POLL_INTERVAL_S": "1"}
    async with running_system(work / "system", service_env, (TRACKER,)) as system:
        others = [await _second_replica(system, service_env) for _ in range(replicas - 1)]
        try:
            result = await _run(system, orders, timeout_s, say, others)
        finally:
            for supervisor in others:
                supervisor.stop_all()
    return {**result, "replicas": replicas}


async def _run(
    system: System,
    orders: int,
    timeout_s: float,
    say: Callable[[str], None],
    others: list[Supervisor],
) -> dict[str, Any]:
    dsn = system.env["DATABASE_URL"]
    pids = [system.supervisor.pid(TRACKER), *(s.pid(TRACKER) for s in others)]
    due = datetime.now(UTC) + timedelta(seconds=LEAD_S)
    db = await asyncpg.connect(dsn)
    async with Probe(system.kafka(), [RECURRING]).running() as probe:
        probe.expect_total(RECURRING, 2 * orders)  # charge_due + status_changed each
        seeded = time.monotonic()
        await db.execute(SEED, orders, due)
        await db.execute("ANALYZE status_tracker.recurring_orders")
        say(f"seeded in {time.monotonic() - seeded:.1f} s; idle until the charges fall due")
        cpu_before, idle_from = sum(map(_cpu_s, pids)), time.monotonic()
        cost = await _poll_cost(dsn)
        await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds() - 2))
        idle_s = time.monotonic() - idle_from
        idle_cpu = (sum(map(_cpu_s, pids)) - cpu_before) / idle_s
        due_mono = time.monotonic() + (due - datetime.now(UTC)).total_seconds()
        await probe.wait_total(RECURRING, timeout_s, system.check_alive)
        last_s = probe.total_done_at[RECURRING] - due_mono
        await probe.settled()
    sent_at, fired_at, rows = await db.fetchrow(SENT)
    await db.close()
    return {
        "orders": orders,
        "charge_due_rows": rows,
        "records_on_topic": probe.totals[RECURRING],
        "last_on_topic_s": round(last_s, 2),
        "last_sent_in_outbox_s": round((sent_at - due).total_seconds(), 2),
        "last_fired_s": round((fired_at - due).total_seconds(), 2),
        "idle_window_s": round(idle_s, 1),
        "idle_cpu_share": round(idle_cpu, 4),
        **cost,
    }


def recurring_text(result: dict[str, Any], info: dict[str, Any]) -> str:
    last = max(result["last_on_topic_s"], result["last_sent_in_outbox_s"])
    verdict = "met" if last <= GOAL_S else "NOT met"
    return "\n".join(
        [
            f"recurring: {result['orders']} active recurring orders, every next charge due at the"
            f" same instant D; {result['replicas']} status tracker process(es), durable Postgres",
            f"  D to the last charge_due on recurring.v1: {result['last_on_topic_s']} s; marked"
            f" sent in the outbox: {result['last_sent_in_outbox_s']} s; the last fired (outbox"
            f" row written): {result['last_fired_s']} s (goal <= {GOAL_S:.0f} s: {verdict})",
            f"  charge_due rows {result['charge_due_rows']}, records on the topic"
            f" {result['records_on_topic']} (charge_due + status_changed per order)",
            f"  idle, nothing due ({result['idle_window_s']} s before D): the poll's query"
            f" {result['query_ms']} ms from a client; the tracker process(es) used"
            f" {result['idle_cpu_share']:.2%} of a core (timer, relay and consumers polling)",
            "  plan: " + " | ".join(line.strip() for line in result["plan"][:3]),
            machine_text(info),
        ]
    )
