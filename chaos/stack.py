"""A throwaway orderflow for one scenario, and the levers the faults pull.

Like `demo.system.running_system` (embedded Postgres and broker in a temporary directory,
free ports, every service a child process), but it keeps the `LocalStack`, so a scenario
can stop Postgres, restart the broker, SIGKILL a service or start more replicas of one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import asyncpg

from orderflow.shared.cli import SERVICES, infrastructure, start_services
from orderflow.shared.kafka_admin import ensure_topics
from orderflow.shared.localstack import LocalStack, free_port
from orderflow.shared.settings import KafkaSettings
from orderflow.shared.supervisor import Supervisor
from orderflow.shared.topics import all_topics

READY_TIMEOUT_S = 120.0


@dataclass
class Stack:
    local: LocalStack
    env: dict[str, str]  # what every service gets: infrastructure's, tenants, secrets
    supervisor: Supervisor
    urls: dict[str, str]
    work_dir: Path
    replicas: list[Supervisor] = field(default_factory=list)
    unplanned_exits: list[dict[str, object]] = field(default_factory=list)
    _down: set[str] = field(default_factory=set)  # killed on purpose, not yet restarted
    _revivals: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def admin_dsn(self) -> str:
        return self.env["DATABASE_URL"]

    def kafka(self) -> KafkaSettings:
        idempotence = self.env.get("KAFKA_ENABLE_IDEMPOTENCE", "true") == "true"
        return KafkaSettings(
            bootstrap_servers=self.env["KAFKA_BOOTSTRAP_SERVERS"], enable_idempotence=idempotence
        )

    async def admin(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.admin_dsn)

    async def ready(self, name: str) -> None:
        probe = {name: f"{self.urls[name]}/readyz"}
        await self.supervisor.wait_ready(probe, READY_TIMEOUT_S)

    async def kill(self, name: str) -> None:
        """SIGKILL `name` and wait until it is gone; `restart` brings it back."""
        self._down.add(name)
        self.supervisor.kill(name, signal.SIGKILL)
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            if name in self.supervisor.exited():
                return
            await asyncio.sleep(0.02)
        raise RuntimeError(f"{name} still runs 10 s after SIGKILL")

    async def restart(self, name: str) -> None:
        """Start `name` again (as `orderflow run`'s keep-alive would) and wait until ready."""
        await asyncio.to_thread(self.supervisor.restart, name)
        self._down.discard(name)
        await self.ready(name)

    async def keep_alive(self) -> None:
        """Like `orderflow run`: a service that exits unasked is noted and started again."""
        while True:
            for name, code in self.supervisor.exited().items():
                if name not in self._down:
                    tail = self.supervisor.tail(name, 30)
                    self.unplanned_exits.append({"service": name, "code": code, "tail": tail})
                    self._down.add(name)
                    self._revivals.add(asyncio.create_task(self._revive(name)))
            await asyncio.sleep(0.5)

    async def _revive(self, name: str) -> None:
        await asyncio.sleep(1.0)  # the keep-alive's first backoff
        await asyncio.to_thread(self.supervisor.restart, name)
        self._down.discard(name)

    async def add_replica(self, service: str) -> Supervisor:
        """One more process of `service` (same group, same schema), ready; stop it to leave."""
        replica = Supervisor(self.work_dir / "logs" / f"{service}-{len(self.replicas) + 2}")
        self.replicas.append(replica)
        urls = start_services(replica, self.env, {service: free_port()})
        await replica.wait_ready({service: f"{urls[service]}/readyz"}, READY_TIMEOUT_S)
        return replica

    async def pause_postgres(self) -> None:
        await asyncio.to_thread(self.local.pause_postgres)

    async def resume_postgres(self) -> None:
        await asyncio.to_thread(self.local.resume_postgres)

    async def restart_broker(self) -> None:
        """A new, empty broker on the same port: every topic, record and offset is gone."""
        await asyncio.to_thread(self.local.restart_kafka)

    async def create_topics(self) -> None:
        """What `orderflow stack` does at start: every topic a running system needs."""
        kafka = self.kafka()
        await ensure_topics(kafka, all_topics(tuple(SERVICES), kafka.topic_partitions))

    async def resend(self, since: datetime) -> str:
        """`orderflow outbox resend --since` for every service, as README "Operating it" says."""
        command = [str(Path(sys.executable).parent / "orderflow"), "outbox", "resend"]
        process = await asyncio.create_subprocess_exec(
            *command, "--since", since.isoformat(),
            env={**os.environ, "DATABASE_URL": self.admin_dsn},
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await process.communicate()
        if process.returncode != 0:
            raise RuntimeError(f"orderflow outbox resend failed: {output.decode()}")
        return output.decode()

    def tails(self, lines: int = 15) -> str:
        return "\n".join(
            f"--- {name}\n{self.supervisor.tail(name, lines)}" for name in self.supervisor.names()
        )


@contextlib.asynccontextmanager
async def running_stack(work_dir: Path, service_env: Mapping[str, str]) -> AsyncIterator[Stack]:
    """A fresh durable stack in `work_dir` and all five services, ready."""
    local = LocalStack(work_dir / "stack")
    async with infrastructure(local) as infra_env:
        env = {**infra_env, **service_env}
        supervisor = Supervisor(work_dir / "logs")
        stack = Stack(local, env, supervisor, {}, work_dir)
        try:
            ports = {name: free_port() for name in SERVICES}
            stack.urls = start_services(supervisor, env, ports)
            probes = {name: f"{url}/readyz" for name, url in stack.urls.items()}
            await supervisor.wait_ready(probes, READY_TIMEOUT_S)
            watchdog = asyncio.create_task(stack.keep_alive())
            try:
                yield stack
            finally:
                watchdog.cancel()
        finally:
            for replica in stack.replicas:
                replica.stop_all()
            supervisor.stop_all()
