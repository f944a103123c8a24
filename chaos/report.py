"""The table `make chaos` prints, and chaos/results/latest.json."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

COLUMNS = ("scenario", "reports", "faults injected", "lost", "duplicate effects", "recovery")


def cells(row: dict[str, Any]) -> list[str]:
    if "error" in row:
        return [row["scenario"], "-", "-", "-", "-", "did not run"]
    recovery = "-" if row["recovery_s"] is None else f"{row['recovery_s']:.1f} s"
    counts = (row["reports"], row["faults"], row["lost"], row["duplicates"])
    return [row["scenario"], *(str(c) for c in counts), recovery]


def table(rows: Sequence[dict[str, Any]]) -> str:
    body = [cells(row) for row in rows]
    widths = [max(len(line[i]) for line in [list(COLUMNS), *body]) for i in range(len(COLUMNS))]

    def line(values: Sequence[str]) -> str:
        first, *rest = values
        right = (v.rjust(w) for v, w in zip(rest, widths[1:], strict=True))
        return "  ".join([first.ljust(widths[0]), *right])

    lines = [line(COLUMNS), line(["-" * w for w in widths]), *(line(b) for b in body)]
    return "\n".join(lines + [note for row in rows for note in notes(row)])


def notes(row: dict[str, Any]) -> list[str]:
    """What the counts do not show: a scenario that did not run, a service that died unasked,
    a POST answered 5xx other than 503 (the client sent it again, so nothing was lost)."""
    name = row["scenario"]
    if "error" in row:
        return [f"{name}: {row['error']}"]
    said = [f"{name}: {e['service']} exited unasked ({e['code']})" for e in row["unplanned_exits"]]
    for service in row["notes"].get("not_caught", []):
        said.append(f"{name}: {service}'s relay was not caught between publish and mark in time")
    if row["server_errors"]:
        said.append(f"{name}: POST /v1/orders answered {row['server_errors'][0][:120]}")
    return said


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
