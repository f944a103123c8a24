"""Handler-layer tests: a service's batch handlers on a real connection, without a broker."""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import asyncpg
from aiokafka import ConsumerRecord

from orderflow.shared.cli import SERVICES
from orderflow.shared.db import SHARED_MIGRATIONS, create_pool, migrate
from orderflow.shared.provision import role_name, schema_name
from orderflow.shared.runner import Record
from orderflow.shared.settings import DatabaseSettings


async def connect_service(env: dict[str, str], service: str) -> asyncpg.Connection:
    """A connection as the service's own role, in its schema, with its migrations applied."""
    db = DatabaseSettings.model_validate({"DATABASE_URL": env["DATABASE_URL"]})
    schema = schema_name(service)
    conn = await asyncpg.connect(
        db.dsn_for_role(role_name(service)), server_settings={"search_path": schema}
    )
    app: Any = importlib.import_module(f"orderflow.services.{SERVICES[service]}.app")
    await migrate(conn, schema, [SHARED_MIGRATIONS, app.MIGRATIONS])
    return conn


@asynccontextmanager
async def service_connection(
    env: dict[str, str], service: str
) -> AsyncIterator[asyncpg.Connection]:
    """`connect_service`, closed afterwards: a test module's `conn` fixture."""
    conn = await connect_service(env, service)
    try:
        yield conn
    finally:
        await conn.close()


@asynccontextmanager
async def service_pool(env: dict[str, str], service: str) -> AsyncIterator[asyncpg.Pool]:
    """The service's own pool (its role, its schema, as `shared/db.py` opens it), migrated."""
    await (await connect_service(env, service)).close()
    db = DatabaseSettings.model_validate({"DATABASE_URL": env["DATABASE_URL"]})
    pool = await create_pool(db.dsn_for_role(role_name(service)), schema_name(service))
    try:
        yield pool
    finally:
        await pool.close()


def records(
    topic: str, values: list[tuple[bytes | None, bytes]], partition: int = 0
) -> list[Record]:
    """`(key, value)` pairs as one partition's batch, in offset order."""
    return [
        ConsumerRecord(topic, partition, offset, 0, 0, key, value, None, 0, len(value), [])
        for offset, (key, value) in enumerate(values)
    ]


# asyncpg's own type introspection (once per connection and type), not the code's statements.
_INTROSPECTION = ("typeinfo_tree", "set_config('jit'")


class Statements:
    """The statements the code ran on a connection while counting (asyncpg's query logger)."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    def __call__(self, logged: Any) -> None:
        query = str(logged.query)
        if not any(marker in query for marker in _INTROSPECTION):
            self.queries.append(query)

    async def count(self) -> int:
        await asyncio.sleep(0)  # the logger is called with call_soon
        return len(self.queries)


@contextmanager
def counting(conn: asyncpg.Connection) -> Iterator[Statements]:
    statements = Statements()
    with conn.query_logger(statements):
        yield statements
