"""Importing a file of reports through ingest's own path (CONTRACTS §12).

Valid rows go in chunks through `handlers.accept_prepared`, the function behind HTTP and
Kafka: stored raw in ingest's schema under the same report ids, with their `order.reported`
events in the outbox in the same transaction, and ingest's relay publishes them. So nothing
downstream can tell an imported report from any other, and a second import of the same file
adds nothing (every row a duplicate). Used by `orderflow import orders` and the FTP drop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import asyncpg

from orderflow.services.ingest import handlers
from orderflow.services.ingest.import_judging import CHUNK_ROWS, Chunk, Job, chunks
from orderflow.services.ingest.import_rows import RowError, errors_file
from orderflow.shared.envelope import utcnow
from orderflow.shared.logging import get_logger
from orderflow.shared.tenants import TenantRegistry, UnknownTenant

log = get_logger(__name__)


@dataclass(frozen=True)
class ImportResult:
    rows: int
    accepted: int
    duplicates: int
    rejected: int

    def to_json(self) -> str:
        return json.dumps(asdict(self))


async def import_file(
    conn: asyncpg.Connection,
    tenants: TenantRegistry,
    path: Path,
    tenant: str,
    *,
    channel: str = "import",
    progress: Callable[[int], object] = lambda _rows: None,
    shard: tuple[int, int] = (0, 1),
    judge_in_process: bool = False,
) -> tuple[ImportResult, list[RowError]]:
    """Imports `path`; `progress(n)` after every chunk of n rows. Raises UnknownTenant.

    The next chunk is judged (`import_judging`: in a thread, or in a process of its own
    with `judge_in_process`) while the previous one is being stored, so the database works
    while Python validates. Chunks are stored one after the other, in order, each in its
    own transaction. `shard` (k, n): only the rows of the orders whose id hashes to k of n,
    so n processes can share a file; one order's rows stay in one shard, in the file's order.
    """
    tenants.get(tenant)
    now, errors = utcnow(), []
    counts = {"rows": 0, "accepted": 0, "duplicates": 0}
    storing: asyncio.Future[None] | None = None
    job = Job(path, tenant, tenants, now, shard)
    async with chunks(job, in_process=judge_in_process) as judged, _finishing(lambda: storing):
        async for chunk in judged:
            if storing is not None:
                await storing
            counts["rows"] += chunk.rows
            errors.extend(chunk.errors)
            storing = asyncio.ensure_future(_accept(conn, chunk, now, channel, counts))
            progress(chunk.rows)
        if storing is not None:
            await storing
    rejected = len({e.line for e in errors})
    result = ImportResult(counts["rows"], counts["accepted"], counts["duplicates"], rejected)
    log.info("import_done", tenant=tenant, channel=channel, shard=shard[0], **asdict(result))
    return result, errors


@contextlib.asynccontextmanager
async def _finishing(storing: Callable[[], asyncio.Future[None] | None]) -> AsyncIterator[None]:
    """A chunk still being stored when reading failed finishes before the connection is
    given back (the reading error is the one raised)."""
    try:
        yield
    finally:
        pending = storing()
        if pending is not None and not pending.done():
            with contextlib.suppress(Exception):
                await pending


async def _accept(
    conn: asyncpg.Connection, chunk: Chunk, now: datetime, channel: str, counts: dict[str, int]
) -> None:
    if not chunk.reports:
        return
    async with conn.transaction():
        accepted = await handlers.accept_prepared(conn, chunk.reports, channel, now)
    counts["duplicates"] += accepted.duplicates
    counts["accepted"] += len(accepted.ids) - accepted.duplicates


__all__ = ["CHUNK_ROWS", "ImportResult", "UnknownTenant", "errors_file", "import_file"]
