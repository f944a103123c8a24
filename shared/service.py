"""Running one service: pool, migrations, topics, relay, consumers, HTTP, graceful stop.

Each service's `app.py` is its composition root: it says what to build (`build`) and this
module owns the order things start and stop in. SIGTERM stops fetching, lets the batch in
flight commit its database transaction and offsets, drains the outbox, and exits within
`shutdown_timeout_s` (under 10 s).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import uvicorn
from faststream.kafka import KafkaBroker
from starlette.routing import BaseRoute

from orderflow.shared import tenant_reload, tracing
from orderflow.shared.db import SHARED_MIGRATIONS, create_pool, migrate
from orderflow.shared.http import build_app
from orderflow.shared.kafka import make_broker, subscribe_batches
from orderflow.shared.kafka_admin import ensure_topics
from orderflow.shared.logging import configure_logging, get_logger
from orderflow.shared.provision import role_name, schema_name
from orderflow.shared.relay import OutboxRelay
from orderflow.shared.runner import ConsumerRunner, Handler
from orderflow.shared.settings import DatabaseSettings, KafkaSettings, ServiceSettings
from orderflow.shared.tenants import TenantConfigError, TenantRegistry, load_tenants
from orderflow.shared.topics import TopicSpec, dead_letter_topic

log = get_logger(__name__)


Loop = Callable[[asyncio.Event], Awaitable[None]]


@dataclass
class Components:
    """What a service contributes: handlers per logical topic, HTTP routes, background loops."""

    handlers: dict[str, Handler] = field(default_factory=dict)
    routes: Sequence[BaseRoute] = field(default_factory=list)
    loops: list[Loop] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)


@dataclass
class Runtime:
    """Resources a service's `build` may use: the pool, the tenants, the relay's wake-up."""

    name: str
    settings: ServiceSettings
    kafka: KafkaSettings
    db: DatabaseSettings
    tenants: TenantRegistry
    pool: asyncpg.Pool
    relay: OutboxRelay


Build = Callable[[Runtime], Components]


class Service:
    def __init__(
        self,
        name: str,
        migrations: Path,
        build: Build,
        *,
        settings: ServiceSettings,
        kafka: KafkaSettings | None = None,
        db: DatabaseSettings | None = None,
        tenants: TenantRegistry | None = None,
    ) -> None:
        self.name, self._migrations, self._build = name, migrations, build
        self.settings = settings
        self.kafka = kafka or KafkaSettings()
        self.db = db or DatabaseSettings()
        self._tenants = tenants
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._runner: ConsumerRunner | None = None
        self.broker: KafkaBroker | None = None
        self._joined = False
        self._topics: list[str] = []
        self._server: uvicorn.Server | None = None
        self._socket: socket.socket | None = None
        self.runtime: Runtime | None = None

    async def start(self) -> None:
        # Bind first: a port already in use fails start-up before anything else is opened.
        self._socket = bind_socket(self.settings.http_host, self.settings.http_port)
        tenants = self._tenants or load_tenants(self.settings.tenants_dir)
        schema = schema_name(self.name)
        dsn = self.db.dsn_for_role(role_name(self.name))
        pool = await create_pool(dsn, schema, self.db.pool_min, self.db.pool_max)
        async with pool.acquire() as conn:
            await migrate(conn, schema, [SHARED_MIGRATIONS, self._migrations])
        broker = self.broker = make_broker(
            self.kafka, client_id=self.name, graceful_timeout_s=self.settings.shutdown_timeout_s / 2
        )

        async def connect() -> asyncpg.Connection:
            return await asyncpg.connect(dsn, server_settings={"search_path": schema})

        relay = OutboxRelay(self.name, connect, broker, self.kafka, self.settings)
        self.runtime = Runtime(self.name, self.settings, self.kafka, self.db, tenants, pool, relay)
        parts = self._build(self.runtime)
        self._topics = sorted({*parts.topics, *parts.handlers, dead_letter_topic(self.name)})
        await ensure_topics(
            self.kafka, [TopicSpec(t, self.kafka.topic_partitions) for t in self._topics]
        )
        if parts.handlers:
            self._runner = self._make_runner(parts, pool, relay)
            subscribe_batches(
                broker,
                self.kafka,
                topics=self._runner.topics,
                group=self.name,
                max_records=self.settings.consumer_max_records,
                listener=self._runner.listener(),
                on_batch=self._runner.on_batch,
            )
        await broker.start()
        self._joined = True
        self._spawn(relay.run())
        for loop in parts.loops:
            self._spawn(loop(self._stopping))
        if self.settings.tenants_reload_s > 0:
            directory, poll = Path(self.settings.tenants_dir), self.settings.tenants_reload_s
            self._spawn(tenant_reload.watch(directory, tenants, self._stopping, poll))
        self._server = uvicorn.Server(
            uvicorn.Config(
                build_app(self.name, self._readiness, parts.routes, self.settings),
                host=self.settings.http_host,
                port=self.settings.http_port,
                log_level="warning",
                log_config=None,  # uvicorn's lines go through our JSON logging (shared/logging)
                lifespan="off",
                access_log=False,
                http=http_protocol(),
            )
        )
        self._spawn(self._server.serve(sockets=[self._socket]))
        # What start built (modules, app, pool, broker) lives as long as the process: out of
        # the collector's sight, a full collection scans only what came since. Unfrozen, it
        # scanned them all every second or so under HTTP load, 50-70 ms with the loop
        # stopped: the p99 of a busy service (docs/segments.md).
        gc.collect()
        gc.freeze()
        log.info("service_started", http_port=self.settings.http_port)

    def _make_runner(
        self, parts: Components, pool: asyncpg.Pool, relay: OutboxRelay
    ) -> ConsumerRunner:
        return ConsumerRunner(
            service=self.name,
            topic_of=self.kafka.topic,
            handlers=parts.handlers,
            pool=pool,
            after_commit=relay.wake,
            max_attempts=self.settings.poison_max_attempts,
            backoff_max_s=self.settings.retry_backoff_max_s,
        )

    def _spawn(self, coro: Awaitable[None]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        task.add_done_callback(self._on_task_done)
        self._tasks.append(task)
        return task

    def _on_task_done(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None and not self._stopping.is_set():
            log.error("service_task_crashed", error=repr(task.exception()))
            self._stopping.set()  # a crashed part makes the whole process exit; the orchestrator restarts it

    async def _readiness(self) -> dict[str, bool]:
        assert self.runtime is not None
        try:
            async with asyncio.timeout(1.0):
                database = await self.runtime.pool.fetchval("SELECT 1") == 1
        except Exception:
            database = False
        try:
            async with asyncio.timeout(1.0):
                assert self.broker is not None
                present = set(await self.broker.config.admin_client.list_topics())
            topics = {self.kafka.topic(t) for t in self._topics} <= present
        except Exception:
            topics = False
        return {
            "database": database,
            "migrations": True,
            "broker": topics and self._joined,  # reachable, and every topic of ours is there
            "publishing": self.runtime.relay.can_publish(),
        }

    def request_stop(self) -> None:
        self._stopping.set()

    async def wait(self) -> None:
        await self._stopping.wait()

    async def stop(self) -> None:
        """Consumers first (their last batch commits), then the relay drains, then the rest."""
        self._stopping.set()
        budget = self.settings.shutdown_timeout_s
        if self._runner:
            self._runner.stop()
        if self.broker is not None:
            # FastStream waits up to its graceful timeout (budget / 2) for the batch in flight.
            for subscriber in self.broker.subscribers:
                try:
                    await subscriber.stop()
                except Exception as exc:  # one that cannot stop must not keep the others' batches
                    log.warning("subscriber_stop_failed", error=f"{type(exc).__name__}: {exc}")
        if self.runtime:
            self.runtime.relay.stop()
        if self._server:
            self._server.should_exit = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*self._tasks, return_exceptions=True), budget / 2)
        for task in self._tasks:
            task.cancel()
        if self.broker is not None:
            with contextlib.suppress(Exception):
                await self.broker.stop()
        if self.runtime:
            await self.runtime.pool.close()
        if self._socket and not (self._server and self._server.started):
            self._socket.close()
        log.info("service_stopped")


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, not 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose
    # proto says TCP, and accepted sockets inherit it. Without it a kept-alive connection
    # waited ~40 ms per answer (Nagle holding the body behind the headers, delayed ACK).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


async def _serve(service: Service) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, service.request_stop)
    try:
        await service.start()
    except Exception as exc:  # the process exits either way; say why, close what opened
        print(f"orderflow {service.name}: cannot start: {exc!r}", file=sys.stderr)
        await service.stop()
        raise SystemExit(2) from exc
    await service.wait()
    await service.stop()


def main(name: str, migrations: Path, build: Build, settings: ServiceSettings) -> None:
    """Process entry point: `python -m orderflow.services.<name>`."""
    configure_logging(name, settings.log_level)
    tracing.configure(name)
    try:
        tenants = load_tenants(settings.tenants_dir)
    except TenantConfigError as exc:
        print(f"orderflow {name}: tenant configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    service = Service(name, migrations, build, settings=settings, tenants=tenants)
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(_serve(service))


def http_protocol() -> type[asyncio.Protocol] | str:
    """httptools' parser where it is installed (a runtime dependency), writing each response
    at once (shared/http_transport.py); else uvicorn's choice (h11)."""
    try:
        from orderflow.shared.http_transport import GatheringHttpToolsProtocol
    except ImportError:
        return "auto"
    return GatheringHttpToolsProtocol


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop where it is installed (a runtime dependency, not on Windows): the HTTP
    edge answers about twice as many requests a second on it; else asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
