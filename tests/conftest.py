"""Session-wide Postgres and Kafka (see tests/infra.py), and a fresh slice of them per test."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from orderflow.shared.cli import SERVICES
from orderflow.shared.supervisor import Supervisor
from tests.infra import Infra, fresh_environment, open_infra


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    # Its own directory, not pytest's basetemp: pytest keeps only the newest few basetemps,
    # so a second test run on the machine would delete this run's Postgres data under it.
    directory = Path(tempfile.mkdtemp(prefix="orderflow-test-stack-"))
    try:
        with open_infra(directory) as started:
            yield started
    finally:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
async def stack_env(infra: Infra) -> AsyncIterator[dict[str, str]]:
    """Env vars of a fresh provisioned database and a unique, created set of topics."""
    async with fresh_environment(infra, tuple(SERVICES)) as env:
        yield env


@pytest.fixture
async def db(stack_env: dict[str, str]) -> AsyncIterator[asyncpg.Connection]:
    """The test's own admin connection to the services' database."""
    conn = await asyncpg.connect(stack_env["DATABASE_URL"])
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
def supervisor(tmp_path: Path) -> Iterator[Supervisor]:
    """Services as processes; all stopped afterwards, their last lines shown on failure."""
    running = Supervisor(log_dir=tmp_path / "logs")
    try:
        yield running
    finally:
        running.stop_all()
        for name in running.names():
            print(f"--- {name}\n{running.tail(name, 20)}")
