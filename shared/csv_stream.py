"""CSV exports (CONTRACTS §7 "CSV export"): RFC 4180 via the csv module, streamed, safe cells.

A cell that begins with `=`, `+`, `-`, `@`, tab or carriage return is prefixed with `'`, so a
spreadsheet never runs it as a formula. Rows are encoded as they come: memory stays that of
one row whatever the export's size.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable, Sequence

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MEDIA_TYPE = "text/csv; charset=utf-8"


def safe_cell(value: object) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def encode_row(cells: Iterable[object]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([safe_cell(c) for c in cells])
    return buffer.getvalue().encode()


async def stream(
    header: Sequence[str], rows: AsyncIterator[Sequence[object]]
) -> AsyncIterator[bytes]:
    """The header, then each row, as CSV lines."""
    yield encode_row(header)
    async for row in rows:
        yield encode_row(row)
