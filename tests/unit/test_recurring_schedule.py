"""When recurring charges fall due: durations, calendar months from the anchor, month ends."""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orderflow.services.status_tracker.recurring_schedule import (
    Interval,
    add_months,
    charge_due,
    retry_due,
)

ANCHOR = datetime(2026, 1, 31, 14, 30, tzinfo=UTC)
anchors = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 12, 31), timezones=st.just(UTC)
)


def test_the_31st_falls_on_the_last_day_of_shorter_months_and_comes_back() -> None:
    monthly = Interval.parse("1M")
    dues = [charge_due(ANCHOR, monthly, n) for n in range(1, 6)]
    assert [d.date().isoformat() for d in dues if d] == [
        "2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31",
    ]  # fmt: skip
    assert all(d is not None and d.time() == ANCHOR.time() for d in dues)


def test_a_leap_year_february_has_its_29th() -> None:
    due = charge_due(datetime(2028, 1, 30, tzinfo=UTC), Interval.parse("1M"), 2)
    assert due == datetime(2028, 2, 29, tzinfo=UTC)


def test_quarterly_and_yearly_months() -> None:
    assert charge_due(ANCHOR, Interval.parse("3M"), 2) == datetime(2026, 4, 30, 14, 30, tzinfo=UTC)
    assert charge_due(ANCHOR, Interval.parse("12M"), 3) == datetime(2028, 1, 31, 14, 30, tzinfo=UTC)


def test_durations_of_section_6() -> None:
    for text, step in (("5s", 5), ("90m", 5400), ("12h", 43200), ("7d", 604800)):
        assert charge_due(ANCHOR, Interval.parse(text), 3) == ANCHOR + timedelta(seconds=2 * step)
    assert charge_due(ANCHOR, Interval.parse("7d"), 1) == ANCHOR


@pytest.mark.parametrize("text", ["", "1w", "0M", "-1M", "1.5M", "M", "10y", "0d", "1 M 2"])
def test_other_intervals_are_refused_naming_the_rule(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        Interval.parse(text)


def test_past_the_calendars_end_is_never_due() -> None:
    late = datetime(9999, 6, 1, tzinfo=UTC)
    assert charge_due(late, Interval.parse("1M"), 8) is None
    assert charge_due(late, Interval.parse("3650d"), 2) is None
    assert charge_due(ANCHOR, Interval.parse("3650d"), 10_000) is None


def test_a_retry_is_due_its_interval_after_the_failure() -> None:
    waits = (timedelta(days=1), timedelta(days=3))
    assert retry_due(ANCHOR, waits, 1) == ANCHOR + timedelta(days=1)
    assert retry_due(ANCHOR, waits, 2) == ANCHOR + timedelta(days=3)
    assert retry_due(ANCHOR, waits, 3) is None


@given(anchors, st.integers(1, 24), st.integers(1, 40))
def test_months_count_from_the_anchor_day_clamped(anchor: datetime, months: int, n: int) -> None:
    due = charge_due(anchor, Interval(f"{months}M", months=months), n)
    assert due is not None
    steps = (due.year - anchor.year) * 12 + due.month - anchor.month
    assert steps == months * (n - 1)
    assert due.day == min(anchor.day, calendar.monthrange(due.year, due.month)[1])
    assert due.time() == anchor.time() and due.tzinfo is not None


@given(anchors, st.integers(1, 12), st.integers(2, 40))
def test_due_times_increase_and_never_drift(anchor: datetime, months: int, n: int) -> None:
    interval = Interval(f"{months}M", months=months)
    previous, due = charge_due(anchor, interval, n - 1), charge_due(anchor, interval, n)
    assert previous is not None and due is not None and previous < due
    # Not cumulative: from the anchor, a day clamped once comes back (Jan 31, Feb 28, Mar 31).
    assert due == add_months(anchor, months * (n - 1))


@given(anchors, st.integers(1, 10_000_000), st.integers(1, 1000))
def test_a_duration_adds_n_minus_one_intervals(anchor: datetime, seconds: int, n: int) -> None:
    step = timedelta(seconds=seconds)
    due = charge_due(anchor, Interval(f"{seconds}s", duration=step), n)
    assert due is None or due == anchor + step * (n - 1)
