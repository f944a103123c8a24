"""The full chain: HTTP batches through all five services, until each order's member is told.

Every report is a new order, reported confirmed, with one explicit contributor. So ingest
records it, the status tracker confirms it, attribution credits the member, rewards accrues
the tenant's commission (commission.accrued on commissions.v1) and the notifier, by the
bench tenant's one rule, sends the member an in-app notification (notification.sent on
notifications.v1; in-app needs no SMTP server or webhook receiver). It runs on a stack of
its own, started after the other paths, so theirs keep measuring ingest and the tracker
alone and this one starts with empty topics and no backlog to work through.

On that stack, in order: the closed-loop run (batches as fast as answered, for reports/s);
the topology it showed (bench.topology); the open-loop run (bench.openloop), sampling each
service's RSS; then the services stop and the chain ceiling (bench.chain_ceiling) plays
the same topology with no database on the same broker.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from bench.chain_ceiling import CeilingRun, chain_ceiling
from bench.openloop import OpenLoop, open_loop
from bench.phases import Run, Stage, order_ids, report, through_http
from bench.probe import Probe
from bench.rss import RssSampler
from bench.topology import Hop, consumed_topics, hops, per_report, watched
from demo.system import System, running_system
from orderflow.shared.cli import SERVICES
from orderflow.shared.topics import (
    COMMISSIONS,
    NOTIFICATIONS,
    ORDER_REPORTS,
    ORDERS_ATTRIBUTION,
    ORDERS_LIFECYCLE,
    all_topics,
)

MEMBERS = 50
WARMUP_REPORTS = 200
# Per report: ingest's internal event; the tracker's status_changed and confirmed; one
# order.attributed; one commission.accrued; one notification for the member, in-app only.
STAGES = (
    Stage(ORDER_REPORTS, 1),
    Stage(ORDERS_LIFECYCLE, 2),
    Stage(ORDERS_ATTRIBUTION, 1),
    Stage(COMMISSIONS, 1),
    Stage(NOTIFICATIONS, 1),
)
# Open loop: latency from the report's due time to its commission and to its notification.
OPEN_LOOP_TOPICS = (COMMISSIONS, NOTIFICATIONS)
# What the other paths never use, so their numbers do not depend on it: a commission to
# accrue and one rule that turns each accrual into an in-app notification for the member.
TENANT_PROGRAMME = """commission:
  percent: "10"
notifications:
  rules:
    - on: commission.accrued
      to: [member]
      channels: [in_app]
"""


def chain_report(order_id: str, occurred_at: str) -> dict[str, Any]:
    """A confirmed new order credited to one of MEMBERS members (by the order's number)."""
    member = int(order_id.rsplit("-", 1)[1]) % MEMBERS
    contributor = {"member_id": f"m-{member}", "via": "affiliation"}
    return {**report(order_id, occurred_at), "contributors": [contributor]}


@dataclass
class Chain:
    run: Run  # closed loop: HTTP batches as fast as answered
    carried: dict[str, Fraction]  # records per report on each topic, in the run above
    hops: list[Hop]  # the topology the ceiling plays
    ceiling: CeilingRun
    open_loop: OpenLoop | None
    rss: dict[str, dict[str, float]]  # per service, at the end of the open-loop load


async def full_chain(
    work_dir: Path,
    env: Mapping[str, str],
    api_key: str,
    args: argparse.Namespace,
    say: Callable[[str], None],
) -> Chain:
    """All five services on a fresh stack in `work_dir`: the closed-loop run, the open-loop
    run, then, with the services stopped, the chain ceiling on the same broker."""
    say(f"full chain: starting a fresh stack and all {len(SERVICES)} services ...")
    names = watched(spec.name for spec in all_topics(tuple(SERVICES)))
    async with running_system(work_dir, env, tuple(SERVICES)) as system:
        async with Probe(system.kafka(), names).running() as probe:
            run = await _closed_loop(system, probe, api_key, args, say)
            await probe.settled()
            carried = per_report(probe.totals, WARMUP_REPORTS + args.chain_reports)
            topology = hops(await consumed_topics(system.urls), carried)
            sampler = RssSampler({name: system.supervisor.pid(name) for name in SERVICES})
            sampler.sample()
            loop = await _open_loop(system, probe, api_key, args, sampler, say)
        system.supervisor.stop_all()  # the ceiling gets the machine (and the broker) to itself
        ceiling = await chain_ceiling(
            system, topology, args.chain_ceiling_reports, chain_report, args.timeout, say
        )
    return Chain(run, carried, topology, ceiling, loop, sampler.summary())


async def _closed_loop(
    system: System, probe: Probe, api_key: str, args: argparse.Namespace,
    say: Callable[[str], None],
) -> Run:  # fmt: skip
    async def run(name: str, count: int) -> Run:
        return await through_http(
            system.urls["ingest"], api_key, probe, order_ids(name, count),
            args.batch, args.clients, STAGES, args.timeout, system.check_alive,
            name=name, build=chain_report,
        )  # fmt: skip

    say("full chain: warming up ...")
    await run("warm-chain", WARMUP_REPORTS)
    say(f"full chain: {args.chain_reports} reports until each member's notification ...")
    return await run("full-chain", args.chain_reports)


async def _open_loop(
    system: System, probe: Probe, api_key: str, args: argparse.Namespace,
    sampler: RssSampler, say: Callable[[str], None],
) -> OpenLoop | None:  # fmt: skip
    if args.open_seconds <= 0:
        return None
    say(
        f"open loop: {args.open_rate:g} reports/s for {args.open_seconds:g} s over HTTP"
        f" ({args.open_batch} per POST, on schedule) through all five services ..."
    )
    return await open_loop(
        system.urls["ingest"], api_key, probe, OPEN_LOOP_TOPICS, chain_report,
        args.open_rate, args.open_seconds, args.open_batch, args.timeout,
        system.check_alive, during=sampler.sample,
    )  # fmt: skip
