"""`orderflow status` (readiness, lag, outbox backlog, dead letters per service) and
`orderflow orders show` (an order's timeline from the status-tracker's read API)."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict
from pathlib import Path

import asyncpg
import pytest

from orderflow.shared import topics
from orderflow.shared.keep_alive import ServiceState
from tests.cli_support import cli_env, orderflow
from tests.harness import (
    TopicReader,
    eventually,
    free_port,
    of_type,
    producer,
    report,
    running,
    write_tenants,
)

pytestmark = pytest.mark.integration


async def test_status_and_orders_show_on_running_services(
    stack_env: dict[str, str], db: asyncpg.Connection, tmp_path: Path
) -> None:
    tenants_dir = write_tenants(tmp_path / "tenants")
    async with (
        running("ingest", stack_env, tenants_dir) as ingest,
        running("status-tracker", stack_env, tenants_dir) as tracker,
        TopicReader(stack_env, topics.ORDERS_LIFECYCLE) as lifecycle,
    ):
        async with producer(stack_env) as send:
            await send(
                topics.ORDERS_INBOUND,
                "shop:s-1",
                report(
                    "s-1", "Pending", "2026-12-01T09:00:00+00:00", amount="5.00", currency="EUR"
                ),
            )
            await send(
                topics.ORDERS_INBOUND, "shop:s-1", report("s-1", "OK", "2026-12-01T10:00:00+00:00")
            )
            await send(topics.ORDERS_INBOUND, "shop:s-2", b"not json")
        await lifecycle.read_until(lambda es: bool(of_type(es, "order.confirmed", "s-1")))

        async def dead_lettered() -> bool:
            return bool(await db.fetchval("SELECT count(*) FROM ingest.dead_letters"))

        await eventually(dead_lettered, "the poison record to be dead-lettered")
        urls = {s.name: f"http://127.0.0.1:{s.settings.http_port}" for s in (ingest, tracker)}
        status_file = tmp_path / "data" / "status.json"  # as `orderflow run` writes it
        status_file.parent.mkdir()
        states = [
            asdict(ServiceState(name, url, os.getpid(), time.time())) for name, url in urls.items()
        ]
        status_file.write_text(json.dumps({"supervisor_pid": os.getpid(), "services": states}))
        env = cli_env(
            stack_env,
            tenants_dir,
            ORDERFLOW_DATA_DIR=str(tmp_path / "data"),
            ORDERFLOW_HTTP_PORT=str(free_port()),
        )

        status = await orderflow("status", env=env)
        shown = await orderflow(
            "orders", "show", "shop", "s-1", "--url", urls["status-tracker"], env=env
        )
        missing = await orderflow(
            "orders", "show", "shop", "nope", "--url", urls["status-tracker"], env=env
        )
    assert status.returncode == 1, status.stderr  # attribution, notifier, rewards are not running
    rows = {line.split()[0]: line.split() for line in status.stdout.splitlines()[-5:]}
    assert rows["ingest"][1:] == ["ready", "0", "0", "0", "1/0"]
    assert rows["status-tracker"][1] == "ready" and rows["status-tracker"][-1] == "0/0"
    assert rows["rewards"][1:3] == ["NOT", "READY"]
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[0].startswith("shop s-1: ")
    kinds = [line.split()[1] for line in shown.stdout.splitlines()[1:]]
    assert kinds.count("status") == 2 and "confirmed" in kinds
    assert missing.returncode == 1 and "404" in missing.stderr
