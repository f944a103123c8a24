"""`orderflow status`: each service's readiness, consumer lag, outbox backlog and dead letters.

The process table of a running `orderflow run` (pid, restarts) comes first when there is
one; then, found as the services find them (DATABASE_URL / KAFKA_*, else the local stack),
per service: `/readyz`, how many records its consumers are behind (lag, from its /metrics), the
outbox rows not yet published and parked, and its dead letters (waiting / replayed).
Exit 0 when every service is ready, 1 when one is not, 3 when nothing is running here.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from prometheus_client.parser import text_string_to_metric_families

from orderflow.shared import dead_letter_store, outbox
from orderflow.shared.cli_env import NotFound, connect, described
from orderflow.shared.keep_alive import status_lines
from orderflow.shared.service_registry import SERVICES, service_ports
from orderflow.shared.supervisor import http_status


@dataclass(frozen=True)
class Health:
    service: str
    ready: bool
    lag: int | None
    pending: int | None
    parked: int | None
    dead: tuple[int, int] | None

    def line(self, width: int) -> str:
        def shown(value: object) -> str:
            return "?" if value is None else str(value)

        dead = "?" if self.dead is None else f"{self.dead[0]}/{self.dead[1]}"
        ready = "ready" if self.ready else "NOT READY"
        return (
            f"{self.service.ljust(width)}{ready:<11}{shown(self.lag):>8}{shown(self.pending):>9}"
            f"{shown(self.parked):>8}  {dead}"
        )


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "status",
        help="readiness, consumer lag, outbox backlog and dead letters of each service",
        **described(__doc__),
    )
    parser.set_defaults(run=status_command)


async def lag(url: str) -> int | None:
    """The service's own view (`orderflow_consumer_lag` on /metrics, set after each batch):
    records behind the high watermarks, summed over its partitions."""
    import httpx  # here, not at the top: every other command starts without it (~60 ms)

    try:
        async with httpx.AsyncClient(timeout=2.0) as client:
            text = (await client.get(f"{url}/metrics")).text
    except httpx.HTTPError:
        return None
    total = None
    for family in text_string_to_metric_families(text):
        if family.name == "orderflow_consumer_lag":
            total = int(sum(sample.value for sample in family.samples))
    return total


async def _database(service: str) -> tuple[int | None, int | None, tuple[int, int] | None]:
    try:
        async with connect(service) as conn:
            pending, parked = await outbox.backlog(conn)
            return pending, parked, await dead_letter_store.counts(conn)
    except (NotFound, OSError, asyncpg.PostgresError):  # not reachable, or not migrated yet
        return None, None, None


async def health(urls: dict[str, str]) -> list[Health]:
    ready = await asyncio.gather(*(http_status(f"{urls[s]}/readyz") for s in SERVICES))
    lags = await asyncio.gather(*(lag(urls[s]) for s in SERVICES))
    stored = await asyncio.gather(*(_database(s) for s in SERVICES))
    return [
        Health(s, code == 200, behind, *db)
        for s, code, behind, db in zip(SERVICES, ready, lags, stored, strict=True)
    ]


def _urls(status_file: Path) -> dict[str, str]:
    """Where `orderflow run` said the services are, else where it puts them."""
    base = int(os.environ.get("ORDERFLOW_HTTP_PORT", "8080"))
    urls = {s: f"http://127.0.0.1:{p}" for s, p in service_ports(base).items()}
    with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
        urls |= {s["name"]: s["url"] for s in json.loads(status_file.read_text())["services"]}
    return urls


async def status_command(_args: argparse.Namespace) -> int:
    data_dir = Path(os.environ.get("ORDERFLOW_DATA_DIR", ".data"))
    code, lines = await status_lines(data_dir / "status.json")
    if code != 3:
        print("\n".join(lines) + "\n")
    found = await health(_urls(data_dir / "status.json"))
    if code == 3 and not any(h.ready or h.pending is not None for h in found):
        print("\n".join(lines))
        return 3
    width = max(len(s) for s in SERVICES) + 2
    print(
        f"{'service'.ljust(width)}{'readiness':<11}{'lag':>8}{'outbox':>9}{'parked':>8}  dead letters (waiting/replayed)"
    )
    print("\n".join(h.line(width) for h in found))
    return 0 if all(h.ready for h in found) else 1
