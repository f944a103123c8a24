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

    errors = [f"{row['scenario']}: {row['error']}" for row in rows if "error" in row]
    lines = [line(COLUMNS), line(["-" * w for w in widths]), *(line(b) for b in body), *errors]
    return "\n".join(lines)


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
