"""The broker loses everything mid-load; recovered the documented way, nothing is lost or doubled.

The local broker keeps topics in memory, so a restart is a total loss of topics, records
and committed offsets while Postgres keeps every service's state, inbox and outbox. README
"Operating it" says how to recover: create the topics again, then `orderflow outbox resend
--since <a time before the loss>`, which republishes what every outbox sent since then;
downstream inboxes absorb what they already had. All five services run as processes,
reports keep coming over HTTP while the broker is down, and at the end every report has
each of its effects (order.confirmed, order.attributed, commission.accrued,
notification.sent) exactly once: one event id per effect on the topics, before the loss and
after it, and one row per effect in the ledger and the notifications.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from chaos.load import order_ids, over_http
from chaos.observe import Observer
from chaos.scenarios import WATCHED, tenant_dir
from chaos.verdict import expected, judge
from orderflow.shared.cli import SERVICES
from orderflow.shared.kafka_admin import ensure_topics
from orderflow.shared.settings import KafkaSettings
from orderflow.shared.supervisor import Supervisor
from orderflow.shared.topics import all_topics
from tests.harness import eventually, free_port, kafka_settings
from tests.infra import Infra

pytestmark = pytest.mark.integration

API_KEY = "chaos-broker-restart-key-0123456789"
REPORTS = 300


def resend(database_url: str, since: datetime) -> str:
    """The operator's command, as documented, as a separate process."""
    orderflow = str(Path(sys.executable).parent / "orderflow")
    done = subprocess.run(
        [orderflow, "outbox", "resend", "--since", since.isoformat()],
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


async def where_they_are(db: asyncpg.Connection, order_ids: list[str]) -> dict[str, int]:
    """How far lost reports got: which services' tables hold them (for the failure message)."""
    tables = ("ingest.reports", "status_tracker.history", "attribution.orders", "rewards.ledger")
    found = {}
    for table in tables:
        query = f"SELECT count(DISTINCT order_id) FROM {table} WHERE order_id = ANY($1::text[])"
        found[table] = await db.fetchval(query, order_ids)
    return found


async def recreate_topics(kafka: KafkaSettings) -> None:
    await ensure_topics(kafka, all_topics(tuple(SERVICES), kafka.topic_partitions))


async def test_broker_restarted_mid_load_recovers_every_effect_exactly_once(
    infra: Infra, stack_env: dict[str, str], supervisor: Supervisor, db: asyncpg.Connection,
    tmp_path: Path,
) -> None:  # fmt: skip
    if infra.stack is None:
        pytest.skip("restarting the broker needs the embedded stack (no DATABASE_URL/KAFKA_*)")
    since = datetime.now(UTC) - timedelta(seconds=1)  # before anything was published
    env = {
        **stack_env,
        "CHAOS_API_KEY": API_KEY,
        "ORDERFLOW_TENANTS_DIR": str(tenant_dir(tmp_path)),
    }
    urls = {}
    for name, module in SERVICES.items():  # as tests/integration/test_crash_recovery.py does
        port = free_port()
        supervisor.start(
            name, f"orderflow.services.{module}", {**env, "ORDERFLOW_HTTP_PORT": str(port)}
        )
        urls[name] = f"http://127.0.0.1:{port}"
    await supervisor.wait_ready({n: f"{u}/readyz" for n, u in urls.items()}, timeout_s=120)
    kafka = kafka_settings(stack_env)
    async with Observer(kafka, WATCHED).running() as observer:
        load = asyncio.create_task(
            over_http(urls["ingest"], API_KEY, order_ids("b", REPORTS), 30, 10)
        )

        async def mid_load() -> bool:
            done = sum(kind == "notification.sent" for kind, _ in observer.seen)
            return done >= REPORTS // 10

        await eventually(mid_load, "a tenth of the reports through before the loss", 120)
        seen_before = len(observer.seen)
        assert not load.done(), "the broker is restarted mid-load"
        await asyncio.to_thread(infra.stack.restart_kafka)
        await recreate_topics(kafka)
        await observer.restart()
        output = await asyncio.to_thread(resend, stack_env["DATABASE_URL"], since)
        sent = await load
        missing = await observer.wait_for(expected(sent), 180)
        await observer.quiet(3.0)
        verdict = await judge(observer, sent, missing, db, None)
    assert len(sent.accepted_at) == REPORTS
    assert seen_before > 0 and all(int(line.split()[1]) > 0 for line in output.splitlines()), (
        f"sent rows were queued again by every service:\n{output}"
    )
    assert verdict.lost == [], f"{len(verdict.lost)} lost, e.g. {verdict.lost[:5]}; " + str(
        await where_they_are(db, [lost.split(":")[0] for lost in verdict.lost])
    )
    assert verdict.duplicates == [], f"duplicate effects: {verdict.duplicates[:5]}"
    ledger = await db.fetchval("SELECT count(*) FROM rewards.ledger WHERE kind = 'accrued'")
    assert ledger == REPORTS, "one accrual per report in the ledger"
