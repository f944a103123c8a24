"""One run's JSON document (bench/results/latest.json) and its headline numbers."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from bench.chain import Chain
from bench.chain_report import chain_part, open_loop_part, replicas_part
from bench.history import commit
from bench.pipeline import Pipeline
from bench.report import single_summary, summary
from orderflow.shared.topics import COMMISSIONS, NOTIFICATIONS

SETTINGS = (
    "reports", "ceiling_reports", "chain_reports", "chain_ceiling_reports", "batch", "clients",
    "single", "open_rate", "open_seconds", "open_batch", "replica_reports",
)  # fmt: skip
OPEN_LOOP_NAMES = {COMMISSIONS: "commission_accrued", NOTIFICATIONS: "notification_sent"}
NOTES = [
    "The embedded Postgres is durable: fsync and synchronous_commit on, as in production."
    " Tansu keeps topics in memory.",
    "The load generator and the probe share the machine with the system under test.",
    "Closed-loop latencies include queueing: every report of those runs is sent as fast as"
    " possible. The open loop sends on a fixed schedule and times from each report's due time.",
    "Both ceilings are no-database relays on the same broker in the same run; the chain"
    " ceiling copies the full chain's topology and records per report, entering through"
    " orders.inbound.v1 where the chain enters over HTTP.",
]


def document(
    machine: dict[str, Any], pipeline: Pipeline, chain: Chain, args: argparse.Namespace
) -> dict[str, Any]:
    ceiling = pipeline.ceiling.per_s
    doc = {
        "machine": machine,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit(),
        "settings": {name: getattr(args, name) for name in SETTINGS},
        "results": [summary(run, ceiling) for run in [*pipeline.runs, pipeline.ceiling]],
        "single_report": single_summary(pipeline.single),
        "chain": chain_part(chain),
        "open_loop": open_loop_part(chain),
        "rss_mib": chain.rss,
        "status_tracker_replicas": replicas_part(pipeline.trackers),
        "notes": NOTES,
    }
    numbers = headline(doc)
    return {**doc, "headline": numbers, "goals": goals(numbers)}


def goals(numbers: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 8's goals, each with this run's number and whether it is met (None: not run)."""
    rss = [v for k, v in numbers.items() if k.startswith("rss_")]
    ran_open_loop = "open_loop_notification_sent_not_through" in numbers
    p99 = numbers.get("open_loop_notification_sent_p99_ms")
    checks = [
        ("HTTP two hops >= 0.5 x ceiling", numbers.get("http_vs_ceiling"), 0.5, True),
        ("Kafka two hops >= 0.5 x ceiling", numbers.get("kafka_vs_ceiling"), 0.5, True),
        ("full chain >= 0.5 x chain ceiling", numbers.get("chain_vs_chain_ceiling"), 0.5, True),
        ("RSS <= 150 MiB per service", max(rss) if rss else None, 150.0, False),
    ]
    result = [
        {
            "goal": text,
            "value": value,
            "met": None if value is None else (value >= bound if at_least else value <= bound),
        }
        for text, value, bound, at_least in checks
    ]
    result.insert(3, {
        "goal": "open loop p99 to notification.sent <= 250 ms",
        "value": p99 if p99 is not None or not ran_open_loop else "not through",
        "met": (p99 is not None and p99 <= 250.0) if ran_open_loop else None,
    })  # fmt: skip
    return result


def headline(doc: dict[str, Any]) -> dict[str, Any]:
    """Every number a regression would show in, flat, for history.jsonl."""
    numbers: dict[str, Any] = {}
    for result in doc["results"]:
        name = result["name"]
        numbers[f"{name}_reports_per_s"] = result["reports_per_s"]
        if name != "ceiling":
            numbers[f"{name}_vs_ceiling"] = result["vs_ceiling"]
            numbers[f"{name}_p99_ms"] = result["p99_ms"]
    chain = doc["chain"]
    numbers["chain_reports_per_s"] = chain["full_chain"]["reports_per_s"]
    numbers["chain_ceiling_reports_per_s"] = chain["chain_ceiling"]["reports_per_s"]
    numbers["chain_vs_chain_ceiling"] = chain["full_chain"]["vs_ceiling"]
    numbers["chain_p99_ms"] = chain["full_chain"]["p99_ms"]
    numbers["single_p50_ms"] = doc["single_report"]["p50_ms"]
    numbers["single_p99_ms"] = doc["single_report"]["p99_ms"]
    if doc["open_loop"]:
        for topic, stats in doc["open_loop"]["to"].items():
            label = f"open_loop_{OPEN_LOOP_NAMES.get(topic, topic)}"
            numbers[f"{label}_p50_ms"] = stats["p50_ms"]
            numbers[f"{label}_p99_ms"] = stats["p99_ms"]
            numbers[f"{label}_not_through"] = stats["not_through"]
    for service, rss in doc["rss_mib"].items():
        numbers[f"rss_{service}_mib"] = rss["end_mib"]
    replicas = doc["status_tracker_replicas"]
    for count in ("1", "2"):
        if count in replicas:
            numbers[f"tracker_x{count}_reports_per_s"] = replicas[count]["reports_per_s"]
    if "scaling" in replicas:
        numbers["tracker_x2_over_x1"] = replicas["scaling"]["x2_over_x1"]
    return numbers
