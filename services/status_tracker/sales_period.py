"""A report's period cut into whole UTC days (read from the daily sums) and the partial
first and last days (read from the raw rows). Pure.

Bounds are inclusive, as the reads' other time filters; timestamps are microseconds, so the
period is the half-open [start, end + 1 µs).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Split:
    first_day: date | None  # whole days from this one (None: from the beginning)
    end_day: date | None  # up to this one, excluded (None: to the end)
    raw: tuple[tuple[datetime, datetime], ...]  # half-open ranges read row by row


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def split(start: datetime | None, end: datetime | None) -> Split:
    stop = None if end is None else end + MICROSECOND
    first = None
    if start is not None:
        day = start.astimezone(UTC).date()
        first = day if _midnight(day) == start else day + timedelta(days=1)
    last = None if stop is None else stop.astimezone(UTC).date()
    if first is not None and last is not None and first >= last:
        return Split(
            first, first, () if start is None or stop is None or start >= stop else ((start, stop),)
        )
    raw = []
    if start is not None and first is not None and start < _midnight(first):
        raw.append((start, _midnight(first)))
    if stop is not None and last is not None and _midnight(last) < stop:
        raw.append((_midnight(last), stop))
    return Split(first, last, tuple(raw))
