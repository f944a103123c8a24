"""Session-wide Postgres and Kafka (see tests/infra.py), and a fresh slice of them per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from orderflow.shared.cli import SERVICES
from tests.infra import Infra, fresh_environment, open_infra


@pytest.fixture(scope="session")
def infra(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Infra]:
    with open_infra(tmp_path_factory.mktemp("localstack")) as started:
        yield started


@pytest.fixture
async def stack_env(infra: Infra) -> AsyncIterator[dict[str, str]]:
    """Env vars of a fresh provisioned database and a unique, created set of topics."""
    async with fresh_environment(infra, tuple(SERVICES)) as env:
        yield env
