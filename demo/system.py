"""A throwaway orderflow: embedded Postgres and broker in a temporary directory, free ports.

Used by the demo and the benchmark, so neither ever touches the data or the ports of a
running `make run`. Everything it started is stopped when the block ends, even on error.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from orderflow.shared.cli import SERVICES, infrastructure, start_services
from orderflow.shared.localstack import LocalStack, free_port
from orderflow.shared.settings import KafkaSettings
from orderflow.shared.supervisor import ChildExited, Supervisor

READY_TIMEOUT_S = 90.0


class SystemFailed(RuntimeError):
    """The throwaway system could not do its part; the message says what and why."""


@dataclass
class System:
    env: dict[str, str]
    urls: dict[str, str]
    supervisor: Supervisor
    work_dir: Path

    def kafka(self) -> KafkaSettings:
        """Client settings for this system's broker (no idempotent producer on Tansu)."""
        idempotence = self.env.get("KAFKA_ENABLE_IDEMPOTENCE", "true") == "true"
        return KafkaSettings(
            bootstrap_servers=self.env["KAFKA_BOOTSTRAP_SERVERS"], enable_idempotence=idempotence
        )

    def check_alive(self) -> None:
        """Raises SystemFailed, with the service's last output, if a service has died."""
        for name, code in self.supervisor.exited().items():
            tail = self.supervisor.tail(name)
            raise SystemFailed(f"{name} exited with code {code}; its last output:\n{tail}")


@contextlib.asynccontextmanager
async def running_system(
    work_dir: Path,
    service_env: Mapping[str, str],
    services: Iterable[str] = tuple(SERVICES),
) -> AsyncIterator[System]:
    """The stack, and `services` as child processes, all ready; `service_env` goes to each."""
    stack = LocalStack(work_dir / "stack")  # no ports given: free ones are picked
    async with infrastructure(stack) as env:
        supervisor = Supervisor(work_dir / "logs")
        try:
            ports = {name: free_port() for name in services}
            urls = start_services(supervisor, {**env, **service_env}, ports)
            await _wait_ready(supervisor, urls)
            yield System(env, urls, supervisor, work_dir)
        finally:
            supervisor.stop_all()


async def _wait_ready(supervisor: Supervisor, urls: Mapping[str, str]) -> None:
    probes = {name: f"{url}/readyz" for name, url in urls.items()}
    try:
        await supervisor.wait_ready(probes, READY_TIMEOUT_S)
    except ChildExited as exc:
        raise SystemFailed(f"{exc}; its last output:\n{exc.tail}") from exc
    except TimeoutError as exc:
        raise SystemFailed(str(exc)) from exc
