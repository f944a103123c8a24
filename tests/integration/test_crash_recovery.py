"""Services as real processes, killed and restarted mid-stream: nothing lost, no effect twice.

At-least-once on the wire is allowed (CONTRACTS §5): a record may show up again, but only
with the same event_id. What must be exact is the set of distinct events and the state in
the database. To crash a service at a known point rather than wherever it happens to be,
a test connection holds a row lock the service needs, waits until the service is seen
blocked on it inside its transaction, and only then kills it.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client.parser import text_string_to_metric_families

from orderflow.services.status_tracker.app import MIGRATIONS as TRACKER_MIGRATIONS
from orderflow.shared import topics
from orderflow.shared.cli import SERVICES
from orderflow.shared.db import SHARED_MIGRATIONS, migration_files
from orderflow.shared.envelope import Envelope
from orderflow.shared.supervisor import Supervisor
from tests.harness import (
    TopicReader,
    blocked_on_lock,
    eventually,
    free_port,
    producer,
    report,
    tenant_env,
    write_tenants,
)

pytestmark = pytest.mark.integration

START = datetime(2026, 1, 1, 10, tzinfo=UTC)
PHASES = ("Pending", "OK", "Cancelled")
TRACKER_ROLE, INGEST_ROLE = "orderflow_status_tracker", "orderflow_ingest"
Effects = Counter[tuple[str, str | None, str]]
Send = Callable[[str, str, Any], Awaitable[None]]


class Fleet:
    """Services as child processes, started the way `orderflow run` starts them."""

    def __init__(self, supervisor: Supervisor, stack_env: dict[str, str], tenants: Path) -> None:
        self.supervisor = supervisor
        self.urls: dict[str, str] = {}
        self._env = {
            **stack_env,
            **tenant_env(),
            "ORDERFLOW_TENANTS_DIR": str(tenants),
            "ORDERFLOW_LOG_LEVEL": "INFO",
        }

    def start(self, *names: str, service: str | None = None) -> None:
        for name in names:
            port = free_port()
            module = f"orderflow.services.{SERVICES[service or name]}"
            self.supervisor.start(name, module, {**self._env, "ORDERFLOW_HTTP_PORT": str(port)})
            self.urls[name] = f"http://127.0.0.1:{port}"

    async def ready(self, *names: str) -> None:
        probes = {name: f"{self.urls[name]}/readyz" for name in names or self.urls}
        await self.supervisor.wait_ready(probes, timeout_s=60)

    async def restart(self, name: str) -> None:
        await asyncio.to_thread(self.supervisor.restart, name)
        await self.ready(name)

    async def exit_code(self, name: str, within_s: float) -> int | None:
        """The exit code once `name` has exited, or None if it still runs after `within_s`."""
        deadline = time.monotonic() + within_s
        while (code := self.supervisor.exited().get(name)) is None:
            if time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        return code


@pytest.fixture
def fleet(stack_env: dict[str, str], tmp_path: Path) -> Iterator[Fleet]:
    supervisor = Supervisor(log_dir=tmp_path / "logs")
    fleet = Fleet(supervisor, stack_env, write_tenants(tmp_path / "tenants"))
    try:
        yield fleet
    finally:
        supervisor.stop_all()
        for name in fleet.urls:  # pytest shows this when the test failed
            print(f"--- {name}\n{supervisor.tail(name, 15)}")


def orders(count: int) -> list[str]:
    return [f"o-{n:03d}" for n in range(count)]


async def send_phase(send: Send, order_ids: list[str], phase: int) -> None:
    """One report per order; upstream time follows the phase, so each becomes current."""
    at = (START + timedelta(hours=phase)).isoformat()
    for order_id in order_ids:
        body = report(order_id, PHASES[phase], at, amount="10.00", currency="EUR")
        await send(topics.ORDERS_INBOUND, f"shop:{order_id}", body)


def expected_effects(order_ids: list[str], phases: int) -> Effects:
    effects: Effects = Counter()
    for order_id in order_ids:
        effects.update(("order.status_changed", order_id, s) for s in PHASES[:phases])
        if phases > 1:
            effects[("order.confirmed", order_id, "OK")] += 1
    return effects


def distinct_events(events: list[Envelope]) -> dict[str, Envelope]:
    """One event per event_id; a repeat must be the very same event (at-least-once)."""
    distinct: dict[str, Envelope] = {}
    for event in events:
        first = distinct.setdefault(event.event_id, event)
        assert event == first, f"event_id {event.event_id} names two different events"
    return distinct


def assert_each_effect_once(events: list[Envelope], expected: Effects) -> None:
    distinct = distinct_events(events)
    effects = Counter((e.type, e.order_id, e.data["status"]) for e in distinct.values())
    assert (effects - expected, expected - effects) == (Counter(), Counter()), "(extra, missing)"
    for order_id in {order_id for _, order_id, _ in expected}:
        changes = [e for e in distinct.values() if e.order_id == order_id]
        statuses = [e.data["status"] for e in changes if e.type == "order.status_changed"]
        assert statuses == list(PHASES[: len(statuses)]), f"{order_id} out of order"


async def read_effects(reader: TopicReader, count: int) -> list[Envelope]:
    """Until `count` distinct events are there, then a little longer so repeats show up."""
    await reader.read_until(lambda es: len({e.event_id for e in es}) >= count, timeout=120)
    return await reader.settle(2.0)


async def tracker_rows(db: asyncpg.Connection) -> dict[str, int]:
    return {
        table: await db.fetchval(f"SELECT count(*) FROM status_tracker.{table}")
        for table in ("history", "orders", "inbox")
    }


async def has_report(db: asyncpg.Connection, order_id: str, status: str) -> bool:
    found = await db.fetchval(
        "SELECT count(*) FROM status_tracker.history WHERE order_id = $1 AND status = $2",
        order_id,
        status,
    )
    return bool(found)


@asynccontextmanager
async def rows_locked(
    env: dict[str, str], query: str, *args: object
) -> AsyncIterator[tuple[int, int]]:
    """Hold `SELECT … FOR UPDATE` locks in an open transaction; yields how many rows, and the
    backend pid holding them."""
    conn = await asyncpg.connect(env["DATABASE_URL"])
    transaction = conn.transaction()
    await transaction.start()
    try:
        yield len(await conn.fetch(query, *args)), conn.get_server_pid()
    finally:
        await transaction.rollback()  # it only ever held locks
        await conn.close()


async def stop_tracker_mid_batch(
    env: dict[str, str],
    fleet: Fleet,
    db: asyncpg.Connection,
    interrupt: Callable[[], Awaitable[None]],
    after_release: Callable[[], Awaitable[None]],
) -> list[Envelope]:
    """300 reports for 100 orders; the tracker is interrupted inside a batch transaction.

    Pending for every order is processed first. While the OK reports stream in, order o-050's
    row is locked, so the transaction of the batch holding its OK is stuck, uncommitted, with
    whatever came before it in the batch applied: that is when `interrupt` hits. Then the lock goes,
    `after_release` runs, the Cancelled reports are sent, and the tracker is restarted.
    """
    order_ids = orders(100)
    fleet.start("ingest", "status-tracker")
    await fleet.ready()
    async with producer(env) as send, TopicReader(env, topics.ORDERS_LIFECYCLE) as lifecycle:
        await send_phase(send, order_ids, 0)
        await read_effects(lifecycle, 100)
        lock = "SELECT 1 FROM status_tracker.orders WHERE order_id = $1 FOR UPDATE"
        async with rows_locked(env, lock, "o-050") as (locked, holder):
            assert locked == 1
            await send_phase(send, order_ids, 1)
            await eventually(lambda: blocked_on_lock(db, TRACKER_ROLE, holder), "blocked on o-050")
            await interrupt()
        await after_release()
        await send_phase(send, order_ids, 2)
        await fleet.restart("status-tracker")
        events = await read_effects(lifecycle, 400)
    assert_each_effect_once(events, expected_effects(order_ids, 3))
    assert await tracker_rows(db) == {"history": 300, "orders": 100, "inbox": 300}
    return events


async def test_tracker_killed_inside_a_batch_loses_nothing_and_repeats_no_effect(
    stack_env: dict[str, str], fleet: Fleet, db: asyncpg.Connection
) -> None:
    async def kill() -> None:
        fleet.supervisor.kill("status-tracker", signal.SIGKILL)
        assert await fleet.exit_code("status-tracker", 10.0) == -signal.SIGKILL

    async def uncommitted() -> None:
        # The killed transaction can never commit: nobody is left to send COMMIT.
        assert not await has_report(db, "o-050", "OK")

    await stop_tracker_mid_batch(stack_env, fleet, db, kill, uncommitted)
    assert await has_report(db, "o-050", "OK"), "the lost batch was done again after restart"


async def test_sigterm_lets_the_batch_in_flight_commit_and_exits_zero_within_ten_seconds(
    stack_env: dict[str, str], fleet: Fleet, db: asyncpg.Connection
) -> None:
    sent: list[float] = []

    async def terminate() -> None:
        fleet.supervisor.kill("status-tracker", signal.SIGTERM)
        sent.append(time.monotonic())

    async def exits_cleanly() -> None:
        remaining = 10.0 - (time.monotonic() - sent[0])
        assert await fleet.exit_code("status-tracker", remaining) == 0
        assert await has_report(db, "o-050", "OK"), "the batch in flight committed before exit"

    events = await stop_tracker_mid_batch(stack_env, fleet, db, terminate, exits_cleanly)
    repeated = [i for i, n in Counter(e.event_id for e in events).items() if n > 1]
    assert repeated == [], "a graceful stop commits offsets and drains the outbox"


async def outbox_unsent(db: asyncpg.Connection, schema: str) -> int:
    count: int = await db.fetchval(f"SELECT count(*) FROM {schema}.outbox WHERE sent_at IS NULL")
    return count


async def test_relay_killed_between_publish_and_mark_sends_the_same_events_again(
    stack_env: dict[str, str], fleet: Fleet, db: asyncpg.Connection
) -> None:
    order_ids = orders(50)
    # Ingest's relay leads only while it holds this advisory lock (one relay per schema), so
    # holding it here lets ingest store all 100 reports before anything is published.
    relay_lock = "SELECT pg_advisory_{}(hashtext('outbox-relay:ingest'))"
    await db.execute(relay_lock.format("lock"))
    fleet.start("ingest", "status-tracker")
    await fleet.ready()
    async with producer(stack_env) as send:
        await send_phase(send, order_ids, 0)
        await send_phase(send, order_ids, 1)

    async def all_stored() -> bool:
        return await outbox_unsent(db, "ingest") == 100

    await eventually(all_stored, "stored all 100 reports")
    lock = "SELECT id FROM ingest.outbox WHERE sent_at IS NULL FOR UPDATE"
    async with (
        TopicReader(stack_env, topics.ORDER_REPORTS) as reports,
        rows_locked(stack_env, lock) as (locked, holder),
    ):
        assert locked == 100
        await db.execute(relay_lock.format("unlock"))
        await reports.read_until(lambda es: len(es) >= 100)
        await eventually(lambda: blocked_on_lock(db, INGEST_ROLE, holder), "blocked marking sent")
        assert await outbox_unsent(db, "ingest") == 100, "published, and not marked sent"
        fleet.supervisor.kill("ingest", signal.SIGKILL)
        assert await fleet.exit_code("ingest", 10.0) == -signal.SIGKILL
        # The killed relay's session still waits for the lock and would finish the UPDATE
        # once it is released: Postgres only notices a dead client when it next talks to
        # it. Ending the orphaned sessions is what the server does when the host is gone.
        await db.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
            " WHERE datname = current_database() AND usename = $1",
            INGEST_ROLE,
        )
    assert await outbox_unsent(db, "ingest") == 100, "the mark never happened"
    async with (
        TopicReader(stack_env, topics.ORDER_REPORTS) as reports,
        TopicReader(stack_env, topics.ORDERS_LIFECYCLE) as lifecycle,
    ):
        await fleet.restart("ingest")
        await reports.read_until(lambda es: len(es) >= 200)
        republished = Counter(e.event_id for e in await reports.settle(1.0))
        events = await read_effects(lifecycle, 150)
    assert len(distinct_events(reports.envelopes())) == 100
    assert set(republished.values()) == {2}, "every event published again, with its event_id"
    assert await outbox_unsent(db, "ingest") == 0
    assert_each_effect_once(events, expected_effects(order_ids, 2))
    assert await tracker_rows(db) == {"history": 100, "orders": 50, "inbox": 100}


async def processed(url: str) -> float:
    """Records this process's consumer handled, from its own /metrics."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"{url}/metrics")).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "orderflow_messages_total" and sample.labels["outcome"] == "processed"
    )


