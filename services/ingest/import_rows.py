"""An import file's rows as §3.1 reports, judged by ingest's own validation (CONTRACTS §12).

A CSV has a header of §3.1 field names; the object and list fields are JSON cells; an
empty cell is an absent field. A `.jsonl` file has one report per line. A row without a
`tenant` is the import's tenant; a row naming another tenant is rejected. Each row is
validated exactly as a report sent over HTTP or Kafka (`parse_report_batch`, then the
tenant's refund rule), so what is accepted here is what any door would accept.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO

from orderflow.services.ingest.domain import check_refunds
from orderflow.services.ingest.reports import (
    FieldError,
    OrderReport,
    ReportRejected,
    parse_report,
)
from orderflow.shared.tenants import TenantRegistry

JSON_CELLS = frozenset(
    {
        "items",
        "customer",
        "contributors",
        "metadata",
        "shipping",
        "discounts",
        "payment",
        "recurring",
    }
)
ERROR_COLUMNS = ("line", "path", "message")


@dataclass(frozen=True)
class RowError:
    line: int
    path: str
    message: str


def read_rows(file: TextIO, suffix: str) -> Iterator[tuple[int, object]]:
    """(line where the row starts, the row as a JSON value or a RowError)."""
    if suffix == ".jsonl":
        for line, text in enumerate(file, start=1):
            if text.strip():
                yield line, _json(text, line, "")
        return
    reader = csv.reader(file, strict=True)
    header = next(reader, None)
    start = 2  # the header is line 1
    for cells in reader:
        if cells and header is not None:  # a blank line is no row
            yield start, _cells(header, cells, start)
        start = reader.line_num + 1


def _json(text: str, line: int, path: str) -> object:
    try:
        return json.loads(text)
    except ValueError as exc:
        return RowError(line, path, f"is not valid JSON: {exc}")


def _cells(header: list[str], cells: list[str], line: int) -> object:
    if len(cells) > len(header):
        return RowError(line, "", f"has {len(cells)} cells; the header has {len(header)}")
    report: dict[str, object] = {}
    # As csv.DictReader: missing cells are empty, a repeated column's last cell wins.
    for column, cell in dict(zip(header, cells, strict=False)).items():
        if cell == "":
            continue
        if column in JSON_CELLS:
            value = _json(cell, line, column)
            if isinstance(value, RowError):
                return value
            report[column] = value
        else:
            report[column] = cell
    return report


def judged(
    row: object, line: int, tenant: str, tenants: TenantRegistry, now: datetime
) -> tuple[OrderReport, bytes] | list[RowError]:
    """The row as a report and its JSON (`parse_report`), or every reason it is not one."""
    if isinstance(row, RowError):
        return [row]
    if isinstance(row, dict):
        row.setdefault("tenant", tenant)
        if row["tenant"] != tenant:
            return [RowError(line, "tenant", f"is {row['tenant']!r}; this import is {tenant!r}")]
    try:
        report, encoded = parse_report(row, now)
        check_refunds(tenants, [report], indexed=False)
    except ReportRejected as exc:
        return [RowError(line, e.path, e.message) for e in exc.errors]
    return report, encoded


def errors_file(source: Path) -> Path:
    return source.with_name(f"{source.stem}.errors.csv")


def write_errors(path: Path, errors: list[RowError]) -> None:
    """`line, path, message` rows; no file at all when nothing was rejected."""
    if not errors:
        path.unlink(missing_ok=True)
        return
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(ERROR_COLUMNS)
        writer.writerows((e.line, e.path, e.message) for e in errors)


__all__ = ["FieldError", "RowError", "errors_file", "judged", "read_rows", "write_errors"]
