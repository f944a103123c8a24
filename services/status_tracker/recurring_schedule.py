"""When the charges of a recurring order fall due (CONTRACTS §10). Pure.

Charge n is due at the initial payment's `occurred_at` + (n - 1) x interval. An interval is
a §6 duration (`30d`, `12h`) or `<n>M` calendar months. Months are counted from the anchor,
never from the previous charge, so a plan anchored on the 31st is charged on the 31st of
every month that has one and on the last day of the others (Jan 31, Feb 28, Mar 31), in UTC.
A retry is due `retry_intervals[attempt - 1]` after the failure's `occurred_at`.
Due times past the end of the calendar are `None` (never due), so no plan can overflow.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from orderflow.shared.instants import END_OF_TIME, later
from orderflow.shared.tenants import parse_duration

_MONTHS_RE = re.compile(r"([1-9][0-9]*)M")


@dataclass(frozen=True)
class Interval:
    """A fixed duration or a number of calendar months (exactly one is set)."""

    text: str
    duration: timedelta | None = None
    months: int = 0

    @classmethod
    def parse(cls, text: str) -> Interval:
        """`<n>M` months or a §6 duration; ValueError naming the rule otherwise."""
        match = _MONTHS_RE.fullmatch(text.strip())
        if match:
            return cls(text, months=int(match[1]))
        try:
            return cls(text, duration=parse_duration(text))
        except ValueError:
            raise ValueError(
                f"interval {text!r} is not a duration <n><unit> (unit s, m, h or d) nor <n>M"
            ) from None


def add_months(at: datetime, months: int) -> datetime | None:
    """`at` moved by whole calendar months in UTC, the day clamped to the month's last."""
    utc = at.astimezone(UTC)
    index = utc.year * 12 + (utc.month - 1) + months
    year, month = divmod(index, 12)
    if year > END_OF_TIME.year:
        return None
    day = min(utc.day, calendar.monthrange(year, month + 1)[1])
    return utc.replace(year=year, month=month + 1, day=day)


def charge_due(anchor: datetime, interval: Interval, sequence: int) -> datetime | None:
    """When charge `sequence` (1 = the initial order) is due; None past the calendar's end."""
    if sequence < 1:
        raise ValueError("charges are numbered from 1 (the initial order)")
    steps = sequence - 1
    if interval.duration is None:
        return add_months(anchor, interval.months * steps)
    try:
        offset = interval.duration * steps
    except OverflowError:
        return None
    due = later(anchor, offset)
    return None if due == END_OF_TIME else due


def retry_due(
    failed_at: datetime, retry_intervals: Sequence[timedelta], attempt: int
) -> datetime | None:
    """When the attempt after failed `attempt` is due; None when no attempt is left."""
    if not 1 <= attempt <= len(retry_intervals):
        return None
    due = later(failed_at, retry_intervals[attempt - 1])
    return None if due == END_OF_TIME else due
