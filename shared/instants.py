"""Date arithmetic that cannot overflow: deadlines and windows saturate at the calendar's ends.

Ingest accepts only instants inside a window (CONTRACTS §3.1), so with the tenants' usual
durations nothing here ever saturates; it is the guarantee that no configuration (a holding
period of a million days, say) and no stored instant can make a decision raise
`OverflowError` instead of deciding. Saturating is the right answer for every use: a deadline
past the end of the calendar is "never", a window start before its beginning is "always".
Pure.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

# Aware, so they compare with every instant the services handle.
END_OF_TIME = datetime.max.replace(tzinfo=UTC)
START_OF_TIME = datetime.min.replace(tzinfo=UTC)


def days(count: int) -> timedelta:
    """`timedelta(days=count)`, saturated at timedelta's own range."""
    if count >= timedelta.max.days:
        return timedelta.max
    if count <= timedelta.min.days:
        return timedelta.min
    return timedelta(days=count)


def later(at: datetime, delta: timedelta) -> datetime:
    """`at + delta`, or the end (start) of time when that lies beyond the calendar."""
    try:
        moved = at + delta
        moved.astimezone(UTC)  # a wall time near an end may have no UTC instant: clamp it too
    except OverflowError:
        upwards = delta > timedelta(0) or (delta == timedelta(0) and at.year > 1)
        return END_OF_TIME if upwards else START_OF_TIME
    return moved


def earlier(at: datetime, delta: timedelta) -> datetime:
    """`at - delta`, saturated like `later`."""
    try:
        back = -delta
    except OverflowError:  # timedelta.max, the one delta without a negation
        return START_OF_TIME
    return later(at, back)
