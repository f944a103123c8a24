"""rewards as a real process, SIGKILLed inside a batch transaction and restarted.

To kill it at a known point, the test holds what one step waits for, waits until the
service is seen blocked on it inside its batch transaction, and only then kills it: the
advisory lock of one order (the order-keyed step takes it before touching the order), or
the statistics row of one member (the member-keyed step counts the member's orders in it).
Other partitions have committed by then.
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
from tests.harness import TopicReader, eventually, producer
from tests.rewards_support import TENANT_VARS, attributed, lifecycle_story, write_reward_tenants

pytestmark = pytest.mark.integration

ROLE = "orderflow_rewards"
START = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
ORDERS, MEMBERS = 60, 6
BLOCKED_ORDER = "o-030"
BLOCKED_MEMBER = "m-3"


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


class OrderStepHeld:
    """The order-keyed step waits for the advisory lock of one order, held by the test."""

    table, expected, waiting = "ledger", EXPECTED_COMMISSIONS, "pg_advisory_xact_lock"
    key = f"o:aff:{BLOCKED_ORDER}"

    async def take(self, db: asyncpg.Connection, env: dict[str, str]) -> None:
        await db.execute("SELECT pg_advisory_lock(hashtextextended($1, 0))", self.key)

    async def release(self, db: asyncpg.Connection) -> None:
        await db.execute("SELECT pg_advisory_unlock_all()")

    def redone(self, commissions: dict[str, Envelope], granted: dict[str, Envelope]) -> bool:
        return (BLOCKED_ORDER, "commission.accrued") in {
            (e.order_id, e.type) for e in commissions.values()
        }


class MemberStepHeld:
    """The member-keyed step waits to count an order of BLOCKED_MEMBER: the test's own
    uncommitted row of that member's statistics holds the unique key (no lock of the code's).
    Held on a connection of its own: inside a transaction, pg_stat_activity is a snapshot."""

    table, expected, waiting = "rewards", EXPECTED_REWARDS, "member_stats"

    def __init__(self) -> None:
        self._holder: asyncpg.Connection | None = None

    async def take(self, db: asyncpg.Connection, env: dict[str, str]) -> None:
        self._holder = holder = await asyncpg.connect(env["DATABASE_URL"])
        await holder.execute("BEGIN")
        await holder.execute(
            "INSERT INTO rewards.member_stats VALUES ('aff', $1, 0, now())", BLOCKED_MEMBER
        )

    async def release(self, db: asyncpg.Connection) -> None:
        if self._holder is not None:  # ends its transaction: the row was never there
            await self._holder.close()
            self._holder = None

    def redone(self, commissions: dict[str, Envelope], granted: dict[str, Envelope]) -> bool:
        return any(e.data["member_id"] == BLOCKED_MEMBER for e in granted.values())


async def blocked_in(db: asyncpg.Connection, statement: str) -> bool:
    """Whether a session of the service waits on a lock inside `statement`."""
    waiting = await db.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND usename = $1 AND wait_event_type = 'Lock' AND strpos(query, $2) > 0",
        ROLE,
        statement,
    )
    return bool(waiting)


@pytest.mark.parametrize("held", [OrderStepHeld(), MemberStepHeld()], ids=["order", "member"])
async def test_rewards_killed_mid_stream_loses_and_duplicates_nothing(
    stack_env: dict[str, str],
    tmp_path: Path,
    supervisor: Supervisor,
    db: asyncpg.Connection,
    held: OrderStepHeld | MemberStepHeld,
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
    await held.take(db, stack_env)
    try:
        async with producer(stack_env) as send:
            for e in events:
                topic = (
                    topics.ORDERS_ATTRIBUTION
                    if e.type == "order.attributed"
                    else topics.ORDERS_LIFECYCLE
                )
                await send(topic, f"aff:{e.order_id}", e.to_bytes())
        await eventually(lambda: blocked_in(db, held.waiting), f"blocked in {held.waiting}")
        supervisor.kill("rewards", signal.SIGKILL)
        await eventually(lambda: _true("rewards" in supervisor.exited()), "exited")
        assert supervisor.exited()["rewards"] == -signal.SIGKILL
        # A killed client's session lingers until Postgres notices; end it as a lost host would.
        await db.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
            " WHERE datname = current_database() AND usename = $1",
            ROLE,
        )
        assert await count(db, held.table) < held.expected, "killed mid-stream"
        await held.release(db)

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
        claimed = await count(db, "inbox WHERE consumer = 'rewards'")
        assert claimed == len(events) + ORDERS, "every input and member fact once"
        confirmations = sum(e.type == "order.confirmed" for e in events)
        assert await count(db, "customer_orders") == confirmations, "each counted once (§11)"
        assert held.redone(commissions, granted), "the lost batch was done again"

    finally:
        await held.release(db)  # again, if the test failed before it


async def _true(value: bool) -> bool:
    return value
