"""A report's period: whole UTC days and the partial edges, covering it exactly once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from orderflow.services.status_tracker.sales_period import MICROSECOND, split

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def test_whole_days_and_two_edges() -> None:
    period = split(T0 + timedelta(hours=5), T0 + timedelta(days=3, hours=2))
    assert (period.first_day, period.end_day) == (date(2026, 3, 2), date(2026, 3, 4))
    assert period.raw == (
        (T0 + timedelta(hours=5), T0 + timedelta(days=1)),
        (T0 + timedelta(days=3), T0 + timedelta(days=3, hours=2) + MICROSECOND),
    )


def test_a_period_inside_one_day_is_read_raw() -> None:
    period = split(T0 + timedelta(hours=1), T0 + timedelta(hours=2))
    assert period.first_day == period.end_day
    assert period.raw == ((T0 + timedelta(hours=1), T0 + timedelta(hours=2) + MICROSECOND),)


def test_unbounded_ends_are_whole_days() -> None:
    assert split(None, None).raw == ()
    assert split(T0, None).first_day == date(2026, 3, 1) and split(T0, None).raw == ()


def test_an_offset_is_read_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    period = split(datetime(2026, 3, 2, 0, 30, tzinfo=paris), None)
    assert period.first_day == date(2026, 3, 2)
    assert period.raw == ((datetime(2026, 3, 1, 23, 30, tzinfo=UTC), T0 + timedelta(days=1)),)


INSTANTS = st.integers(0, 5 * 24 * 60).map(lambda m: T0 + timedelta(minutes=m))


@given(st.none() | INSTANTS, st.none() | INSTANTS, INSTANTS)
def test_every_instant_is_counted_once_exactly_when_it_is_in_the_period(
    start: datetime | None, end: datetime | None, at: datetime
) -> None:
    period = split(start, end)
    in_days = (period.first_day is None or at.date() >= period.first_day) and (
        period.end_day is None or at.date() < period.end_day
    )
    in_raw = sum(lo <= at < hi for lo, hi in period.raw)
    inside = (start is None or at >= start) and (end is None or at <= end)
    assert in_days + in_raw == (1 if inside else 0)
