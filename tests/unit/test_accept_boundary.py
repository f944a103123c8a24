"""The accept boundary equals the processing boundary (issue 9, CONTRACTS §3.1 "Limits").

Each case of the issue's "Why" 1 was a report ingest answered `202` that a service after it
could never process: ingest now refuses it with the reason, and the date and money
arithmetic of every service is total at the window's edges (and beyond them). The property
that no accepted report makes any service's decisions raise is in
test_accepted_reports_flow.py.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from orderflow.services.attribution import domain as attribution
from orderflow.services.attribution.credits import Touch, last_touch
from orderflow.services.ingest import domain as ingest
from orderflow.services.ingest import limits
from orderflow.services.ingest.reports import (
    ReportRejected,
    parse_report_batch,
    parse_report_record,
    parse_touchpoint_batch,
    report_uuid,
)
from orderflow.services.rewards.challenges import MemberState, count
from orderflow.services.rewards.conditions import Candidate, MemberStats, orders_in_days
from orderflow.services.rewards.entries import CountedOrder
from orderflow.services.rewards.money import Rate, commission_on, to_minor_units
from orderflow.services.status_tracker import domain as tracker
from orderflow.services.status_tracker import messages as tracker_messages
from orderflow.shared.currencies import CURRENCIES, minor_units
from orderflow.shared.envelope import Envelope
from orderflow.shared.instants import END_OF_TIME, START_OF_TIME, days, earlier, later
from orderflow.shared.tenants import MAX_DAYS, OrdersInDays
from orderflow.shared.vocabulary import Category, TouchpointKind
from tests.rewards_support import attributed, lifecycle_story, programme
from tests.unit.rewards_world import World

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
AT = "2026-11-30T10:00:00Z"
REPORT: dict[str, Any] = {"tenant": "acme", "order_id": "o-1", "status": "OK", "occurred_at": AT}
TOUCHPOINT: dict[str, Any] = {
    "tenant": "acme",
    "touchpoint_id": "tp-1",
    "member_id": "m-1",
    "kind": "click",
    "customer_id": "c-1",
    "occurred_at": AT,
}
YEAR_1 = datetime(1, 1, 1, tzinfo=UTC)
YEAR_9999 = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def refusal(body: dict[str, Any], parse: Any = parse_report_batch) -> list[tuple[str, str]]:
    with pytest.raises(ReportRejected) as caught:
        parse(body, now=NOW)
    return [(e.path, e.message) for e in caught.value.errors]


def nested(levels: int) -> dict[str, Any]:
    """An object nesting `levels` levels of objects (itself included)."""
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"a": value}
    return value


# --- nesting -------------------------------------------------------------------------------


@pytest.mark.parametrize("levels", [199, 254, limits.MAX_DEPTH])
def test_metadata_nested_too_deeply_for_a_consumer_is_refused(levels: int) -> None:
    # The report is level 1 and metadata level 2: metadata of MAX_DEPTH levels is one too many.
    [(path, message)] = refusal({**REPORT, "metadata": nested(levels)})
    assert path == "metadata" and message == limits.TOO_DEEP


def test_too_deep_arrays_anywhere_in_a_report_are_refused_at_their_field() -> None:
    deep_list = json.loads("[" * 40 + "]" * 40)
    errors = refusal({**REPORT, "metadata": {"x": deep_list}, "items": deep_list})
    assert ("metadata", limits.TOO_DEEP) in errors and ("items", limits.TOO_DEEP) in errors


def test_report_at_the_nesting_limit_is_accepted_and_every_consumer_parses_its_event() -> None:
    [report] = parse_report_batch({**REPORT, "metadata": nested(limits.MAX_DEPTH - 1)}, now=NOW)
    event = ingest.reported_event(report, str(report_uuid(report)), Category.CONFIRMED, NOW)

    consumed = Envelope.from_bytes(event.to_bytes())  # what every consumer of it does first

    assert consumed.data["metadata"] == nested(limits.MAX_DEPTH - 1)
    assert tracker_messages.report_from(consumed).category is Category.CONFIRMED


def test_a_record_nested_too_deeply_is_refused_on_the_kafka_path_too() -> None:
    value = json.dumps({**REPORT, "metadata": nested(200)}).encode()
    with pytest.raises(ReportRejected) as caught:
        parse_report_record(b"acme:o-1", value, now=NOW)
    assert [e.path for e in caught.value.errors] == ["metadata"]


# --- the occurred_at window ----------------------------------------------------------------


@pytest.mark.parametrize(
    "occurred_at",
    [
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "1999-12-31T23:59:59.999999Z",
        "2000-01-01T00:59:59+01:00",  # 1999-12-31T23:59:59Z
        "2026-12-02T12:00:00.000001Z",  # NOW + 1 day + 1 µs
        "2026-12-02T13:00:01+01:00",
    ],
)
def test_occurred_at_outside_the_window_is_refused(occurred_at: str) -> None:
    for body, parse in ((REPORT, parse_report_batch), (TOUCHPOINT, parse_touchpoint_batch)):
        [(path, _)] = refusal({**body, "occurred_at": occurred_at}, parse)
        assert path == "occurred_at"


@pytest.mark.parametrize(
    "occurred_at",
    ["2000-01-01T00:00:00Z", "2000-01-01T01:00:00+01:00", "2026-12-02T12:00:00Z", AT],
)
def test_occurred_at_at_the_window_edges_is_accepted(occurred_at: str) -> None:
    [report] = parse_report_batch({**REPORT, "occurred_at": occurred_at}, now=NOW)
    [touchpoint] = parse_touchpoint_batch({**TOUCHPOINT, "occurred_at": occurred_at}, now=NOW)
    assert limits.EARLIEST <= report.occurred_at == touchpoint.occurred_at <= NOW + timedelta(1)


def test_the_future_bound_follows_the_time_of_receipt() -> None:
    body = {**REPORT, "occurred_at": "2030-01-01T00:00:00Z"}
    assert refusal(body)[0][0] == "occurred_at"
    assert parse_report_batch(body, now=datetime(2029, 12, 31, 1, tzinfo=UTC))


# --- money ---------------------------------------------------------------------------------


def money(amount: str, currency: str = "EUR", **more: Any) -> dict[str, Any]:
    return {**REPORT, "amount": amount, "currency": currency, **more}


def test_amount_of_ten_to_the_thirty_is_refused_wherever_money_is_given() -> None:
    huge = "1" + "0" * 30
    item = {"sku": "s", "quantity": 1, "unit_price": huge}
    errors = refusal(money(huge, items=[item], payment={"system": "s", "fee": huge}))
    assert {path for path, _ in errors} == {"amount", "items[0].unit_price", "payment.fee"}
    assert all("10^15" in message for _, message in errors)


def test_largest_amount_is_accepted_and_one_unit_more_is_refused() -> None:
    [report] = parse_report_batch(money("999999999999999.9999", "CLF"), now=NOW)
    assert report.amount == limits.MAX_AMOUNT - Decimal("0.0001")
    assert refusal(money("1000000000000000", "JPY"))[0][0] == "amount"


@pytest.mark.parametrize("currency", ["ZZZ", "XXX", "XTS", "XAU", "XDR", "HRK"])
def test_currency_outside_iso_4217_money_is_refused(currency: str) -> None:
    errors = refusal(money("1", currency, payment={"system": "s", "currency": currency}))
    assert {path for path, _ in errors} == {"currency", "payment.currency"}
    assert all("ISO 4217" in message for _, message in errors)


def test_every_currency_of_the_table_is_accepted_with_its_minor_units() -> None:
    for currency in sorted(CURRENCIES):
        units = minor_units(currency)
        amount = "1" if units == 0 else "1." + "9" * units
        [report] = parse_report_batch(money(amount, currency), now=NOW)
        assert report.currency == currency


def test_commission_on_any_finite_amount_is_exact_and_rounded_once() -> None:
    # Rewards raised decimal.InvalidOperation here: the result had more than 28 digits.
    huge = Decimal(10) ** 30
    tenth = Decimal("100000000000000000000000000000.50")
    assert commission_on(huge, "EUR", Rate(Decimal("10"), Decimal("0.50"))) == tenth
    largest = limits.MAX_AMOUNT - Decimal("0.0001")
    rate = Rate(Decimal("33.3333333333333333333"), Decimal("0"))
    assert commission_on(largest, "CLF", rate) == Decimal("333333333333333.3333")
    assert to_minor_units(Decimal("1.005"), "EUR") == Decimal("1.00")


# --- date arithmetic at the window's edges, and beyond -------------------------------------


def test_saturating_arithmetic_stays_inside_the_calendar() -> None:
    assert later(YEAR_9999, timedelta(days=30)) == END_OF_TIME
    assert earlier(YEAR_1, timedelta(days=30)) == START_OF_TIME
    assert later(YEAR_1, -timedelta(days=1)) == START_OF_TIME
    assert earlier(YEAR_9999, timedelta.max) == START_OF_TIME
    assert earlier(YEAR_9999, timedelta.min) == END_OF_TIME
    assert later(NOW, timedelta(days=7)) == NOW + timedelta(days=7)
    assert earlier(limits.EARLIEST, timedelta(days=30)) == datetime(1999, 12, 2, tzinfo=UTC)
    assert (days(10**12), days(-(10**12)), days(3)) == (
        timedelta.max,
        timedelta.min,
        timedelta(3),
    )


@pytest.mark.parametrize("ordered_at", [YEAR_1, limits.EARLIEST, YEAR_9999])
def test_attribution_lookback_from_any_instant_decides(ordered_at: datetime) -> None:
    # Attribution raised OverflowError on the lookback of an order of 0001-01-01.
    touch = Touch("tp-1", "m-1", TouchpointKind.CLICK, "c-1", ordered_at)
    assert last_touch("o-1", "c-1", ordered_at, [touch], timedelta(days=30)) == touch
    fact = attribution.Reported("r-1", ordered_at, Category.CONFIRMED, "c-1")
    state = attribution.OrderAttribution("o-1")
    decision = attribution.decide(state, fact, [touch], timedelta.max)
    assert [e.credit.touchpoint_id for e in decision.events] == ["tp-1"]


@pytest.mark.parametrize(
    ("confirmed_at", "due"),
    [(YEAR_9999, END_OF_TIME), (NOW + timedelta(days=1), NOW + timedelta(days=31))],
)
def test_rewards_holding_period_from_any_instant_accrues(
    confirmed_at: datetime, due: datetime
) -> None:
    # Rewards raised OverflowError on the holding period of an order confirmed in 9999.
    world = World(programme("aff"))
    world.deliver_all(lifecycle_story("aff", "o-1", ["Sale"], confirmed_at))
    world.deliver(attributed("aff", "o-1", "m-1", confirmed_at))
    assert world.kinds("o-1") == [("accrued", "10.50")]
    assert world.books["o-1"].lines[0].approve_due_at == due
    assert world.fire_timers(END_OF_TIME) == 1


def candidate(at: datetime, *prior_times: datetime) -> Candidate:
    prior = MemberStats(len(prior_times), max(prior_times, default=None), prior_times)
    return Candidate(at, None, None, frozenset(), frozenset(), prior)


def test_rewards_windows_at_the_calendar_ends_decide() -> None:
    assert orders_in_days(OrdersInDays(count=2, days=30), candidate(YEAR_9999, YEAR_9999))
    assert not orders_in_days(OrdersInDays(count=2, days=30), candidate(YEAR_1, YEAR_9999))
    # Tenant files may not set more than ten years; the pure rule still saturates past that.
    endless = OrdersInDays.model_construct(count=2, days=10**9)
    assert orders_in_days(endless, candidate(YEAR_1, YEAR_9999))
    # The member step looks `window` either side of an order: 30 days, and the longest allowed.
    for holding in (programme("aff"), programme("aff", holding_days=MAX_DAYS)):
        state = MemberState(1, YEAR_9999, frozenset({("o-0", YEAR_9999)}))
        for at in (YEAR_1, YEAR_9999):
            order = CountedOrder("aff", "m-1", f"o-{at.year}", at, Decimal("1"), "EUR")
            assert count(state, order, holding).counted == order


@pytest.mark.parametrize(
    ("occurred_at", "due"),
    [
        (YEAR_9999, END_OF_TIME),
        (NOW + timedelta(days=1), NOW + timedelta(days=8)),
        (limits.EARLIEST, limits.EARLIEST + timedelta(days=7)),
    ],
)
def test_store_expiry_deadline_from_any_instant_is_scheduled(
    occurred_at: datetime, due: datetime
) -> None:
    # The tracker raised OverflowError on the expiry of a store order pending payment in 9999.
    rule = tracker.ExpiryRule(lambda status: status == "Pending payment", timedelta(days=7))
    report = tracker.Report("r-1", "Pending payment", Category.PENDING, "web", occurred_at, NOW)
    decision = tracker.decide(None, (), report, rule)
    assert decision.timer == tracker.Schedule(due)
    expired = tracker.expire(decision.state, (report,), due, due, rule)
    assert [e.type for e in expired.events][-1] == "order.expired"
