"""The chain ceiling: the five-service topology played by no-database relays.

One `python -m bench.relay` process per service, consuming the topics that service
consumed in the real run and producing, per record, as many records to each of its topics
as the service did (bench.topology). They run on the full chain's broker once its services
have stopped, on the same topic names under the prefix `ceiling.`, with the same partition
counts. Reports enter through `ceiling.orders.inbound.v1`; the run is done when every topic
holds all the records the relays owe it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from bench.phases import Record, key_of, order_ids, produce
from bench.probe import Probe
from bench.topology import ENTRY, Hop, relay_args
from demo.system import System, SystemFailed
from orderflow.shared.kafka_admin import ensure_topics
from orderflow.shared.settings import KafkaSettings
from orderflow.shared.supervisor import Supervisor
from orderflow.shared.topics import TopicSpec

PREFIX = "ceiling."
WARMUP_REPORTS = 200


@dataclass(frozen=True)
class CeilingRun:
    reports: int
    seconds: float

    @property
    def per_s(self) -> float:
        return self.reports / self.seconds


def owed(hops: Sequence[Hop], entered: int) -> dict[str, int]:
    """Records on each topic once `entered` reports went in: the relays' own arithmetic.

    Iterated to its fixed point, since a service may consume a topic it writes (rewards'
    member-keyed facts): with fewer records out than in, the loop settles."""
    totals = {ENTRY: entered}
    for _ in range(100_000):
        before = dict(totals)
        for hop in hops:
            inputs = sum(totals.get(source, 0) for source in hop.sources)
            for topic, ratio in hop.targets.items():
                totals[topic] = int(inputs * ratio)
        if totals == before:
            return {topic: n for topic, n in totals.items() if topic != ENTRY}
    raise RuntimeError("the measured topology produces without end (a loop with ratio >= 1)")


async def chain_ceiling(
    system: System, hops: Sequence[Hop], reports: int, build: Callable[[str, str], object],
    timeout_s: float, say: Callable[[str], None],
) -> CeilingRun:  # fmt: skip
    kafka = system.kafka()
    prefixed = KafkaSettings(
        bootstrap_servers=kafka.bootstrap_servers,
        enable_idempotence=kafka.enable_idempotence,
        topic_prefix=PREFIX,
    )
    topics = {ENTRY, *(t for hop in hops for t in (*hop.sources, *hop.targets))}
    await ensure_topics(prefixed, [TopicSpec(t, kafka.topic_partitions) for t in topics])
    relays = Supervisor(system.work_dir / "logs")
    env = {**system.env, "KAFKA_TOPIC_PREFIX": PREFIX}
    for hop in hops:
        relays.start(f"ceiling-{hop.service}", "bench.relay", env, relay_args(hop))

    def check() -> None:
        for name, code in relays.exited().items():
            raise SystemFailed(f"{name} exited with code {code}:\n{relays.tail(name)}")

    targets = sorted({t for hop in hops for t in hop.targets})
    probe = Probe(kafka, [prefixed.topic(t) for t in targets])
    try:
        async with probe.running():
            entered = 0

            async def run(name: str, count: int) -> CeilingRun:
                nonlocal entered
                entered += count
                for topic, n in owed(hops, entered).items():
                    probe.expect_total(prefixed.topic(topic), n)
                at = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
                ids = order_ids(name, count)
                records: list[Record] = [
                    (key_of(i), json.dumps(build(i, at)).encode(), []) for i in ids
                ]
                sent_at, _ = await produce(kafka, prefixed.topic(ENTRY), records)
                for topic in targets:
                    await probe.wait_total(prefixed.topic(topic), timeout_s, check)
                done = max(probe.total_done_at[prefixed.topic(t)] for t in targets)
                return CeilingRun(count, done - min(sent_at.values()))

            say(f"chain ceiling: {len(hops)} relays, warming up ...")
            await run("warm-chain-ceiling", WARMUP_REPORTS)
            say(f"chain ceiling: {reports} reports through the relays' five-service topology ...")
            return await run("chain-ceiling", reports)
    finally:
        relays.stop_all()


def describe(hops: Sequence[Hop]) -> dict[str, dict[str, object]]:
    """The topology the ceiling played, for the JSON: sources and records out per input."""
    return {
        hop.service: {"sources": list(hop.sources), "out_per_input": _ratios(hop.targets)}
        for hop in hops
    }


def _ratios(targets: Mapping[str, Fraction]) -> dict[str, str]:
    return {topic: str(ratio) for topic, ratio in targets.items()}
