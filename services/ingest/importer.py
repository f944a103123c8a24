"""Importing a file of reports through ingest's own path (CONTRACTS §12).

Valid rows go in chunks through `handlers.accept_reports`, the function behind HTTP and
Kafka: stored raw in ingest's schema under the same report ids, with their `order.reported`
events in the outbox in the same transaction, and ingest's relay publishes them. So nothing
downstream can tell an imported report from any other, and a second import of the same file
adds nothing (every row a duplicate). Used by `orderflow import orders` and the FTP drop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import asyncpg

from orderflow.services.ingest import handlers
from orderflow.services.ingest.import_rows import RowError, errors_file, judged, read_rows
from orderflow.services.ingest.reports import OrderReport
from orderflow.shared.envelope import utcnow
from orderflow.shared.logging import get_logger
from orderflow.shared.tenants import TenantRegistry, UnknownTenant

log = get_logger(__name__)
CHUNK_ROWS = 1000


@dataclass(frozen=True)
class ImportResult:
    rows: int
    accepted: int
    duplicates: int
    rejected: int

    def to_json(self) -> str:
        return json.dumps(asdict(self))


@dataclass
class _Chunk:
    rows: int = 0
    reports: list[OrderReport] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _judge_chunk(
    rows: Iterator[tuple[int, object]],
    tenant: str,
    tenants: TenantRegistry,
    now: datetime,
    shard: tuple[int, int],
) -> _Chunk:
    """The next CHUNK_ROWS rows of this shard, judged (run in a thread: see import_file)."""
    chunk = _Chunk()
    for line, row in rows:
        if shard[1] > 1 and _shard_of(row, shard[1]) != shard[0]:
            continue
        chunk.rows += 1
        outcome = judged(row, line, tenant, tenants, now)
        if isinstance(outcome, list):
            chunk.errors.extend(outcome)
        else:
            chunk.reports.append(outcome)
        if chunk.rows == CHUNK_ROWS:
            break
    return chunk


async def import_file(
    conn: asyncpg.Connection,
    tenants: TenantRegistry,
    path: Path,
    tenant: str,
    *,
    channel: str = "import",
    progress: Callable[[int], object] = lambda _rows: None,
    shard: tuple[int, int] = (0, 1),
) -> tuple[ImportResult, list[RowError]]:
    """Imports `path`; `progress(n)` after every chunk of n rows. Raises UnknownTenant.

    The next chunk is read and judged in a thread while the previous one is being stored,
    so the database works while Python validates, and the event loop of a service running
    this (the FTP drop) stays responsive. Chunks are stored one after the other, in order.
    `shard` (k, n): only the rows of the orders whose id hashes to k of n, so n processes
    can share a file; one order's rows stay in one shard, in the file's order.
    """
    tenants.get(tenant)
    now, errors = utcnow(), []
    counts = {"rows": 0, "accepted": 0, "duplicates": 0}
    storing: asyncio.Future[None] | None = None
    with path.open(encoding="utf-8", newline="") as file:
        async with _finishing(lambda: storing):
            rows = read_rows(file, path.suffix.lower())
            while True:
                judging = asyncio.to_thread(_judge_chunk, rows, tenant, tenants, now, shard)
                chunk = (
                    await judging
                    if storing is None
                    else (await asyncio.gather(judging, storing))[0]
                )
                if not chunk.rows:
                    break
                counts["rows"] += chunk.rows
                errors.extend(chunk.errors)
                storing = asyncio.ensure_future(
                    _accept(conn, tenants, chunk.reports, channel, counts)
                )
                progress(chunk.rows)
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


def _shard_of(row: object, shards: int) -> int:
    order_id = row.get("order_id") if isinstance(row, dict) else None
    return zlib.crc32(str(order_id).encode()) % shards if order_id is not None else 0


async def _accept(
    conn: asyncpg.Connection,
    tenants: TenantRegistry,
    reports: list[OrderReport],
    channel: str,
    counts: dict[str, int],
) -> None:
    if not reports:
        return
    async with conn.transaction():
        accepted = await handlers.accept_reports(conn, tenants, reports, channel)
    counts["duplicates"] += accepted.duplicates
    counts["accepted"] += len(accepted.ids) - accepted.duplicates


__all__ = ["ImportResult", "UnknownTenant", "errors_file", "import_file"]
