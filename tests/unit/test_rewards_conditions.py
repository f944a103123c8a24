"""Each challenge condition as a table, and the rule that every condition set must hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from orderflow.services.rewards.conditions import (
    CONDITIONS,
    Candidate,
    MemberStats,
    completed,
    set_conditions,
    widest_window,
)
from orderflow.shared.tenants import ChallengeWhen, OrdersInDays

T = datetime(2026, 5, 1, tzinfo=UTC)


def candidate(
    amount: str | None = "100.00",
    offer_id: str | None = None,
    item_offers: tuple[str, ...] = (),
    item_categories: tuple[str, ...] = (),
    order_count: int = 0,
    days_ago: tuple[float, ...] = (),
) -> Candidate:
    times = tuple(T - timedelta(days=d) for d in days_ago)
    return Candidate(
        confirmed_at=T,
        amount=None if amount is None else Decimal(amount),
        offer_id=offer_id,
        item_offers=frozenset(item_offers),
        item_categories=frozenset(item_categories),
        prior=MemberStats(order_count, max(times, default=None), times),
    )


def holds(when: dict[str, object], c: Candidate) -> bool:
    return completed(ChallengeWhen.model_validate(when), c)


def test_every_condition_kind_of_the_schema_has_its_function() -> None:
    assert set(ChallengeWhen.model_fields) == set(CONDITIONS)


@pytest.mark.parametrize(("order_count", "expected"), [(0, True), (1, False), (7, False)])
def test_first_order_of_member(order_count: int, expected: bool) -> None:
    assert holds({"first_order_of_member": True}, candidate(order_count=order_count)) is expected


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("199.99", False), ("200.00", True), ("200", True), ("1000.50", True), (None, False)],
)
def test_min_amount(amount: str | None, expected: bool) -> None:
    assert holds({"min_amount": "200.00"}, candidate(amount=amount)) is expected


@pytest.mark.parametrize(
    ("days_ago", "expected"),
    [
        ((), False),
        ((10,), False),
        ((10, 29), True),  # three within the 30 days before
        ((10, 31), False),
        ((-10, -20), True),  # the earlier of three: the others were confirmed later upstream
        ((-15, 14), True),  # a span around this order
        ((-16, 15), False),  # 31 days from first to last
        ((-30, 30), False),
        ((1, 1), True),
    ],
)
def test_orders_in_days_counts_any_span_containing_this_order(
    days_ago: tuple[float, ...], expected: bool
) -> None:
    c = candidate(order_count=len(days_ago), days_ago=days_ago)
    assert holds({"orders_in_days": {"count": 3, "days": 30}}, c) is expected


def test_orders_in_days_with_count_one_holds_for_any_order() -> None:
    assert holds({"orders_in_days": {"count": 1, "days": 1}}, candidate())


@pytest.mark.parametrize(
    ("offer_id", "item_offers", "expected"),
    [
        ("offer-a", (), True),
        (None, ("offer-b",), True),
        ("offer-x", ("offer-y",), False),
        (None, (), False),
    ],
)
def test_offer_in_reads_the_order_and_its_items(
    offer_id: str | None, item_offers: tuple[str, ...], expected: bool
) -> None:
    c = candidate(offer_id=offer_id, item_offers=item_offers)
    assert holds({"offer_in": ["offer-a", "offer-b"]}, c) is expected


@pytest.mark.parametrize(
    ("categories", "expected"),
    [(("shoes",), True), (("hats", "shoes"), True), (("hats",), False), ((), False)],
)
def test_category_in_reads_the_items(categories: tuple[str, ...], expected: bool) -> None:
    assert holds({"category_in": ["shoes"]}, candidate(item_categories=categories)) is expected


def test_all_conditions_of_a_challenge_must_hold() -> None:
    when = {"first_order_of_member": True, "min_amount": "50"}
    assert holds(when, candidate(amount="60"))
    assert not holds(when, candidate(amount="40"))
    assert not holds(when, candidate(amount="60", order_count=1))


def test_a_challenge_without_conditions_is_completed_by_any_order() -> None:
    assert list(set_conditions(ChallengeWhen())) == []
    assert holds({}, candidate(amount=None, order_count=9))


def test_first_order_false_is_no_condition() -> None:
    assert holds({"first_order_of_member": False}, candidate(order_count=3))


def test_widest_window_is_the_largest_orders_in_days_span() -> None:
    whens = [
        ChallengeWhen(),
        ChallengeWhen(orders_in_days=OrdersInDays(count=2, days=7)),
        ChallengeWhen(orders_in_days=OrdersInDays(count=3, days=30)),
    ]
    assert widest_window(whens) == timedelta(days=30)
    assert widest_window([ChallengeWhen()]) == timedelta(0)
