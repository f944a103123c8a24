"""Judging an import's rows in a process of its own gives what judging them in a thread gives,
chunk for chunk, and a reading error, a dead child or a caller that stops early are handled."""

from __future__ import annotations

import asyncio
import csv
import json
import os
import signal
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from multiprocessing.process import BaseProcess
from pathlib import Path

import pytest

from orderflow.services.ingest import import_judging
from orderflow.services.ingest.import_judging import Chunk, Job, chunks
from orderflow.shared.tenants import TenantConfig, TenantRegistry

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TENANTS = TenantRegistry([TenantConfig(tenant="t", status_profile="loyalty")])
HEADER = ["order_id", "status", "occurred_at", "amount", "currency", "items"]
ITEMS = json.dumps([{"sku": "s", "quantity": 1, "unit_price": "2.50"}])


def _file(path: Path, rows: int) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for n in range(rows):
            amount = "-1" if n % 7 == 3 else "2.50"  # every 7th row is rejected
            writer.writerow([f"o-{n}", "OK", "2026-11-30T12:00:00+00:00", amount, "EUR", ITEMS])
    return path


async def _all(job: Job, in_process: bool) -> list[Chunk]:
    async with chunks(job, in_process=in_process) as judged:
        return [chunk async for chunk in judged]


def _watch_children(monkeypatch: pytest.MonkeyPatch) -> list[BaseProcess]:
    """The judging processes `chunks` starts, as it starts them."""
    children: list[BaseProcess] = []
    real = import_judging._received

    def watched(queue: object, child: BaseProcess) -> AsyncIterator[Chunk]:
        children.append(child)
        return real(queue, child)

    monkeypatch.setattr(import_judging, "_received", watched)
    return children


def test_a_judging_process_gives_the_chunks_a_thread_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_judging, "CHUNK_ROWS", 40)  # the forked child inherits it
    job = Job(_file(tmp_path / "o.csv", 250), "t", TENANTS, NOW, (0, 1))
    in_thread = asyncio.run(_all(job, in_process=False))
    in_child = asyncio.run(_all(job, in_process=True))
    assert [c.rows for c in in_child] == [40] * 6 + [10]
    assert in_child == in_thread
    assert sum(len(c.reports) for c in in_child) + sum(len(c.errors) for c in in_child) == 250
    assert [e.line for c in in_child for e in c.errors] == [n + 2 for n in range(3, 250, 7)]


def test_a_reading_error_in_the_child_is_raised_as_itself(tmp_path: Path) -> None:
    path = _file(tmp_path / "o.csv", 3)
    path.write_bytes(path.read_bytes() + b"o-9,OK,\xff\xfe\n")
    job = Job(path, "t", TENANTS, NOW, (0, 1))
    with pytest.raises(UnicodeDecodeError):
        asyncio.run(_all(job, in_process=True))


def test_a_child_that_dies_is_an_error_naming_its_exit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def dying(job: Job, queue: object) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    monkeypatch.setattr(import_judging, "_judge_file", dying)
    job = Job(_file(tmp_path / "o.csv", 3), "t", TENANTS, NOW, (0, 1))
    with pytest.raises(RuntimeError, match="exited with code -9"):
        asyncio.run(_all(job, in_process=True))


def test_a_caller_that_stops_early_leaves_no_child(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_judging, "CHUNK_ROWS", 10)
    job = Job(_file(tmp_path / "o.csv", 500), "t", TENANTS, NOW, (0, 1))
    children = _watch_children(monkeypatch)

    async def first_only() -> Chunk:
        async with chunks(job, in_process=True) as judged:
            async for chunk in judged:
                return chunk
        raise AssertionError("no chunk")

    assert asyncio.run(first_only()).rows == 10
    [child] = children
    assert not child.is_alive()


def test_ctrl_c_in_the_child_is_left_to_its_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The terminal's interrupt reaches the child too; the parent decides (here it goes on)."""
    monkeypatch.setattr(import_judging, "CHUNK_ROWS", 10)  # 50 chunks: the child waits on 4
    job = Job(_file(tmp_path / "o.csv", 500), "t", TENANTS, NOW, (0, 1))
    children = _watch_children(monkeypatch)

    async def interrupted() -> list[Chunk]:
        got: list[Chunk] = []
        async with chunks(job, in_process=True) as judged:
            async for chunk in judged:
                if not got:
                    pid = children[0].pid
                    assert pid is not None and pid != os.getpid()
                    for _ in range(2):  # asyncio.run's handler raises at the second
                        os.kill(pid, signal.SIGINT)
                        await asyncio.sleep(0.2)
                got.append(chunk)
        return got

    assert sum(chunk.rows for chunk in asyncio.run(interrupted())) == 500
