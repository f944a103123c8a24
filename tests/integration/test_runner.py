"""The consumer runner hosted by FastStream, on the real broker and Postgres.

A test handler writes one row per record (unique by value) in the runner's transaction, so
the table says exactly which records took effect, and the group's committed offsets say what
the broker will not redeliver.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from orderflow.shared.db import SHARED_MIGRATIONS, create_pool, migrate
from orderflow.shared.envelope import Envelope
from orderflow.shared.errors import Rejected
from orderflow.shared.kafka import make_broker, subscribe_batches
from orderflow.shared.provision import role_name
from orderflow.shared.runner import ConsumerRunner, Handler, Record
from orderflow.shared.settings import DatabaseSettings, KafkaSettings
from tests.harness import eventually, kafka_settings, producer

pytestmark = pytest.mark.integration
TOPIC = "ingest.reports.v1"  # any provisioned topic the test owns under its prefix
GROUP = "runner-test"


class Recorder:
    """The handler under test: rows by value; 'poison' can never succeed; 'flaky' fails once."""

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.flaky_failures = 0

    async def __call__(self, conn: asyncpg.Connection, records: Sequence[Record]) -> None:
        self.batches.append(len(records))
        for record in records:
            value = (record.value or b"").decode()
            if value == "poison":
                raise Rejected("value: poison can never succeed", "invalid_test")
            if value == "flaky" and self.flaky_failures == 0:
                self.flaky_failures += 1
                raise ConnectionResetError("the database went away")  # transient
        await conn.execute(
            "INSERT INTO runner_effects (value) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING",
            [(r.value or b"").decode() for r in records],
        )


@asynccontextmanager
async def hosted(env: dict[str, str], handler: Handler) -> AsyncIterator[asyncpg.Pool]:
    db = DatabaseSettings.model_validate({"DATABASE_URL": env["DATABASE_URL"]})
    pool = await create_pool(db.dsn_for_role(role_name("ingest")), "ingest", 1, 4)
    async with pool.acquire() as conn:
        await migrate(conn, "ingest", [SHARED_MIGRATIONS])
        await conn.execute("CREATE TABLE IF NOT EXISTS runner_effects (value text PRIMARY KEY)")
    kafka = kafka_settings(env)
    broker = make_broker(kafka, client_id=GROUP, graceful_timeout_s=2.0)
    runner = ConsumerRunner(
        service="ingest",
        topic_of=kafka.topic,
        handlers={TOPIC: handler},
        pool=pool,
        after_commit=lambda: None,
        max_attempts=2,
        backoff_max_s=0.2,
    )
    subscribe_batches(
        broker,
        kafka,
        topics=runner.topics,
        group=GROUP,
        max_records=100,
        listener=runner.listener(),
        on_batch=runner.on_batch,
    )
    await broker.start()
    try:
        yield pool
    finally:
        runner.stop()
        await broker.stop()
        await pool.close()


async def committed_offsets(kafka: KafkaSettings) -> dict[int, int]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers, group_id=kafka.topic(GROUP)
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(kafka.topic(TOPIC)) or set()
        tps = [TopicPartition(kafka.topic(TOPIC), p) for p in sorted(partitions)]
        return {tp.partition: (await consumer.committed(tp)) or 0 for tp in tps}
    finally:
        await consumer.stop()


async def test_poison_is_dead_lettered_alone_and_a_transient_failure_is_redelivered(
    stack_env: dict[str, str],
) -> None:
    # One key, so every record is on one partition and arrives in one or a few batches.
    values = ["a", "b", "poison", "c", "flaky", "d"]
    handler = Recorder()
    async with producer(stack_env) as send:
        for value in values:
            await send(TOPIC, "shop:one", value.encode())
    async with hosted(stack_env, handler) as pool:

        async def all_good_ones_took_effect() -> bool:
            count = await pool.fetchval("SELECT count(*) FROM runner_effects")
            return bool(count == 5)

        await eventually(all_good_ones_took_effect, "the five good records", timeout=60)
        await asyncio.sleep(1.0)  # a redelivery or a second dead letter would show up now
        effects = {r["value"] for r in await pool.fetch("SELECT value FROM runner_effects")}
        dead = await pool.fetch("SELECT key, value FROM outbox WHERE topic = 'ingest.dlq.v1'")
    assert effects == {"a", "b", "c", "flaky", "d"}
    assert len(dead) == 1 and b"value: poison can never succeed" in dead[0]["value"]
    assert handler.flaky_failures == 1
    assert max(handler.batches) > 1, "records of a partition arrive as batches"
    offsets = await committed_offsets(kafka_settings(stack_env))
    assert sum(offsets.values()) == len(values), "every record committed, none twice"


async def test_a_restarted_consumer_resumes_after_the_committed_records(
    stack_env: dict[str, str],
) -> None:
    first, second = Recorder(), Recorder()
    async with producer(stack_env) as send:
        for n in range(20):
            await send(TOPIC, f"shop:{n}", f"r{n}".encode())
        async with hosted(stack_env, first) as pool:

            async def twenty() -> bool:
                return bool(await pool.fetchval("SELECT count(*) FROM runner_effects") == 20)

            await eventually(twenty, "the first twenty records")
        for n in range(20, 30):
            await send(TOPIC, f"shop:{n}", f"r{n}".encode())
    async with hosted(stack_env, second) as pool:

        async def thirty() -> bool:
            return bool(await pool.fetchval("SELECT count(*) FROM runner_effects") == 30)

        await eventually(thirty, "the ten new records")
    assert sum(second.batches) == 10, "only the uncommitted records were delivered again"


async def test_a_poison_record_too_large_for_its_dead_letter_is_kept_whole_and_referenced(
    stack_env: dict[str, str],
) -> None:
    big = b"poison" + b"x" * 900_000  # under the broker's 1 MiB, over a base64 dead letter's
    handler = Recorder()

    async def poison_is_rejected(conn: asyncpg.Connection, records: Sequence[Record]) -> None:
        if any((r.value or b"").startswith(b"poison") for r in records):
            raise Rejected("value: poison can never succeed", "invalid_test")
        await handler(conn, records)

    async with producer(stack_env) as send:
        await send(TOPIC, "shop:big", big)
        await send(TOPIC, "shop:big", b"after")
    async with hosted(stack_env, poison_is_rejected) as pool:

        async def the_next_record_took_effect() -> bool:
            return bool(await pool.fetchval("SELECT count(*) FROM runner_effects") == 1)

        await eventually(the_next_record_took_effect, "the record after the poison")
        (dead,) = await pool.fetch("SELECT value FROM outbox WHERE topic = 'ingest.dlq.v1'")
        kept = await pool.fetchval("SELECT value FROM dead_letter_values")
    letter = Envelope.from_bytes(dead["value"])
    assert len(dead["value"]) < 100_000, "the dead letter itself is small"
    assert kept == big
    assert letter.data["value_sha256"] == hashlib.sha256(big).hexdigest()
    assert letter.data["value_size"] == len(big)
    assert base64.b64decode(letter.data["value_prefix"]) == big[:1024]
    assert "value" not in letter.data and letter.data["error"] == "value: poison can never succeed"
