"""Where an import's rows are read, judged and prepared: a thread, or a process of its own.

Judging a row (reading it, validating it as any door would, making its report id, raw JSON
and `order.reported` event: `domain.prepared`) is pure Python, most of an import's work. In
a thread it shares the interpreter lock with the storing of the chunk before it, so the two
take turns; in a child process (`in_process=True`, what `orderflow import orders` does) it
runs on another core while the parent only stores. Either way chunks come out in the file's
order, CHUNK_ROWS rows at a time, and an error reading the file (bad UTF-8, broken CSV) is
raised to the caller as itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import queue as queues
import signal
import sys
import zlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from orderflow.services.ingest import domain
from orderflow.services.ingest.import_rows import RowError, judged, read_rows
from orderflow.shared.tenants import TenantRegistry

CHUNK_ROWS = 1000
QUEUED_CHUNKS = 4  # how far a judging process may run ahead of the storing


@dataclass
class Chunk:
    rows: int = 0
    reports: domain.Prepared = field(default_factory=domain.Prepared)
    errors: list[RowError] = field(default_factory=list)


@dataclass(frozen=True)
class Job:
    path: Path
    tenant: str
    tenants: TenantRegistry
    now: datetime  # the import's time of receipt
    shard: tuple[int, int]


def judge_chunk(rows: Iterator[tuple[int, object]], job: Job) -> Chunk:
    """The next CHUNK_ROWS rows of the job's shard, judged and prepared."""
    chunk, (k, n) = Chunk(), job.shard
    config = job.tenants.get(job.tenant)
    for line, row in rows:
        if n > 1 and _shard_of(row, n) != k:
            continue
        chunk.rows += 1
        outcome = judged(row, line, job.tenant, job.tenants, job.now)
        if isinstance(outcome, list):
            chunk.errors.extend(outcome)
        else:
            report, encoded = outcome
            chunk.reports.add(report, domain.category_of(config, report), job.now, encoded)
        if chunk.rows == CHUNK_ROWS:
            break
    return chunk


def _shard_of(row: object, shards: int) -> int:
    order_id = row.get("order_id") if isinstance(row, dict) else None
    return zlib.crc32(str(order_id).encode()) % shards if order_id is not None else 0


@contextlib.asynccontextmanager
async def chunks(job: Job, *, in_process: bool) -> AsyncIterator[AsyncIterator[Chunk]]:
    """The job's chunks, in order, until the file ends (the last one has rows)."""
    if in_process:
        async with _in_child(job) as judged_chunks:
            yield judged_chunks
    else:
        with job.path.open(encoding="utf-8", newline="") as file:
            yield _in_thread(read_rows(file, job.path.suffix.lower()), job)


async def _in_thread(rows: Iterator[tuple[int, object]], job: Job) -> AsyncIterator[Chunk]:
    while (chunk := await asyncio.to_thread(judge_chunk, rows, job)).rows:
        yield chunk


@contextlib.asynccontextmanager
async def _in_child(job: Job) -> AsyncIterator[AsyncIterator[Chunk]]:
    # Forked where that is safe (Linux): the child starts at once with every module already
    # imported, instead of a new interpreter importing them for half a second. It only
    # judges rows and puts chunks on its queue: it touches no inherited lock or socket.
    context = (
        multiprocessing.get_context("fork")
        if sys.platform == "linux"
        else multiprocessing.get_context("spawn")
    )
    queue: Any = context.Queue(QUEUED_CHUNKS)
    one_tenant = Job(
        job.path, job.tenant, TenantRegistry([job.tenants.get(job.tenant)]), job.now, job.shard
    )
    child = context.Process(target=_judge_file, args=(one_tenant, queue), daemon=True)
    child.start()
    try:
        yield _received(queue, child)
    finally:
        if child.is_alive():  # the caller stopped early: nothing more is wanted
            child.terminate()
        await asyncio.to_thread(child.join)
        queue.close()


async def _received(queue: Any, child: BaseProcess) -> AsyncIterator[Chunk]:
    while True:
        item = await asyncio.to_thread(_next, queue, child)
        if isinstance(item, BaseException):
            raise item
        if item is None:
            return
        yield item


def _next(queue: Any, child: BaseProcess) -> Chunk | BaseException | None:
    while True:
        try:
            item: Chunk | BaseException | None = queue.get(timeout=1.0)
            return item
        except queues.Empty:  # still judging, unless the child died
            if not child.is_alive() and queue.empty():
                return RuntimeError(f"the judging process exited with code {child.exitcode}")


def _judge_file(job: Job, queue: Any) -> None:
    """The child: every chunk of the file onto `queue`, then None (or the error)."""
    _leave_interrupts_to_the_parent()
    try:
        with job.path.open(encoding="utf-8", newline="") as file:
            rows = read_rows(file, job.path.suffix.lower())
            while (chunk := judge_chunk(rows, job)).rows:
                queue.put(chunk)
        queue.put(None)
    except Exception as exc:  # raised again in the parent, as itself
        queue.put(exc)


def _leave_interrupts_to_the_parent() -> None:
    """Ctrl-C reaches every process of the terminal's foreground group, the child too. Forked,
    the child has inherited the parent's asyncio handling of it: a handler that would act on
    a copy of the parent's loop, and the wakeup fd that writes into the parent's own loop. The
    child ignores the interrupt and writes nowhere; the parent stops it (`terminate`)."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
