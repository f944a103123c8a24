"""asyncpg pool per service, and numbered SQL migrations applied once.

Each service logs in as its own role and works in its own schema: the pool sets
`search_path` to that schema, so service SQL is unqualified and cannot wander.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import asyncpg

from orderflow.shared.logging import get_logger

log = get_logger(__name__)

SHARED_MIGRATIONS = Path(__file__).parent / "migrations"
_NUMBERED = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


async def create_pool(dsn: str, schema: str, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        server_settings={"search_path": schema, "application_name": f"orderflow-{schema}"},
        command_timeout=30,
        reset=keep_session,
    )
    assert pool is not None
    return pool


async def keep_session(conn: asyncpg.Connection) -> None:
    """What the pool runs on a connection given back, after asyncpg has rolled back an open
    transaction and dropped its listeners: nothing more. asyncpg's default reset (unlock all
    advisory locks, CLOSE ALL, UNLISTEN *, RESET ALL) is one more round trip per request, and
    there is nothing for it to undo: pooled work takes only transaction-scoped advisory locks,
    never LISTENs, SETs a session variable or holds a cursor past its transaction
    (tests/unit/test_pool_session_state.py checks the source; the relay, the provisioner and
    the outbox CLI do such things on connections of their own, never a pooled one)."""


def migration_files(directories: Sequence[Path]) -> list[tuple[str, Path]]:
    """(version, file) in apply order: the shared mechanism tables first, then the service's."""
    found: list[tuple[str, Path]] = []
    for directory in directories:
        prefix = "shared" if directory == SHARED_MIGRATIONS else "service"
        for file in sorted(directory.glob("*.sql")):
            if not _NUMBERED.match(file.name):
                raise ValueError(f"migration {file} is not named NNNN_name.sql")
            found.append((f"{prefix}:{file.stem}", file))
    return found


async def migrate(conn: asyncpg.Connection, schema: str, directories: Sequence[Path]) -> list[str]:
    """Apply the migrations not yet recorded; returns the versions applied now.

    A transaction-scoped advisory lock makes replicas that start together take turns: the
    second one waits, then finds everything recorded and applies nothing.
    """
    applied_now: list[str] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"migrate:{schema}")
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for version, file in migration_files(directories):
            if version in done:
                continue
            await conn.execute(file.read_text())
            await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
            applied_now.append(version)
    if applied_now:
        log.info("migrations_applied", schema=schema, versions=applied_now)
    return applied_now
