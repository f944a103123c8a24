"""`python -m demo` end to end: the seed scenarios' timelines, exit 0, nothing left running."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
_HEADER = re.compile(r"^== (\S+) / (\S+): ")
_WORK_DIR = re.compile(r" in (/\S+) \.\.\.$", re.MULTILINE)

Row = tuple[str, ...]


def timelines(output: str) -> dict[str, list[Row]]:
    """order id -> the (event, status, category, Has OK) rows printed under its header."""
    found: dict[str, list[Row]] = {}
    rows: list[Row] = []
    for line in output.splitlines():
        if header := _HEADER.match(line):
            rows = found.setdefault(header[2], [])
        elif re.match(r"^ {4}\d{4}-\d\d-\d\dT", line):
            # Columns are separated by at least two spaces; values hold at most one.
            rows.append(tuple(re.split(r" {2,}", line.strip())[1:]))
    return found


def processes_using(path: str) -> list[int]:
    pids = []
    for process in psutil.process_iter():
        try:
            text = " ".join(process.cmdline()) + " ".join(process.environ().values())
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        if path in text:
            pids.append(process.pid)
    return pids


def test_demo_prints_each_scenario_timeline_exits_0_and_leaves_nothing_running() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "demo"], cwd=ROOT, capture_output=True, text=True, timeout=280
    )

    assert result.returncode == 0, result.stdout + result.stderr
    orders = timelines(result.stdout)
    assert orders["L-1001"] == [
        ("status_changed", "Pending", "pending", "Never OK"),
        ("status_changed", "OK", "confirmed", "Has OK"),
        ("confirmed", "OK", "confirmed", "Has OK"),
        ("status_changed", "Cancelled", "cancelled", "Has OK"),
    ]
    assert orders["L-1002"] == [("status_changed", "Cancelled", "cancelled", "Never OK")]
    assert orders["A-2001"] == [
        ("status_changed", "Pixel Tracked", "pending", "Never OK"),
        ("status_changed", "Processing", "pending", "Never OK"),
        ("status_changed", "Sale", "confirmed", "Has OK"),
        ("confirmed", "Sale", "confirmed", "Has OK"),
        ("status_changed", "Refund", "refunded", "Has OK"),
        ("reversed", "Refund", "refunded", "Has OK"),
    ]
    assert orders["S-3001"] == [
        ("status_changed", "Received", "pending", "Never OK"),
        ("status_changed", "Accepted", "confirmed", "Has OK"),
        ("confirmed", "Accepted", "confirmed", "Has OK"),
        ("status_changed", "Completed", "fulfilled", "Has OK"),
    ]
    assert orders["S-3002"] == [
        ("status_changed", "Pending payment", "pending", "Never OK"),
        ("status_changed", "Expired", "expired", "Never OK"),
        ("expired", "Expired", "expired", "Never OK"),
    ]
    work_dir = _WORK_DIR.search(result.stdout)
    assert work_dir is not None, result.stdout
    assert not Path(work_dir[1]).exists(), "the temporary directory is removed"
    assert processes_using(work_dir[1]) == [], "no service, Postgres or broker left running"
