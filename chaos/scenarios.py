"""Each scenario: a fresh stack, a load, a fault injected under it, then the count.

One scenario at a time, each on its own throwaway stack (temporary directory, free ports,
durable Postgres), so one row's faults never leak into the next row's numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaos import faults
from chaos.load import TENANT, Mix, Sent, order_ids, over_http, over_kafka
from chaos.observe import Observer
from chaos.stack import Stack, running_stack
from chaos.verdict import expected, judge
from orderflow.shared.cli import SERVICES
from orderflow.shared.topics import (
    COMMISSIONS,
    NOTIFICATIONS,
    ORDERS_ATTRIBUTION,
    ORDERS_LIFECYCLE,
    dead_letter_topic,
)

WATCHED = (
    ORDERS_LIFECYCLE, ORDERS_ATTRIBUTION, COMMISSIONS, NOTIFICATIONS,
    *(dead_letter_topic(s) for s in SERVICES),
)  # fmt: skip
# The benchmark's programme: a commission to accrue, and one in-app notification per accrual.
PROGRAMME = """commission:
  percent: "10"
notifications:
  rules:
    - on: commission.accrued
      to: [member]
      channels: [in_app]
"""


@dataclass(frozen=True)
class Scenario:
    name: str
    inject: faults.Inject
    over: str = "http"  # or "kafka" (orders.inbound.v1)
    size: str = "reports"  # the argument holding its number of reports

    def mix(self, args: argparse.Namespace) -> Mix:
        if self.name == "duplicates":
            return Mix(duplicate_ratio=args.duplicate_ratio)
        if self.name == "poison":
            return Mix(poison_ratio=args.poison_ratio)
        return Mix()


SCENARIOS = {
    s.name: s
    for s in (
        Scenario("sigkill", faults.sigkill, size="kill_reports"),
        Scenario("postgres-down", faults.postgres_down),
        Scenario("relay-kill", faults.relay_kill),
        Scenario("broker-restart", faults.broker_restart),
        Scenario("rebalance", faults.rebalance),
        Scenario("duplicates", faults.none, over="kafka"),
        Scenario("poison", faults.none, over="kafka"),
    )
}


async def run(scenario: Scenario, args: argparse.Namespace, work: Path, say: Say) -> dict[str, Any]:
    reports = getattr(args, scenario.size)
    api_key = f"chaos-{secrets.token_hex(16)}"
    env = {"CHAOS_API_KEY": api_key, "ORDERFLOW_TENANTS_DIR": str(tenant_dir(work / "tenants"))}
    say(f"{scenario.name}: starting a fresh stack and all {len(SERVICES)} services ...")
    async with (
        running_stack(work, env) as stack,
        Observer(stack.kafka(), WATCHED).running() as observer,
    ):
        say(f"{scenario.name}: {reports} reports at {args.rate:g}/s with the fault ...")
        ctx = faults.Context(stack, observer, args, reports / args.rate)
        load = asyncio.create_task(_load(scenario, stack, args, api_key, reports))
        injected = await scenario.inject(ctx)
        sent = await load
        if scenario.over == "kafka":
            injected = _in_records(scenario, sent)
        say(f"{scenario.name}: load sent; waiting for every effect ...")
        missing = await observer.wait_for(expected(sent), args.settle_timeout)
        await observer.quiet(3.0)
        conn = await stack.admin()
        try:
            verdict = await judge(observer, sent, missing, conn, injected.ended_at)
        finally:
            await conn.close()
        return {
            "scenario": scenario.name,
            "reports": len(sent.accepted_at),
            "faults": injected.count,
            "lost": len(verdict.lost),
            "duplicates": len(verdict.duplicates),
            "recovery_s": verdict.recovery_s,
            "seconds": round(time.monotonic() - ctx.started, 1),
            "notes": injected.notes,
            "post_retries": sent.retries,
            "server_errors": sent.server_errors,
            "unplanned_exits": stack.unplanned_exits,
            "records_seen": dict(observer.records),
            **verdict.sample(),
        }


Say = Callable[[str], None]


async def _load(
    scenario: Scenario, stack: Stack, args: argparse.Namespace, api_key: str, reports: int
) -> Sent:
    ids = order_ids(scenario.name, reports)
    if scenario.over == "kafka":
        return await over_kafka(stack.kafka(), ids, args.rate, scenario.mix(args))
    return await over_http(stack.urls["ingest"], api_key, ids, args.rate, args.batch)


def _in_records(scenario: Scenario, sent: Sent) -> faults.Faults:
    """A record scenario's faults are its duplicated or poison records; they are over once
    the load has sent its last record."""
    count = len(sent.poison_at) if scenario.name == "poison" else sent.duplicated
    return faults.Faults(count, max([*sent.accepted_at.values(), *sent.poison_at.values()]))


def tenant_dir(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    text = f"tenant: {TENANT}\nstatus_profile: loyalty\napi_keys: ['${{CHAOS_API_KEY}}']\n"
    (directory / f"{TENANT}.yaml").write_text(text + PROGRAMME)
    return directory
