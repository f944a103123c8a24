"""`python -m demo` (`make demo`): the seed scenarios through a throwaway orderflow.

Starts the embedded stack and every service in a temporary directory on free ports, sends
each scenario's reports to POST /v1/orders, waits for the events the scenarios expect and
prints every order's timeline. Exits 0 when everything arrived, 1 (naming what is
missing) when something did not arrive in time or a service failed. Stops everything it
started either way.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from demo.events import EventLog
from demo.scenarios import Expect, Scenario, plan
from demo.sections import SECTIONS, render
from demo.system import System, SystemFailed, running_system
from demo.tenants import DEMO_EXPIRY_S, api_key_variable, secret_env, write_demo_tenants

DEFAULT_TIMEOUT_S = 60.0


async def demo(timeout_s: float) -> int:
    with tempfile.TemporaryDirectory(prefix="orderflow-demo-", ignore_cleanup_errors=True) as tmp:
        work = Path(tmp)
        tenants_dir = write_demo_tenants(work / "tenants")
        secrets = secret_env(tenants_dir, os.environ)
        env = {**secrets, "ORDERFLOW_TENANTS_DIR": str(tenants_dir)}
        say(f"starting the embedded stack and the services in {work} ...")
        try:
            async with running_system(work, env) as system:
                code = await _play(system, secrets, timeout_s)
        except SystemFailed as exc:
            say(f"demo failed: {exc}")
            return 1
    say("stopped the services and the stack")
    return code


async def _play(system: System, secrets: dict[str, str], timeout_s: float) -> int:
    say("ready: " + ", ".join(f"{name} {url}" for name, url in system.urls.items()))
    planned = plan(datetime.now(UTC))
    async with EventLog(system.kafka(), [section.topic for section in SECTIONS]) as log:
        await _send(system.urls["ingest"], secrets, planned)
        say(f"waiting up to {timeout_s:.0f} s for the expected events")
        say(f"(demo-store expires unpaid orders after {DEMO_EXPIRY_S} s) ...")
        missing = await log.wait_for([s for s, _ in planned], timeout_s, system.check_alive)
        for scenario, _ in planned:
            print_timeline(log, scenario)
    if missing:
        _report_missing(missing, timeout_s)
        return 1
    count = sum(len(s.expected) for s, _ in planned)
    say(f"\nall {count} expected events arrived; stopping")
    return 0


async def _send(ingest_url: str, secrets: dict[str, str], planned: list[Any]) -> None:
    # The live scenario first: its expiry timer then runs while the others are sent.
    ordered = sorted(planned, key=lambda pair: not pair[0].live)
    async with httpx.AsyncClient(base_url=ingest_url, timeout=30.0) as client:
        for scenario, start in ordered:
            key = secrets[api_key_variable(scenario.tenant)]
            for report in scenario.reports(start):
                await _post(client, key, report)
    say(f"sent {sum(len(s.statuses) for s, _ in planned)} reports to POST {ingest_url}/v1/orders")


async def _post(client: httpx.AsyncClient, api_key: str, report: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {api_key}"}
    response = await client.post("/v1/orders", json=report, headers=headers)
    if response.status_code != 202:
        what = f"{report['tenant']}/{report['order_id']} {report['status']!r}"
        raise SystemFailed(
            f"POST /v1/orders ({what}) answered {response.status_code}: {response.text}"
        )


def print_timeline(log: EventLog, scenario: Scenario) -> None:
    say(f"\n== {scenario.tenant} / {scenario.order_id}: {scenario.title}")
    for section in SECTIONS:
        events = log.of(scenario, section.topic)
        if events:
            say("\n".join(render(section, events)))


def _report_missing(missing: dict[str, list[Expect]], timeout_s: float) -> None:
    say(f"\ndemo failed: expected events did not arrive within {timeout_s:.0f} s:")
    for order_id, expects in missing.items():
        say(f"  {order_id}: " + "; ".join(map(str, expects)))


def say(text: str) -> None:
    print(text, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo", description=__doc__)
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds to wait for events"
    )
    args = parser.parse_args(argv)
    try:
        return asyncio.run(demo(args.timeout))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
