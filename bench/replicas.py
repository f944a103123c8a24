"""The status tracker alone, with 1 and with 2 replicas sharing the same partitions.

Its input is real: the `ingest.reports.v1` records ingest wrote during the two-hop runs,
copied byte for byte (key, value, headers) into a topic set of their own (prefix
`replicas<k>.`), with a fresh database, so nothing before it is a duplicate and ingest's
speed plays no part. k tracker processes (the same consumer group, six partitions) are
started and warmed up until each one has handled records, i.e. holds partitions; then the
measured records are produced as fast as acks allow, until the tracker's two lifecycle
events per report are out.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench.phases import Record, Run, Stage, produced
from bench.probe import Probe
from bench.topology import consumed_topics
from demo.system import System, SystemFailed
from orderflow.shared.cli import start_services
from orderflow.shared.kafka_admin import ensure_topics
from orderflow.shared.localstack import free_port
from orderflow.shared.provision import provision, with_database
from orderflow.shared.settings import KafkaSettings
from orderflow.shared.supervisor import ChildExited, Supervisor
from orderflow.shared.topics import ORDER_REPORTS, ORDERS_LIFECYCLE, all_topics

TRACKER = "status-tracker"
WARMUP_REPORTS = 200
WARMUP_TRIES = 5
JOIN_WAIT_S = 2.0  # between warm-up tries: time for a late replica's group join
READY_TIMEOUT_S = 90.0


async def recorded(kafka: KafkaSettings, topic: str, count: int) -> list[Record]:
    """The first `count` records of `topic`, one per key, read from every partition."""
    consumer = AIOKafkaConsumer(enable_auto_commit=False, **kafka.client_options())
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        seen: dict[bytes, Record] = {}
        while len(seen) < count and any(await _behind(consumer, ends)):
            for records in (await consumer.getmany(timeout_ms=500, max_records=2000)).values():
                for r in records:
                    if r.key is not None and r.key not in seen and len(seen) < count:
                        seen[r.key] = (r.key, r.value or b"", [(k, v) for k, v in r.headers])
        return list(seen.values())
    finally:
        await consumer.stop()


async def _behind(consumer: AIOKafkaConsumer, ends: Mapping[TopicPartition, int]) -> list[bool]:
    return [await consumer.position(tp) < end for tp, end in ends.items()]


async def tracker_replicas(
    system: System, service_env: Mapping[str, str], replicas: int, reports: int,
    timeout_s: float, say: Callable[[str], None],
) -> Run:  # fmt: skip
    kafka = system.kafka()
    pool = await recorded(
        kafka, kafka.topic(ORDER_REPORTS), WARMUP_TRIES * WARMUP_REPORTS + reports
    )
    if len(pool) < WARMUP_TRIES * WARMUP_REPORTS + reports:
        raise RuntimeError(f"only {len(pool)} distinct reports on {ORDER_REPORTS} to copy")
    prefixed = KafkaSettings(
        bootstrap_servers=kafka.bootstrap_servers,
        enable_idempotence=kafka.enable_idempotence,
        topic_prefix=f"replicas{replicas}.",
    )
    await ensure_topics(prefixed, all_topics((TRACKER,), kafka.topic_partitions))
    source, out = prefixed.topic(ORDER_REPORTS), prefixed.topic(ORDERS_LIFECYCLE)
    stages = (Stage(out, 2),)
    async with (
        _trackers(system, service_env, prefixed, replicas) as (urls, check),
        Probe(kafka, [out]).running() as probe,
    ):
        say(f"status-tracker x{replicas}: warming up until every replica holds partitions ...")
        for attempt in range(WARMUP_TRIES):
            chunk = pool[attempt * WARMUP_REPORTS : (attempt + 1) * WARMUP_REPORTS]
            await produced("warmup", kafka, source, probe, chunk, stages, timeout_s, check)
            working = [name for name, topics in (await consumed_topics(urls)).items() if topics]
            if len(working) == replicas:
                break
            await asyncio.sleep(JOIN_WAIT_S)
        measured = pool[WARMUP_TRIES * WARMUP_REPORTS :]
        say(f"status-tracker x{replicas}: {len(measured)} of ingest's records ...")
        run = await produced(
            f"tracker-x{replicas}", kafka, source, probe, measured, stages, timeout_s, check
        )
        run.notes["replicas_holding_partitions"] = len(working)
        return run


@contextlib.asynccontextmanager
async def _trackers(
    system: System, service_env: Mapping[str, str], kafka: KafkaSettings, replicas: int
) -> AsyncIterator[tuple[dict[str, str], Callable[[], None]]]:
    """`replicas` tracker processes on a fresh database and `kafka`'s prefix, all ready."""
    database = f"bench_{kafka.topic_prefix.rstrip('.')}"
    await provision(system.env["DATABASE_URL"], [TRACKER], database=database)
    env = {
        **system.env,
        **service_env,
        "DATABASE_URL": with_database(system.env["DATABASE_URL"], database),
        "KAFKA_TOPIC_PREFIX": kafka.topic_prefix,
    }
    supervisors = [Supervisor(system.work_dir / "logs" / f"replica-{i}") for i in range(replicas)]
    try:
        urls = {}
        for index, supervisor in enumerate(supervisors):
            started = start_services(supervisor, env, {TRACKER: free_port()})
            urls[f"{TRACKER}-{index}"] = started[TRACKER]
        await asyncio.gather(
            *(_ready(s, u) for s, u in zip(supervisors, urls.values(), strict=True))
        )

        def check() -> None:
            for supervisor in supervisors:
                for name, code in supervisor.exited().items():
                    raise SystemFailed(f"{name} exited with {code}:\n{supervisor.tail(name)}")

        yield urls, check
    finally:
        for supervisor in supervisors:
            supervisor.stop_all()


async def _ready(supervisor: Supervisor, url: str) -> None:
    try:
        await supervisor.wait_ready({TRACKER: f"{url}/readyz"}, READY_TIMEOUT_S)
    except ChildExited as exc:
        raise SystemFailed(f"{exc}; its last output:\n{exc.tail}") from exc
