"""`python -m demo` (`make demo`): the seed scenarios through a throwaway orderflow.

Starts the embedded stack and every service in a temporary directory on free ports, with a
local SMTP server saving mail in that directory and a local webhook receiver; sends each
scenario's touchpoints to POST /v1/touchpoints and reports to POST /v1/orders, waits for the
events the scenarios expect and prints every order's timeline on every public topic, then
what it left behind: the credited members' rewards and ledger, the in-app inboxes, the
mailbox and the webhooks. Exits 0 when everything arrived, 1 (naming what is missing) when
something did not arrive in time or a service failed. Stops everything it started either way.
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
from demo.orders_demo import orders_lines
from demo.outcomes import Outlets, outcome_lines
from demo.payments_demo import payment_lines
from demo.recurring_demo import play_recurring
from demo.refund_demo import refund_lines
from demo.sales_manager_demo import reassignment_lines
from demo.scenarios import SCENARIOS, Expect, Scenario, plan
from demo.sections import SECTIONS, render
from demo.segments_demo import segment_lines
from demo.system import System, SystemFailed, running_system
from demo.tenants import (
    DEMO_EXPIRY_S,
    api_key_variable,
    hook_secret_variable,
    secret_env,
    write_demo_tenants,
)
from demo.tracking_demo import tracking_lines
from demo.webhooks import WebhookReceiver
from orderflow.shared.localmail import local_smtp
from orderflow.shared.localstack import free_port

DEFAULT_TIMEOUT_S = 60.0


async def demo(timeout_s: float) -> int:
    with tempfile.TemporaryDirectory(prefix="orderflow-demo-", ignore_cleanup_errors=True) as tmp:
        work, mail_port = Path(tmp), free_port()
        # Always the local server, even if ORDERFLOW_SMTP_HOST names a real one: a demo
        # must not mail anybody.
        with WebhookReceiver() as webhooks, local_smtp(mail_port, work / "mail"):
            tenants_dir = write_demo_tenants(work / "tenants", webhooks.url)
            secrets = secret_env(tenants_dir, os.environ)
            env = {**secrets, "ORDERFLOW_TENANTS_DIR": str(tenants_dir), **smtp_env(mail_port)}
            say(f"starting the embedded stack and the services in {work} ...")
            say(f"(local SMTP on 127.0.0.1:{mail_port}, webhooks to {webhooks.url})")
            try:
                async with running_system(work, env) as system:
                    outlets = _outlets(system, webhooks, secrets)
                    code = await _play(system, outlets, secrets, timeout_s)
            except SystemFailed as exc:
                say(f"demo failed: {exc}")
                return 1
    say("stopped the services and the stack")
    return code


def smtp_env(port: int) -> dict[str, str]:
    return {
        "ORDERFLOW_SMTP_HOST": "127.0.0.1",
        "ORDERFLOW_SMTP_PORT": str(port),
        "ORDERFLOW_SMTP_SECURITY": "plain",
    }


def _outlets(system: System, webhooks: WebhookReceiver, secrets: dict[str, str]) -> Outlets:
    tenants = {scenario.tenant for scenario in SCENARIOS}
    return Outlets(
        rewards_url=system.urls["rewards"],
        notifier_url=system.urls["notifier"],
        mail_dir=system.work_dir / "mail",
        webhooks=webhooks,
        api_keys={t: secrets[api_key_variable(t)] for t in tenants},
        hook_secrets={t: secrets.get(hook_secret_variable(t), "") for t in tenants},
    )


async def _play(system: System, outlets: Outlets, secrets: dict[str, str], timeout_s: float) -> int:
    say("ready: " + ", ".join(f"{name} {url}" for name, url in system.urls.items()))
    planned = plan(datetime.now(UTC))
    async with EventLog(system.kafka(), [section.topic for section in SECTIONS]) as log:
        await _send(system.urls["ingest"], secrets, planned)
        say(f"waiting up to {timeout_s:.0f} s for the expected events")
        say(f"(demo-store expires unpaid orders after {DEMO_EXPIRY_S} s) ...")
        missing = await log.wait_for([s for s, _ in planned], timeout_s, system.check_alive)
        for scenario, _ in planned:
            print_timeline(log, scenario)
            say("\n".join(await outcome_lines(log, scenario, outlets)))
        say("\n".join(await reassignment_lines(system.urls, secrets, log, timeout_s)))
        say("\n".join(await refund_lines(system.urls, secrets, log, timeout_s)))
        say("\n".join(await payment_lines(system.urls, secrets, log, timeout_s)))
        say("\n".join(await orders_lines(system.urls, secrets, log, timeout_s)))
        say("\n".join(await segment_lines(system.urls, secrets, log, timeout_s)))
        say("\n".join(await tracking_lines(system.urls, log, timeout_s)))
    if not await play_recurring(system, secrets, timeout_s, say):
        return 1
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
            # Touchpoints first, as a click comes before the order (either order works).
            for touchpoint in scenario.touchpoints(start):
                await _post(client, key, "/v1/touchpoints", touchpoint)
            for report in scenario.reports(start):
                await _post(client, key, "/v1/orders", report)
    reports = sum(len(s.statuses) for s, _ in planned)
    touches = sum(len(s.touches) for s, _ in planned)
    say(f"sent {reports} reports to {ingest_url}/v1/orders and {touches} touchpoint(s)")


async def _post(client: httpx.AsyncClient, api_key: str, path: str, body: dict[str, Any]) -> None:
    headers = {"Authorization": f"Bearer {api_key}"}
    response = await client.post(path, json=body, headers=headers)
    if response.status_code != 202:
        what = f"{body['tenant']}/{body.get('order_id') or body.get('touchpoint_id')}"
        raise SystemFailed(f"POST {path} ({what}) answered {response.status_code}: {response.text}")


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
