"""`orderflow import orders FILE --tenant T`: reports from a CSV or `.jsonl` file (CONTRACTS §12).

A CSV has a header of §3.1 field names (`tenant` may be left out); `items`, `customer`,
`contributors`, `metadata`, `shipping` (and `discounts`, `payment`, `recurring`) are JSON
cells. Every row is validated as ingest validates a report; rows that fail are written to
`<stem>.errors.csv` beside the file (`line, path, message`; the header is line 1), the rest
are stored by ingest's own path and published on ingest.reports.v1 by ingest's relay.
Importing the same file twice adds nothing (duplicates). Exit 0 when every row went in,
1 otherwise, 2 when nothing could be imported (unknown tenant, unreadable file).
`--workers N` processes share the file by order id (one order's rows stay in order).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
from pathlib import Path
from typing import Any

from tqdm import tqdm

from orderflow.shared.cli_env import connect, described, quiet_logs, tenant_registry


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("import", help="import order reports from a file")
    kinds = parser.add_subparsers(dest="kind", required=True)
    orders = kinds.add_parser(
        "orders",
        help="a CSV (header of §3.1 fields) or .jsonl file of order reports",
        **described(__doc__),
    )
    orders.add_argument("file", type=Path, help="a .csv or .jsonl file")
    orders.add_argument("--tenant", required=True, help="the tenant the reports belong to")
    orders.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes sharing the file (default 1; more pays only with idle cores: each"
        " starts its own interpreter and reads the whole file)",
    )
    orders.set_defaults(run=_run)


def _rows_in(path: Path) -> int:
    with path.open("rb") as file:
        lines = sum(1 for _ in file)
    return lines if path.suffix.lower() == ".jsonl" else max(0, lines - 1)


async def _shard(path: Path, tenant: str, shard: tuple[int, int], progress: Any) -> dict[str, Any]:
    # The operator's CLI is a composition root, like a service's app.py: it runs ingest's
    # own import code (the same as the FTP drop's), imported only when this command runs.
    from orderflow.services.ingest.importer import import_file

    tenants = tenant_registry()
    async with connect("ingest") as conn:
        result, errors = await import_file(
            conn, tenants, path, tenant, progress=progress, shard=shard, judge_in_process=True
        )
    return {"result": result, "errors": errors}


def _worker(path: Path, tenant: str, shard: tuple[int, int], queue: Any) -> None:
    quiet_logs()
    try:
        outcome = asyncio.run(_shard(path, tenant, shard, lambda n: queue.put(("rows", n))))
        queue.put(("done", outcome))
    except Exception as exc:  # told to the parent, which exits naming it
        queue.put(("failed", f"{type(exc).__name__}: {exc}"))


async def _in_workers(
    path: Path, tenant: str, workers: int, bar: tqdm[Any]
) -> list[dict[str, Any]]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [
        context.Process(target=_worker, args=(path, tenant, (k, workers), queue))
        for k in range(workers)
    ]
    for process in processes:
        process.start()
    outcomes: list[dict[str, Any]] = []
    failures: list[str] = []
    while len(outcomes) + len(failures) < workers:
        kind, value = await asyncio.to_thread(queue.get)
        if kind == "rows":
            bar.update(value)
        else:
            (outcomes if kind == "done" else failures).append(value)
    for process in processes:
        await asyncio.to_thread(process.join)
    if failures:
        raise RuntimeError("; ".join(sorted(set(failures))))
    return outcomes


async def _run(args: argparse.Namespace) -> int:
    from orderflow.services.ingest.import_rows import write_errors
    from orderflow.services.ingest.importer import ImportResult, UnknownTenant, errors_file

    path: Path = args.file
    if not await asyncio.to_thread(path.is_file):
        print(f"orderflow import: {path}: no such file", file=sys.stderr)
        return 2
    try:
        tenant_registry().get(args.tenant)
    except UnknownTenant as exc:
        print(f"orderflow import: --tenant: {exc}", file=sys.stderr)
        return 2
    with tqdm(total=_rows_in(path), unit="rows", file=sys.stderr, disable=None) as bar:
        if args.workers > 1:
            outcomes = await _in_workers(path, args.tenant, args.workers, bar)
        else:
            outcomes = [await _shard(path, args.tenant, (0, 1), bar.update)]
    results: list[ImportResult] = [o["result"] for o in outcomes]
    errors = sorted((e for o in outcomes for e in o["errors"]), key=lambda e: e.line)
    result = ImportResult(
        *(
            sum(getattr(r, f) for r in results)
            for f in ("rows", "accepted", "duplicates", "rejected")
        )
    )
    write_errors(errors_file(path), errors)
    print(
        f"{path}: rows={result.rows} accepted={result.accepted}"
        f" duplicates={result.duplicates} rejected={result.rejected}"
        + (f"; errors in {errors_file(path)}" if errors else "")
    )
    return 0 if result.rejected == 0 else 1
