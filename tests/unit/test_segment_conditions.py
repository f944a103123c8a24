"""Segment conditions and validation rules: the registries, the boundaries, the tenant file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import yaml
from pydantic import ValidationError

from orderflow.services.rewards import segment_conditions, validation
from orderflow.services.rewards.customers import Customer, Purchase, evaluated, purchased
from orderflow.services.rewards.segment_conditions import CustomerStats
from orderflow.shared.tenant_segments import CartRule, CustomerRule, SegmentWhen
from orderflow.shared.tenants import TenantConfig
from tests.segments_support import config, segments

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def test_each_condition_kind_has_one_function_under_its_schema_name() -> None:
    assert set(segment_conditions.KINDS) == set(SegmentWhen.model_fields)
    assert set(validation.CART) == set(CartRule.model_fields)
    assert set(validation.CUSTOMER) == set(CustomerRule.model_fields)


def stats(*days_ago: int, amount: str = "100.00", now: datetime = T0) -> CustomerStats:
    customer = Customer("seg", "c-1")
    orders = [
        Purchase(f"o-{n}", now - d * DAY, Decimal(amount), "EUR") for n, d in enumerate(days_ago)
    ]
    return purchased(customer, orders, (), now)[0].stats


def test_recent_holds_until_the_instant_its_window_ends_and_the_timer_is_due_then() -> None:
    last = stats(0).last_purchase_at
    assert last is not None
    end = last + 90 * DAY
    customer = Customer("seg", "c-1", stats(0), frozenset({"recent", "one-timer"}))
    inside, moves = evaluated(customer, segments(), end - timedelta(microseconds=1))
    assert inside.segments == {"recent", "one-timer"} and moves == []
    assert inside.due_at == end
    after, moves = evaluated(inside, segments(), end)
    assert after.segments == {"lapsed", "one-timer"}
    assert [(m.segment_id, m.entered) for m in moves] == [("lapsed", True), ("recent", False)]
    assert after.due_at is None  # nothing changes any more without a new order


def test_statistics_keep_currencies_apart_and_the_purchase_times_by_confirmation() -> None:
    customer = Customer("seg", "c-1")
    orders = [
        Purchase("o-1", T0, Decimal("300.00"), "EUR"),
        Purchase("o-2", T0 - DAY, Decimal("250.00"), "EUR"),
        Purchase("o-3", T0 + DAY, Decimal("9.99"), "USD"),
        Purchase("o-4", T0, None, None),
    ]
    after, moves = purchased(customer, orders, segments(), T0 + DAY)
    assert after.stats.spent == {"EUR": Decimal("550.00"), "USD": Decimal("9.99")}
    assert after.stats.orders_count == 4
    assert (after.stats.first_purchase_at, after.stats.last_purchase_at) == (T0 - DAY, T0 + DAY)
    assert {m.segment_id for m in moves if m.entered} == {"loyal", "big-spenders", "recent"}


def test_a_customer_without_orders_is_in_no_segment_even_max_orders() -> None:
    assert segment_conditions.holds(SegmentWhen(max_orders=1), CustomerStats(), T0) is False


BAD_FILES = {
    "validation_rules[0].customer": "validation_rules: [{id: r, customer: {segments_any: [nope]}}]",
    "segments[1].id": "segments: [{id: a, when: {min_orders: 1}}, {id: a, when: {min_orders: 2}}]",
    "segments[0].when": "segments: [{id: a, when: {}}]",
    "validation_rules[0].cart": "validation_rules: [{id: r, cart: {min_amount: '1.00'}}]",
    "validation_rules[0].cart.required": (
        "validation_rules: [{id: r, cart: {required: {skus: [a], offers: [b]}}}]"
    ),
    "segments[0].when.min_spent.currency": (
        "segments: [{id: a, when: {min_spent: {amount: '1', currency: XXX}}}]"
    ),
    "validation_rules[0].metadata.k": "validation_rules: [{id: r, metadata: {k: {}}}]",
}


@pytest.mark.parametrize("path", sorted(BAD_FILES))
def test_a_bad_segment_or_rule_is_refused_naming_the_field(path: str) -> None:
    document = yaml.safe_load(f"tenant: seg\n{BAD_FILES[path]}\n")
    with pytest.raises(ValidationError) as caught:
        TenantConfig.model_validate(document)
    locations = [".".join(str(p) for p in e["loc"]) for e in caught.value.errors()]
    wanted = path.replace("[", ".").replace("]", "")
    assert any(loc.startswith(wanted) for loc in locations), locations


def test_the_example_of_the_contract_parses() -> None:
    tenant = config()
    assert [s.id for s in tenant.segments][:3] == ["loyal", "big-spenders", "recent"]
    assert tenant.segments[2].when.last_purchase_within == timedelta(days=90)


def test_a_challenge_segment_in_holds_on_the_customer_segments_at_confirmation() -> None:
    from orderflow.services.rewards.conditions import Candidate, MemberStats, completed
    from orderflow.shared.tenants import ChallengeWhen

    when = ChallengeWhen(segment_in=("loyal", "vip"))
    seen = Candidate(
        T0, Decimal(1), None, frozenset(), frozenset(), MemberStats(), frozenset({"loyal"})
    )
    assert completed(when, seen) is True
    assert (
        completed(when, Candidate(T0, Decimal(1), None, frozenset(), frozenset(), MemberStats()))
        is False
    )


def test_a_challenge_naming_an_unknown_segment_is_refused() -> None:
    text = "tenant: seg\nchallenges: [{id: c, when: {segment_in: [nope]}, reward: {points: 1}}]\n"
    with pytest.raises(ValidationError, match="unknown segment"):
        TenantConfig.model_validate(yaml.safe_load(text))
