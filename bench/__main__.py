"""`python -m bench` (`make bench`): reports per second through ingest -> status-tracker.

On a throwaway embedded stack (temporary directory, free ports) it measures, in one run:
  http     batches POSTed to /v1/orders by concurrent clients, until the tracker's
           lifecycle events for every report are out;
  kafka    the same reports produced to orders.inbound.v1, until the events are out;
  ceiling  a consume -> produce relay with no database through the same broker over the
           same two hops (in -> hop1 -> out), as processes like the services;
  single   reports sent one at a time over HTTP: latency without queueing;
  full-chain  HTTP batches of confirmed orders with a contributor through all five
           services, on a fresh stack of its own, until each order's commission.accrued
           and the member's in-app notification.sent are out.
Prints a table and the machine, and writes bench/results/latest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.chain import TENANT_PROGRAMME, full_chain
from bench.phases import Run, Stage, one_at_a_time, order_ids, through_http, through_kafka
from bench.probe import Probe
from bench.report import (
    chain_text,
    machine,
    machine_text,
    single_summary,
    single_text,
    summary,
    table,
    write_json,
)
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
RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
NOTES = [
    "The embedded Postgres runs with fsync=off and Tansu keeps topics in memory.",
    "The load generator and the probe share the machine with the system under test.",
    "Loaded latencies include queueing: every report of a run is sent as fast as possible.",
]


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="orderflow-bench-", ignore_cleanup_errors=True) as tmp:
        work = Path(tmp)
        api_key = f"bench-{secrets.token_hex(16)}"
        env = {"BENCH_API_KEY": api_key, "ORDERFLOW_TENANTS_DIR": str(_tenant(work / "tenants"))}
        say(f"starting the embedded stack, ingest and status-tracker in {work} ...")
        async with running_system(work, env, PIPELINE) as system:
            kafka = system.kafka()
            await ensure_topics(
                kafka, [TopicSpec(t, kafka.topic_partitions) for t in CEILING_TOPICS]
            )
            watched = [stage.topic for stage in (*ORDERFLOW_STAGES, *CEILING_STAGES)]
            async with Probe(kafka, watched).running() as probe:
                single, runs = await _orderflow(system, kafka, probe, api_key, args)
                for name in PIPELINE:  # the ceiling gets the machine to itself, as they had
                    system.supervisor.stop(name)
                ceiling = await _ceiling(system, kafka, probe, args)
        chain = await full_chain(work / "chain", env, api_key, args, say)
    return _document(single, [*runs, chain], ceiling, args)


def _tenant(directory: Path) -> Path:
    directory.mkdir(parents=True)
    text = "tenant: bench\nstatus_profile: loyalty\napi_keys: ['${BENCH_API_KEY}']\n"
    text += TENANT_PROGRAMME
    (directory / "bench.yaml").write_text(text)
    return directory


async def _orderflow(
    system: System, kafka: KafkaSettings, probe: Probe, api_key: str, args: argparse.Namespace
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
    system: System, kafka: KafkaSettings, probe: Probe, args: argparse.Namespace
) -> Run:
    relays = Supervisor(system.work_dir / "logs")
    source, hop, out = CEILING_TOPICS
    relays.start("relay-1", "bench.relay", system.env, (source, hop))
    relays.start("relay-2", "bench.relay", system.env, (hop, out))

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


def _document(
    single: Run, runs: list[Run], ceiling: Run, args: argparse.Namespace
) -> dict[str, Any]:
    settings = ("reports", "ceiling_reports", "chain_reports", "batch", "clients", "single")
    return {
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": {name: getattr(args, name) for name in settings},
        "results": [summary(run, ceiling) for run in [*runs, ceiling]],
        "single_report": single_summary(single),
        "notes": NOTES,
    }


def say(text: str) -> None:
    print(text, flush=True)


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--reports", type=int, default=10000, help="reports per run")
    parser.add_argument(
        "--batch", type=int, default=500, help="reports per HTTP request (max 1000)"
    )
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients")
    parser.add_argument(
        "--ceiling-reports",
        type=int,
        default=50000,
        help="records through the ceiling: more than --reports, as it is far faster,\n"
        "so that its run lasts long enough to measure",
    )
    parser.add_argument(
        "--chain-reports",
        type=int,
        default=1000,
        help="reports through the full chain (all five services): fewer, as it is far\n"
        "slower, so that the whole bench stays within about three minutes",
    )
    parser.add_argument(
        "--single", type=int, default=50, help="reports sent one at a time, for latency"
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds allowed per run")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where the JSON goes")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    info = machine()  # before the stack starts: the load average is the machine's, not ours
    try:
        document = asyncio.run(bench(args))
    except (SystemFailed, TimeoutError, RuntimeError) as exc:
        say(f"bench failed: {exc}")
        return 1
    document = {"machine": info, **document}
    say("\n" + table(document["results"]))
    say(chain_text(document["results"]))
    say(single_text(document["single_report"]) + "\n\n" + machine_text(info))
    say("\n".join(NOTES))
    write_json(args.output, document)
    say(f"written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
