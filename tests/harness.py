"""Running services in-process against the real stack, and reading/writing real topics."""

from __future__ import annotations

import asyncio
import importlib
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from orderflow.shared.cli import SERVICES
from orderflow.shared.envelope import Envelope
from orderflow.shared.service import Service
from orderflow.shared.settings import DatabaseSettings, KafkaSettings
from orderflow.shared.tenants import load_tenants

TEST_KEYS = {
    "shop": "shop-key-0123456789",
    "store": "store-key-0123456789",
    "other": "other-key-0123456789",
}

TENANTS_YAML = {
    "shop": "tenant: shop\nstatus_profile: loyalty\napi_keys: ['${SHOP_KEY}']\n",
    "store": "tenant: store\nstatus_profile: store\napi_keys: ['${STORE_KEY}']\nexpiry: {pending_payment: 3s}\n",
    "other": "tenant: other\nstatus_profile: affiliate\napi_keys: [{key: '${OTHER_KEY}', scopes: ['touchpoints:write']}]\n",
}


def write_tenants(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in TENANTS_YAML.items():
        (directory / f"{name}.yaml").write_text(text)
    return directory


def tenant_env() -> dict[str, str]:
    return {f"{name.upper()}_KEY": key for name, key in TEST_KEYS.items()}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def kafka_settings(env: Mapping[str, str]) -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers=env["KAFKA_BOOTSTRAP_SERVERS"],
        enable_idempotence=False,
        topic_prefix=env["KAFKA_TOPIC_PREFIX"],
    )


def build_service(
    name: str,
    env: Mapping[str, str],
    tenants_dir: Path,
    tenant_vars: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Service:
    """`tenant_vars` adds to the ${NAME} values the tenant files may use (tenant_env())."""
    module = importlib.import_module(f"orderflow.services.{SERVICES[name]}.app")
    settings = module.SETTINGS(http_port=free_port(), tenants_dir=str(tenants_dir), **overrides)
    return Service(
        module.NAME,
        module.MIGRATIONS,
        module.build,
        settings=settings,
        kafka=kafka_settings(env),
        db=DatabaseSettings.model_validate({"DATABASE_URL": env["DATABASE_URL"]}),
        tenants=load_tenants(tenants_dir, env={**tenant_env(), **(tenant_vars or {})}),
    )


@asynccontextmanager
async def running(
    name: str,
    env: Mapping[str, str],
    tenants_dir: Path,
    tenant_vars: Mapping[str, str] | None = None,
    **overrides: Any,
) -> AsyncIterator[Service]:
    service = build_service(name, env, tenants_dir, tenant_vars, **overrides)
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


class TopicReader:
    """Reads a whole topic from the beginning, without a consumer group (assigns every partition)."""

    def __init__(self, env: Mapping[str, str], topic: str) -> None:
        self._kafka = kafka_settings(env)
        self.topic = self._kafka.topic(topic)
        self.records: list[tuple[bytes | None, bytes]] = []
        self.headers: list[dict[str, bytes]] = []  # each record's, in the order of `records`
        self.partitions: list[int] = []  # each record's partition, in the order of `records`
        self._consumer: AIOKafkaConsumer | None = None

    async def __aenter__(self) -> TopicReader:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._kafka.bootstrap_servers, enable_auto_commit=False
        )
        await self._consumer.start()
        partitions = await _partitions(self._consumer, self.topic)
        tps = [TopicPartition(self.topic, p) for p in partitions]
        self._consumer.assign(tps)
        await self._consumer.seek_to_beginning(*tps)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._consumer is not None
        await self._consumer.stop()

    async def read_until(
        self, done: Callable[[list[Envelope]], bool], timeout: float = 30.0
    ) -> list[Envelope]:
        assert self._consumer is not None
        deadline = time.monotonic() + timeout
        while not done(self.envelopes()) and time.monotonic() < deadline:
            batches = await self._consumer.getmany(timeout_ms=200)
            for records in batches.values():
                self.records.extend((r.key, r.value) for r in records)
                self.headers.extend(dict(r.headers) for r in records)
                self.partitions.extend(r.partition for r in records)
        return self.envelopes()

    async def settle(self, seconds: float = 2.0) -> list[Envelope]:
        """Keep reading for a while, so that a duplicate would have shown up."""
        return await self.read_until(lambda _: False, timeout=seconds)

    def envelopes(self) -> list[Envelope]:
        return [Envelope.from_bytes(v) for _, v in self.records]


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> list[int]:
    for _ in range(50):
        parts = consumer.partitions_for_topic(topic)
        if parts:
            return sorted(parts)
        await consumer._client.force_metadata_update()
        await asyncio.sleep(0.1)
    raise AssertionError(f"topic {topic} does not exist")


@asynccontextmanager
async def producer(env: Mapping[str, str]) -> AsyncIterator[Callable[[str, str, Any], Any]]:
    kafka = kafka_settings(env)
    client = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
    await client.start()

    async def send(topic: str, key: str, value: Any) -> None:
        raw = value if isinstance(value, bytes) else json.dumps(value).encode()
        await client.send_and_wait(kafka.topic(topic), raw, key=key.encode())

    try:
        yield send
    finally:
        await client.stop()


def report(
    order_id: str, status: str, at: str, tenant: str = "shop", **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "tenant": tenant,
        "order_id": order_id,
        "status": status,
        "occurred_at": at,
    }
    body.update(extra)
    return body


def of_type(events: list[Envelope], type_: str, order_id: str | None = None) -> list[Envelope]:
    return [e for e in events if e.type == type_ and (order_id is None or e.order_id == order_id)]


async def eventually(
    check: Callable[[], Awaitable[bool]], what: str = "the condition", timeout: float = 60.0
) -> None:
    """Wait until `check()` is true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def blocked_on_lock(db: asyncpg.Connection, role: str, holder_pid: int) -> bool:
    """Whether a session of `role` in the test's database waits on a lock held by `holder_pid`.

    Naming the holder matters: a service's own concurrent transactions briefly wait on each
    other too, and a test that took any lock wait for its own would act too early.
    """
    waiting = await db.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND usename = $1 AND $2 = ANY(pg_blocking_pids(pid))",
        role,
        holder_pid,
    )
    return bool(waiting)
