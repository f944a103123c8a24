"""The recurring charge timer across processes: two tracker replicas fire the same due rows
while one is SIGKILLed inside its transaction; every charge is published, none twice.

A test connection holds the tracker's outbox in EXCLUSIVE mode, so each replica's timer
claims a batch of due rows, clears their timers and then waits on the outbox insert, inside
its transaction; replica A is killed exactly there. Its transaction can never commit, so
its rows are due again and are fired (by B, or by A restarted) with the same event ids.
"""

from __future__ import annotations

import asyncio
import signal
from collections import defaultdict
from pathlib import Path

import asyncpg
import pytest

from orderflow.shared import topics
from orderflow.shared.envelope import Envelope
from orderflow.shared.supervisor import Supervisor
from tests.harness import TopicReader, eventually, free_port, tenant_env, write_tenants

pytestmark = pytest.mark.integration

ROLE = "orderflow_status_tracker"
CHARGES = 2000
SEED = (
    "INSERT INTO status_tracker.recurring_orders (tenant, recurring_order_id, initial_order_id,"
    " status, interval, payments_total, amount, currency, anchor_at, payments_made, sequence,"
    " next_payment_at, due_at, correlation_id, created_at)"
    " SELECT 'shop', 'sub-' || n, 'init-' || n, 'active', '30d', 12, 9.90, 'EUR',"
    " now() - interval '30 days', 1, 2, now(), now(), 'seed-' || n, now() - interval '30 days'"
    " FROM generate_series(1, $1) AS n"
)


async def timer_blocked_on_outbox(db: asyncpg.Connection) -> bool:
    waiting = await db.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND usename = $1 AND wait_event_type = 'Lock' AND query LIKE 'INSERT INTO outbox%'",
        ROLE,
    )
    return bool(waiting >= 2)


async def test_a_replica_killed_mid_fire_loses_and_repeats_no_charge(
    stack_env: dict[str, str], db: asyncpg.Connection, tmp_path: Path
) -> None:
    supervisor = Supervisor(log_dir=tmp_path / "logs")
    env = {**stack_env, **tenant_env(), "ORDERFLOW_TENANTS_DIR": str(write_tenants(tmp_path / "t"))}
    urls = {}
    try:
        for name in ("tracker-a", "tracker-b"):
            port = free_port()
            module = "orderflow.services.status_tracker"
            supervisor.start(name, module, {**env, "ORDERFLOW_HTTP_PORT": str(port),
                                            "ORDERFLOW_RECURRING_BATCH_SIZE": "300"})  # fmt: skip
            urls[name] = f"http://127.0.0.1:{port}/readyz"
        await supervisor.wait_ready(urls, timeout_s=90)
        async with TopicReader(stack_env, topics.RECURRING) as reader:
            holder = await asyncpg.connect(stack_env["DATABASE_URL"])
            try:
                lock = holder.transaction()
                await lock.start()
                await holder.execute("LOCK TABLE status_tracker.outbox IN EXCLUSIVE MODE")
                await db.execute(SEED, CHARGES)
                await eventually(lambda: timer_blocked_on_outbox(db), "both timers mid-fire", 60)
                supervisor.kill("tracker-a", signal.SIGKILL)
                await eventually(lambda: _exited(supervisor, "tracker-a"), "tracker-a killed", 10)
                await lock.rollback()
            finally:
                await holder.close()
            await asyncio.to_thread(supervisor.restart, "tracker-a")
            events = await reader.read_until(lambda es: _charged(es) >= CHARGES, timeout=120)
            events = await reader.settle(3.0)
    finally:
        supervisor.stop_all()
    ids: dict[str, set[str]] = defaultdict(set)
    for e in events:
        if e.type == "recurring.charge_due":
            ids[e.data["recurring_order_id"]].add(e.event_id)
    assert len(ids) == CHARGES, f"{CHARGES - len(ids)} charges lost"
    doubled = {rid: found for rid, found in ids.items() if len(found) != 1}
    assert doubled == {}, f"charges published under two event ids: {list(doubled)[:5]}"
    rows = await db.fetchval(
        "SELECT count(*) FROM status_tracker.outbox WHERE topic LIKE '%recurring.v1'"
        " AND convert_from(value, 'UTF8')::jsonb->>'type' = 'recurring.charge_due'"
    )
    assert rows == CHARGES
    left = await db.fetchval(
        "SELECT count(*) FROM status_tracker.recurring_orders WHERE due_at IS NOT NULL"
    )
    assert left == 0


async def _exited(supervisor: Supervisor, name: str) -> bool:
    await asyncio.sleep(0)
    return supervisor.exited().get(name) == -signal.SIGKILL


def _charged(events: list[Envelope]) -> int:
    return len({e.data["recurring_order_id"] for e in events if e.type == "recurring.charge_due"})
