"""The outbox relay on the real broker: order, acknowledgement before marking, parking."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from orderflow.shared import outbox
from orderflow.shared.db import SHARED_MIGRATIONS, migrate
from orderflow.shared.envelope import Envelope, new_event
from orderflow.shared.kafka import make_broker
from orderflow.shared.provision import role_name
from orderflow.shared.relay import OutboxRelay
from orderflow.shared.settings import DatabaseSettings, ServiceSettings
from tests.harness import TopicReader, kafka_settings

pytestmark = pytest.mark.integration
TOPIC = "orders.lifecycle.v1"


def _event(order_id: str, n: int, padding: int = 0) -> Envelope:
    return new_event(
        type="order.status_changed",
        tenant="shop",
        order_id=order_id,
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        causation_id=f"c-{order_id}-{n}",
        correlation_id="c",
        data={"n": n, "padding": "x" * padding},
    )


async def _connect(env: dict[str, str]) -> asyncpg.Connection:
    db = DatabaseSettings.model_validate({"DATABASE_URL": env["DATABASE_URL"]})
    conn = await asyncpg.connect(
        db.dsn_for_role(role_name("ingest")), server_settings={"search_path": "ingest"}
    )
    await migrate(conn, "ingest", [SHARED_MIGRATIONS])
    return conn


async def test_rows_are_published_in_order_and_a_refused_row_is_parked_not_retried_forever(
    stack_env: dict[str, str],
) -> None:
    conn = await _connect(stack_env)
    kafka = kafka_settings(stack_env)
    broker = make_broker(kafka, client_id="relay-test", graceful_timeout_s=1.0)
    await broker.start()
    try:
        await outbox.enqueue(conn, TOPIC, _event("o-1", 1))
        await outbox.enqueue(
            conn, TOPIC, _event("o-1", 2, padding=2 * 1024 * 1024)
        )  # over the record limit
        await outbox.enqueue(conn, TOPIC, _event("o-1", 3))
        relay = OutboxRelay("ingest", None, broker, kafka, ServiceSettings())
        published = await relay.publish_once(conn)
        again = await relay.publish_once(conn)
        rows = await conn.fetch("SELECT sent_at, parked_at, error FROM outbox ORDER BY id")
    finally:
        await broker.stop()
        await conn.close()
    async with TopicReader(stack_env, TOPIC) as reader:
        events = await reader.read_until(lambda es: len(es) >= 2)
        events = await reader.settle(1.0)
    assert (published, again) == (2, 0), "the parked row is not tried again"
    assert [e.data["n"] for e in events] == [1, 3]
    assert rows[0]["sent_at"] and rows[2]["sent_at"] and rows[1]["sent_at"] is None
    assert rows[1]["parked_at"] is not None and "TooLarge" in rows[1]["error"]
