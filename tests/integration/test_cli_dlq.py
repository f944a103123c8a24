"""`orderflow dlq list|show|replay`: a record dead-lettered for a cause that is then fixed is
replayed to its original topic and has exactly one effect, however often it is replayed."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg
import pytest

from orderflow.shared import topics
from tests.cli_support import cli_env, orderflow
from tests.harness import TopicReader, eventually, of_type, producer, report, running, write_tenants

pytestmark = pytest.mark.integration
NEWCO_KEY = "newco-key-0123456789"


async def _dead_letters(db: asyncpg.Connection) -> list[asyncpg.Record]:
    return list(await db.fetch("SELECT * FROM ingest.dead_letters"))


async def test_unknown_tenant_dead_letter_replayed_after_the_tenant_is_added_has_one_effect(
    stack_env: dict[str, str], db: asyncpg.Connection, tmp_path: Path
) -> None:
    tenants_dir = write_tenants(tmp_path / "tenants")
    body = report(
        "n-1", "OK", "2026-12-01T10:00:00+00:00", tenant="newco", amount="10.00", currency="EUR"
    )
    async with running("ingest", stack_env, tenants_dir):
        async with producer(stack_env) as send:
            await send(topics.ORDERS_INBOUND, "newco:n-1", body)

        async def dead() -> bool:
            return len(await _dead_letters(db)) == 1

        await eventually(dead, "the unknown tenant's report to be dead-lettered")
    env = cli_env(stack_env, tenants_dir)
    listed = await orderflow(
        "dlq", "list", "--service", "ingest", "--error-type", "unknown_tenant", env=env
    )
    assert listed.returncode == 0, listed.stderr
    [letter] = await _dead_letters(db)
    assert letter["event_id"] in listed.stdout and "unknown_tenant" in listed.stdout
    assert "1 dead letter(s)" in listed.stdout
    shown = await orderflow("dlq", "show", "--service", "ingest", letter["event_id"], env=env)
    assert json.loads(json.loads(shown.stdout)["value"]["text"]) == body
    assert json.loads(shown.stdout)["topic"] == topics.ORDERS_INBOUND

    (tenants_dir / "newco.yaml").write_text("tenant: newco\napi_keys: ['${NEWCO_KEY}']\n")
    dry = await orderflow("dlq", "replay", "--service", "ingest", "--dry-run", env=env)
    assert "1 would be replayed" in dry.stdout
    assert (await _dead_letters(db))[0]["replayed_at"] is None

    async with running("ingest", stack_env, tenants_dir, tenant_vars={"NEWCO_KEY": NEWCO_KEY}):
        first = await orderflow("dlq", "replay", "--service", "ingest", env=env)
        second = await orderflow(
            "dlq", "replay", "--service", "ingest", letter["event_id"], env=env
        )
        assert "ingest: 1 replayed" in first.stdout, first.stdout + first.stderr
        assert "ingest: 0 replayed" in second.stdout
        async with TopicReader(stack_env, topics.ORDER_REPORTS) as reader:
            await reader.read_until(lambda es: bool(of_type(es, "order.reported", "n-1")))
            reported = of_type(await reader.settle(2.0), "order.reported", "n-1")
    assert len(reported) == 1 and reported[0].tenant == "newco"
    stored = await db.fetchval("SELECT count(*) FROM ingest.reports WHERE tenant = 'newco'")
    assert stored == 1
    assert len(await _dead_letters(db)) == 1  # it went in: no new dead letter
    assert (await _dead_letters(db))[0]["replayed_at"] is not None


async def test_dlq_names_an_unknown_service_and_a_missing_dead_letter(
    stack_env: dict[str, str], db: asyncpg.Connection, tmp_path: Path
) -> None:
    async with running("ingest", stack_env, write_tenants(tmp_path / "tenants")):
        pass  # migrations applied
    env = cli_env(stack_env)
    unknown = await orderflow("dlq", "list", "--service", "nope", env=env)
    assert unknown.returncode == 1 and "'nope' is not a service" in unknown.stderr
    missing = await orderflow("dlq", "show", "--service", "ingest", "no-such-id", env=env)
    assert missing.returncode == 1 and "no dead letter no-such-id" in missing.stdout
