"""Importing a file of reports through ingest's own path (CONTRACTS §12).

Valid rows go in chunks through `handlers.accept_reports`, the function behind HTTP and
Kafka: stored raw in ingest's schema under the same report ids, with their `order.reported`
events in the outbox in the same transaction, and ingest's relay publishes them. So nothing
downstream can tell an imported report from any other, and a second import of the same file
adds nothing (every row a duplicate). Used by `orderflow import orders` and the FTP drop.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from dataclasses import asdict, dataclass
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

    `shard` (k, n): only the rows of the orders whose id hashes to k of n, so n processes
    can share a file; one order's rows stay in one shard, in the file's order.
    """
    tenants.get(tenant)
    now, errors = utcnow(), []
    counts = {"rows": 0, "accepted": 0, "duplicates": 0}
    chunk: list[OrderReport] = []
    with path.open(encoding="utf-8", newline="") as file:
        for line, row in read_rows(file, path.suffix.lower()):
            if shard[1] > 1 and _shard_of(row, shard[1]) != shard[0]:
                continue
            counts["rows"] += 1
            outcome = judged(row, line, tenant, tenants, now)
            if isinstance(outcome, list):
                errors.extend(outcome)
            else:
                chunk.append(outcome)
            if counts["rows"] % CHUNK_ROWS == 0:
                await _accept(conn, tenants, chunk, channel, counts)
                progress(CHUNK_ROWS)
                chunk = []
    await _accept(conn, tenants, chunk, channel, counts)
    progress(counts["rows"] % CHUNK_ROWS)
    rejected = len({e.line for e in errors})
    result = ImportResult(counts["rows"], counts["accepted"], counts["duplicates"], rejected)
    log.info("import_done", tenant=tenant, channel=channel, shard=shard[0], **asdict(result))
    return result, errors


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
