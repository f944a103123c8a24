"""The full chain: HTTP batches through all five services, until each order's member is told.

Every report is a new order, reported confirmed, with one explicit contributor. So ingest
records it, the status tracker confirms it, attribution credits the member, rewards accrues
the tenant's commission (commission.accrued on commissions.v1) and the notifier, by the
bench tenant's one rule, sends the member an in-app notification (notification.sent on
notifications.v1; in-app needs no SMTP server or webhook receiver). It runs on a stack of
its own, started after the other paths, so theirs keep measuring ingest and the tracker
alone and this one starts with empty topics and no backlog to work through.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bench.phases import Run, Stage, order_ids, report, through_http
from bench.probe import Probe
from demo.system import running_system
from orderflow.shared.cli import SERVICES
from orderflow.shared.topics import (
    COMMISSIONS,
    NOTIFICATIONS,
    ORDER_REPORTS,
    ORDERS_ATTRIBUTION,
    ORDERS_LIFECYCLE,
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


async def full_chain(
    work_dir: Path,
    env: Mapping[str, str],
    api_key: str,
    args: argparse.Namespace,
    say: Callable[[str], None],
) -> Run:
    """All five services on a fresh stack in `work_dir`; a warm-up, then the measured run."""
    say(f"full chain: starting a fresh stack and all {len(SERVICES)} services ...")
    async with (
        running_system(work_dir, env, tuple(SERVICES)) as system,
        Probe(system.kafka(), [s.topic for s in STAGES]).running() as probe,
    ):

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
