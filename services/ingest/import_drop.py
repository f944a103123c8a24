"""The FTP drop's other half (CONTRACTS §12): ingest imports what lands in a tenant's folder.

Every `poll_s`, each `$ORDERFLOW_IMPORT_DIR/<tenant>/incoming/*.csv|*.jsonl` of a known
tenant, untouched for `settle_s` (an upload in progress keeps changing it; names starting
with `.` are skipped), is moved to `processing/`, imported exactly as `orderflow import
orders` does (channel `ftp`), then moved to `done/` with `<stem>.result.json` (`rows,
accepted, duplicates, rejected`) and `<stem>.errors.csv`. A file whose import failed for a
reason that may pass (the database down) goes back to `incoming/` and is tried again; files
left in `processing/` by a crash are too (importing twice adds nothing). One ingest replica
should watch a folder (ORDERFLOW_IMPORT_POLL_S=0 turns the watcher off).
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import json
import os
import time
from pathlib import Path

import asyncpg

from orderflow.services.ingest.import_rows import RowError, write_errors
from orderflow.services.ingest.importer import import_file
from orderflow.shared.errors import is_transient
from orderflow.shared.logging import get_logger
from orderflow.shared.tenants import TenantRegistry

log = get_logger(__name__)
SUFFIXES = (".csv", ".jsonl")


def due_files(root: Path, tenants: TenantRegistry, settle_s: float) -> list[tuple[str, Path]]:
    """(tenant, file) of every upload that has settled, oldest first."""
    found = []
    for tenant in tenants.tenants():
        incoming = root / tenant / "incoming"
        if not incoming.is_dir():
            continue
        for file in incoming.iterdir():
            with contextlib.suppress(FileNotFoundError):
                stat = file.stat()
                if (
                    file.is_file()
                    and not file.name.startswith(".")
                    and time.time() - stat.st_mtime >= settle_s
                ):
                    found.append((stat.st_mtime, tenant, file))
    return [(tenant, file) for _, tenant, file in sorted(found)]


def recover(root: Path) -> None:
    """Files a crash left in processing/ go back to incoming/."""
    for left in root.glob("*/processing/*"):
        os.replace(left, left.parent.parent / "incoming" / left.name)


async def import_one(pool: asyncpg.Pool, tenants: TenantRegistry, tenant: str, file: Path) -> None:
    home = file.parent.parent
    processing, done = home / "processing" / file.name, home / "done"
    processing.parent.mkdir(exist_ok=True)
    done.mkdir(exist_ok=True)
    try:
        os.replace(file, processing)  # another watcher took it first: FileNotFoundError
    except FileNotFoundError:
        return
    outcome: dict[str, object]
    errors: list[RowError] = []
    if file.suffix.lower() not in SUFFIXES:
        outcome = {
            "rows": 0,
            "accepted": 0,
            "duplicates": 0,
            "rejected": 0,
            "error": "not a .csv or .jsonl file",
        }
    else:
        try:
            async with pool.acquire() as conn:
                result, errors = await import_file(conn, tenants, processing, tenant, channel="ftp")
            outcome = json.loads(result.to_json())
        except (UnicodeDecodeError, csv.Error) as exc:  # what was committed before stays
            outcome = {
                "rows": 0,
                "accepted": 0,
                "duplicates": 0,
                "rejected": 0,
                "error": f"cannot be read: {exc}",
            }
        except Exception as exc:
            if is_transient(exc):
                os.replace(processing, file)  # tried again at the next poll
                log.warning("import_drop_retry", tenant=tenant, error_type=type(exc).__name__)
                return
            log.exception("import_drop_failed", tenant=tenant)  # a bad file never stops ingest
            outcome = {
                "rows": 0,
                "accepted": 0,
                "duplicates": 0,
                "rejected": 0,
                "error": type(exc).__name__,
            }
    write_errors(done / f"{file.stem}.errors.csv", errors)
    (done / f"{file.stem}.result.json").write_text(json.dumps(outcome) + "\n")
    os.replace(processing, done / file.name)
    log.info(
        "import_drop_done", tenant=tenant, **{k: v for k, v in outcome.items() if k != "error"}
    )


async def watch(
    stop: asyncio.Event,
    *,
    pool: asyncpg.Pool,
    tenants: TenantRegistry,
    root: Path,
    poll_s: float,
    settle_s: float = 1.0,
) -> None:
    if poll_s <= 0:
        return
    recover(root)  # the folder may not exist yet: the FTP server or an operator makes it
    while not stop.is_set():
        for tenant, file in due_files(root, tenants, settle_s):
            await import_one(pool, tenants, tenant, file)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), poll_s)