async def both_in_group(env: dict[str, str], group: str) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"])
    await admin.start()
    try:
        [response] = await admin.describe_consumer_groups([env["KAFKA_TOPIC_PREFIX"] + group])
    finally:
        await admin.close()
    [(_, _, state, _, _, members, *_)] = response.groups
    return bool(state == "Stable" and len(members) == 2)


async def test_two_tracker_replicas_share_the_stream_with_one_effect_per_report(
    stack_env: dict[str, str], fleet: Fleet, db: asyncpg.Connection
) -> None:
    order_ids = orders(100)
    fleet.start("ingest")
    fleet.start("tracker-a", "tracker-b", service="status-tracker")
    await fleet.ready()
    versions = await db.fetch("SELECT version FROM status_tracker.schema_migrations")
    expected_versions = migration_files([SHARED_MIGRATIONS, TRACKER_MIGRATIONS])
    assert sorted(r["version"] for r in versions) == sorted(v for v, _ in expected_versions)
    # Readiness does not wait for the group join: stream only once both hold partitions.
    await eventually(lambda: both_in_group(stack_env, "status-tracker"), "two in the group")
    async with (
        producer(stack_env) as send,
        TopicReader(stack_env, topics.ORDERS_LIFECYCLE) as lifecycle,
    ):
        for phase in range(3):
            await send_phase(send, order_ids, phase)
        events = await read_effects(lifecycle, 400)
    assert_each_effect_once(events, expected_effects(order_ids, 3))
    assert await tracker_rows(db) == {"history": 300, "orders": 100, "inbox": 300}
    work = [await processed(fleet.urls[name]) for name in ("tracker-a", "tracker-b")]
    assert all(work) and sum(work) >= 300, f"both replicas took part: {work}"
