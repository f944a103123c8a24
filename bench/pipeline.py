"""The two-hop pipeline: ingest -> status-tracker, and its no-database ceiling.

On one throwaway stack running ingest and the tracker: a warm-up, `single` (one report at
a time over HTTP), `http` (concurrent HTTP batches) and `kafka` (orders.inbound.v1), each
until every report's lifecycle events are out; then, with both services stopped, the
status tracker alone with 1 and 2 replicas (bench.replicas) and the ceiling: a consume ->
produce relay with no database over the same two hops through the same broker.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from bench.phases import Run, Stage, one_at_a_time, order_ids, through_http, through_kafka
from bench.probe import Probe
from bench.replicas import tracker_replicas
from demo.system import System, SystemFailed, running_system
from orderflow.shared.kafka_admin import ensure_topics
from orderflow.shared.settings import KafkaSettings
from orderflow.shared.supervisor import Supervisor
from orderflow.shared.topics import ORDER_REPORTS, ORDERS_INBOUND, ORDERS_LIFECYCLE, TopicSpec

PIPELINE = ("ingest", "status-tracker")
CEILING_TOPICS = ("bench.ceiling.in", "bench.ceiling.hop1", "bench.ceiling.out")
# Hop 1 is ingest's output (one internal event per report), hop 2 the tracker's
# (order.status_changed and order.confirmed per report); the ceiling relays one record a hop.
ORDERFLOW_STAGES = (Stage(ORDER_REPORTS, 1), Stage(ORDERS_LIFECYCLE, 2))
CEILING_STAGES = (Stage(CEILING_TOPICS[1], 1), Stage(CEILING_TOPICS[2], 1))
WARMUP_REPORTS = 500
REPLICAS = (1, 2)


@dataclass
class Pipeline:
    single: Run
    runs: list[Run]  # http, kafka
    ceiling: Run
    trackers: list[Run]  # status-tracker x1, x2 (empty when not asked for)


async def two_hops(
    work: Path, env: Mapping[str, str], api_key: str, args: argparse.Namespace,
    say: Callable[[str], None],
) -> Pipeline:  # fmt: skip
    say(f"starting the embedded stack, ingest and status-tracker in {work} ...")
    async with running_system(work, env, PIPELINE) as system:
        kafka = system.kafka()
        await ensure_topics(kafka, [TopicSpec(t, kafka.topic_partitions) for t in CEILING_TOPICS])
        watched = [stage.topic for stage in (*ORDERFLOW_STAGES, *CEILING_STAGES)]
        async with Probe(kafka, watched).running() as probe:
            single, runs = await _orderflow(system, kafka, probe, api_key, args, say)
            system.supervisor.stop_all()  # what follows gets the machine to itself
            trackers = [
                await tracker_replicas(system, env, k, args.replica_reports, args.timeout, say)
                for k in (REPLICAS if args.replica_reports else ())
            ]
            ceiling = await _ceiling(system, kafka, probe, args, say)
    return Pipeline(single, runs, ceiling, trackers)


async def _orderflow(
    system: System,
    kafka: KafkaSettings,
    probe: Probe,
    api_key: str,
    args: argparse.Namespace,
    say: Callable[[str], None],
) -> tuple[Run, list[Run]]:
    url, check, stages = system.urls["ingest"], system.check_alive, ORDERFLOW_STAGES

    async def http(prefix: str, count: int) -> Run:
        ids = order_ids(prefix, count)
        return await through_http(
            url, api_key, probe, ids, args.batch, args.clients, stages, args.timeout, check
        )

    async def inbound(prefix: str, count: int) -> Run:
        ids = order_ids(prefix, count)
        return await through_kafka(
            "kafka", kafka, ORDERS_INBOUND, probe, ids, stages, args.timeout, check
        )

    say("warming up (consumer groups joined, pools filled) ...")
    await http("warm-http", WARMUP_REPORTS)
    await inbound("warm-kafka", WARMUP_REPORTS)
    say(f"single: {args.single} reports over HTTP, one at a time ...")
    ids = order_ids("single", args.single)
    single = await one_at_a_time(url, api_key, probe, ids, stages, args.timeout, check)
    say(f"http: {args.reports} reports, batches of {args.batch}, {args.clients} clients ...")
    http_run = await http("http", args.reports)
    say(f"kafka: {args.reports} reports to {ORDERS_INBOUND} ...")
    return single, [http_run, await inbound("kafka", args.reports)]


async def _ceiling(
    system: System,
    kafka: KafkaSettings,
    probe: Probe,
    args: argparse.Namespace,
    say: Callable[[str], None],
) -> Run:
    relays = Supervisor(system.work_dir / "logs")
    source, hop, out = CEILING_TOPICS
    for name, (origin, target) in {"relay-1": (source, hop), "relay-2": (hop, out)}.items():
        relays.start(
            name, "bench.relay", system.env, (name, "--source", origin, "--target", f"{target}=1")
        )

    def check() -> None:
        for name, code in relays.exited().items():
            raise SystemFailed(f"{name} exited with code {code}:\n{relays.tail(name)}")

    async def relay(name: str, prefix: str, count: int) -> Run:
        ids = order_ids(prefix, count)
        return await through_kafka(
            name, kafka, source, probe, ids, CEILING_STAGES, args.timeout, check
        )

    try:
        say("ceiling: warming up the relays ...")
        await relay("warmup", "warm-ceiling", WARMUP_REPORTS)
        say(f"ceiling: {args.ceiling_reports} reports through {source} -> {hop} -> {out} ...")
        return await relay("ceiling", "ceiling", args.ceiling_reports)
    finally:
        relays.stop_all()
