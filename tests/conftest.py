"""Session-wide Postgres and Kafka (see tests/infra.py), and a fresh slice of them per test."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from orderflow.shared.cli import SERVICES
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
