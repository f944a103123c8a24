"""What the relay's integration tests share: ingest's outbox on a real connection, a started
broker and the relay over both."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import asyncpg

from orderflow.shared.db import SHARED_MIGRATIONS, migrate
from orderflow.shared.envelope import Envelope, new_event
from orderflow.shared.kafka import make_broker
from orderflow.shared.provision import role_name
from orderflow.shared.relay import OutboxRelay
from orderflow.shared.settings import DatabaseSettings, ServiceSettings
from tests.harness import kafka_settings


def event(order_id: str, n: int, padding: int = 0) -> Envelope:
    """The n-th status change of an order of tenant `shop` (key `shop:<order_id>`)."""
    return new_event(
        type="order.status_changed",
        tenant="shop",
        order_id=order_id,
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        causation_id=f"c-{order_id}-{n}",
        correlation_id="c",
        data={"n": n, "padding": "x" * padding},
    )


async def connect(env: dict[str, str]) -> asyncpg.Connection:
    """ingest's role on ingest's schema, its outbox migrated."""
    db = DatabaseSettings.model_validate({"DATABASE_URL": env["DATABASE_URL"]})
    conn = await asyncpg.connect(
        db.dsn_for_role(role_name("ingest")), server_settings={"search_path": "ingest"}
    )
    await migrate(conn, "ingest", [SHARED_MIGRATIONS])
    return conn


@asynccontextmanager
async def ingest_relay(
    env: dict[str, str],
) -> AsyncIterator[tuple[asyncpg.Connection, OutboxRelay]]:
    """ingest's outbox connection and a relay over a started broker; both closed after."""
    conn = await connect(env)
    kafka = kafka_settings(env)
    broker = make_broker(kafka, client_id="relay-test", graceful_timeout_s=1.0)
    await broker.start()
    try:
        yield conn, OutboxRelay("ingest", None, broker, kafka, ServiceSettings())
    finally:
        await broker.stop()
        await conn.close()
