"""rewards as a real process, SIGKILLed inside a batch transaction and restarted.

To kill it at a known point, the test holds the advisory lock of one order (the lock the
handler takes before touching it), waits until the service is seen blocked on it inside
its batch transaction, and only then kills it. Other partitions have committed by then.
"""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from orderflow.shared import topics
from orderflow.shared.envelope import Envelope
from orderflow.shared.localstack import free_port
from orderflow.shared.supervisor import Supervisor
from tests.harness import TopicReader, blocked_on_lock, eventually, producer
from tests.rewards_support import TENANT_VARS, attributed, lifecycle_story, write_reward_tenants

pytestmark = pytest.mark.integration

ROLE = "orderflow_rewards"
START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
ORDERS, MEMBERS = 60, 6
BLOCKED_ORDER = "o-030"


def inputs() -> list[Envelope]:
    """60 orders of 6 members; every third order is refunded after its sale."""
    events: list[Envelope] = []
    for n in range(ORDERS):
        order_id = f"o-{n:03d}"
        statuses = ["Sale", "Refund"] if n % 3 == 0 else ["Sale"]
        events.append(attributed("aff", order_id, f"m-{n % MEMBERS}", START))
        events += lifecycle_story("aff", order_id, statuses, START)
    return events


EXPECTED_COMMISSIONS = ORDERS + ORDERS // 3  # every accrual, and a reversal per refund
# Per member: first-order once; three-in-thirty from its third order on (all in one day).
EXPECTED_REWARDS = MEMBERS * (1 + ORDERS // MEMBERS - 2)


async def count(db: asyncpg.Connection, table: str) -> int:
    value: int = await db.fetchval(f"SELECT count(*) FROM rewards.{table}")
    return value


def distinct(events: list[Envelope]) -> dict[str, Envelope]:
    """One event per event_id; a repeat must be the very same event."""
    found: dict[str, Envelope] = {}
    for event in events:
        assert found.setdefault(event.event_id, event) == event, "one event_id, two events"
    return found


async def read_distinct(env: dict[str, str], topic: str, expected: int) -> dict[str, Envelope]:
    async with TopicReader(env, topic) as reader:
        await reader.read_until(lambda es: len({e.event_id for e in es}) >= expected, 120)
        return distinct(await reader.settle(3.0))


async def test_rewards_killed_mid_stream_loses_and_duplicates_nothing(
    stack_env: dict[str, str], tmp_path: Path, supervisor: Supervisor, db: asyncpg.Connection
) -> None:
    port = free_port()
    env = {
        **stack_env,
        **TENANT_VARS,
        "ORDERFLOW_TENANTS_DIR": str(write_reward_tenants(tmp_path / "tenants")),
        "ORDERFLOW_HTTP_PORT": str(port),
    }
    supervisor.start("rewards", "orderflow.services.rewards", env)
    await supervisor.wait_ready({"rewards": f"http://127.0.0.1:{port}/readyz"}, timeout_s=60)
    events = inputs()
    lock_key = f"o:aff:{BLOCKED_ORDER}"
    await db.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", lock_key)
    async with producer(stack_env) as send:
        for e in events:
            topic = (
                topics.ORDERS_ATTRIBUTION
                if e.type == "order.attributed"
                else topics.ORDERS_LIFECYCLE
            )
            await send(topic, f"aff:{e.order_id}", e.to_bytes())
    await eventually(lambda: blocked_on_lock(db, ROLE), f"blocked on {BLOCKED_ORDER}")
    supervisor.kill("rewards", signal.SIGKILL)
    await eventually(lambda: _true("rewards" in supervisor.exited()), "exited")
    assert supervisor.exited()["rewards"] == -signal.SIGKILL
    # A killed client's session lingers until Postgres notices; end it as a lost host would.
    await db.execute(
        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
        " WHERE datname = current_database() AND usename = $1",
        ROLE,
    )
    before_restart = await count(db, "ledger")
    assert before_restart < EXPECTED_COMMISSIONS, "killed mid-stream"
    await db.execute("SELECT pg_advisory_unlock(hashtextextended($1, 0))", lock_key)

    await asyncio.to_thread(supervisor.restart, "rewards")
    await supervisor.wait_ready({"rewards": f"http://127.0.0.1:{port}/readyz"}, timeout_s=60)
    commissions = await read_distinct(stack_env, topics.COMMISSIONS, EXPECTED_COMMISSIONS)
    granted = await read_distinct(stack_env, topics.REWARDS, EXPECTED_REWARDS)

    assert len(commissions) == EXPECTED_COMMISSIONS
    assert len(granted) == EXPECTED_REWARDS
    entry_ids = [e.data["entry_id"] for e in commissions.values()]
    assert len(set(entry_ids)) == len(entry_ids), "no ledger entry published under two ids"
    reward_ids = [e.data["reward_id"] for e in granted.values()]
    assert len(set(reward_ids)) == len(reward_ids)
    assert await count(db, "ledger") == EXPECTED_COMMISSIONS
    assert await count(db, "rewards") == EXPECTED_REWARDS
    assert await count(db, "member_orders") == ORDERS
    assert await count(db, "inbox") == len(events) + ORDERS, "every input and member fact once"
    by_order = {(e.order_id, e.type) for e in commissions.values()}
    assert (BLOCKED_ORDER, "commission.accrued") in by_order, "the lost batch was done again"


async def _true(value: bool) -> bool:
    return value
