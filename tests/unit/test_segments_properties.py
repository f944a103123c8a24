"""Properties: live membership equals a brute-force evaluation, for any arrival order; a
validation verdict never depends on the order of conditions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from orderflow.services.rewards.customers import Customer, Purchase, evaluated, purchased
from orderflow.services.rewards.validation import Cart, Line, Shopper, judge
from orderflow.shared.tenant_segments import Segment, SegmentWhen, ValidationRule

NOW = datetime(2026, 6, 1, tzinfo=UTC)
CURRENCIES = ("EUR", "USD")

purchases = st.lists(
    st.builds(
        lambda n, hours, cents, currency: Purchase(
            f"o-{n}", NOW - timedelta(hours=hours), Decimal(cents) / 100 if cents else None,
            currency if cents else None,
        ),
        st.integers(0, 10**6), st.integers(-24, 24 * 120), st.integers(0, 60_000),
        st.sampled_from(CURRENCIES),
    ),
    max_size=8, unique_by=lambda p: p.order_id,
)  # fmt: skip
durations = st.integers(1, 24 * 100).map(lambda h: timedelta(hours=h))
whens = st.fixed_dictionaries(
    {},
    optional={
        "min_orders": st.integers(0, 5),
        "max_orders": st.integers(0, 5),
        "min_spent": st.builds(
            lambda c, cur: {"amount": str(Decimal(c) / 100), "currency": cur},
            st.integers(0, 100_000), st.sampled_from(CURRENCIES),
        ),
        "last_purchase_within": durations,
        "no_purchase_within": durations,
    },
).filter(bool)  # fmt: skip
definitions = st.lists(whens, min_size=1, max_size=4).map(
    lambda ws: tuple(
        Segment(id=f"s{n}", when=SegmentWhen.model_validate(w)) for n, w in enumerate(ws)
    )
)


def brute_force(segments: tuple[Segment, ...], orders: list[Purchase], now: datetime) -> set[str]:
    """Each definition read literally over the whole list of orders."""
    found = set()
    for segment in segments:
        w = segment.when
        last = max((o.confirmed_at for o in orders), default=None)
        spent = {
            c: sum((o.amount for o in orders if o.currency == c and o.amount), Decimal(0))
            for c in CURRENCIES
        }
        checks = [
            bool(orders),
            w.min_orders is None or len(orders) >= w.min_orders,
            w.max_orders is None or len(orders) <= w.max_orders,
            w.min_spent is None or spent[w.min_spent.currency] >= w.min_spent.amount,
            w.last_purchase_within is None
            or (last is not None and now - last < w.last_purchase_within),
            w.no_purchase_within is None or last is None or now - last >= w.no_purchase_within,
        ]
        if all(checks):
            found.add(segment.id)
    return found


@settings(max_examples=300, deadline=None)
@given(definitions, purchases, st.randoms(use_true_random=False), st.integers(1, 4))
def test_membership_equals_brute_force_for_any_arrival_order_and_batching(
    segments: tuple[Segment, ...], orders: list[Purchase], rng: Any, batches: int
) -> None:
    arrived = list(orders)
    rng.shuffle(arrived)
    customer, seen = Customer("seg", "c-1"), set[str]()
    for index in range(batches):
        batch = arrived[index::batches]
        customer, moves = purchased(customer, batch, segments, NOW)
        for move in moves:  # the events, replayed, tell the same membership
            assert (move.segment_id in seen) is not move.entered
            (seen.add if move.entered else seen.discard)(move.segment_id)
    assert customer.segments == brute_force(segments, orders, NOW) == seen
    assert customer.stats.orders_count == len(orders)


@settings(max_examples=200, deadline=None)
@given(definitions, purchases, st.integers(0, 24 * 200))
def test_membership_never_changes_before_the_timer_and_firing_it_stays_exact(
    segments: tuple[Segment, ...], orders: list[Purchase], later_hours: int
) -> None:
    """Without new orders, the timers alone keep membership equal to the brute force."""
    customer, _ = purchased(Customer("seg", "c-1"), orders, segments, NOW)
    at = NOW + timedelta(hours=later_hours)
    while customer.due_at is not None and customer.due_at <= at:
        fired = customer.due_at
        customer, _ = evaluated(customer, segments, fired)
        assert customer.due_at is None or customer.due_at > fired
    assert customer.segments == brute_force(segments, orders, at)


metadata_conditions = st.dictionaries(
    st.sampled_from(["channel", "vip", "n", "gone"]),
    st.one_of(
        st.builds(lambda v: {"equals": v}, st.sampled_from(["web", "mobile_app", True, 1])),
        st.builds(lambda v: {"in": v}, st.lists(st.sampled_from(["web", 1, False]), min_size=1)),
        st.builds(lambda v: {"exists": v}, st.booleans()),
    ),
    min_size=1,
)
cart_conditions = st.fixed_dictionaries(
    {},
    optional={
        "min_items": st.integers(0, 4), "max_items": st.integers(0, 4),
        "min_quantity": st.integers(0, 6), "max_quantity": st.integers(0, 6),
        "required": st.builds(lambda k, v, m: {k: v, "match": m}, st.sampled_from(["skus", "categories"]),
                              st.lists(st.sampled_from(["a", "b", "shoes"]), min_size=1), st.sampled_from(["any", "all"])),
        "excluded": st.builds(lambda v: {"skus": v}, st.lists(st.sampled_from(["a", "b"]), min_size=1)),
    },
).filter(bool)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(cart_conditions, metadata_conditions, st.randoms(use_true_random=False))
def test_a_verdict_never_depends_on_the_order_of_conditions(
    cart: dict[str, Any], metadata: dict[str, Any], rng: Any
) -> None:
    def shuffled(d: dict[str, Any]) -> dict[str, Any]:
        keys = list(d)
        rng.shuffle(keys)
        return {k: d[k] for k in keys}

    order = Cart(
        Decimal("10"), "EUR", (Line("a", 2, "shoes"), Line("c", 1)), {"channel": "web", "n": 1.0}
    )
    first = ValidationRule.model_validate({"id": "r", "cart": cart, "metadata": metadata})
    again = ValidationRule.model_validate(
        {"metadata": shuffled(metadata), "cart": shuffled(cart), "id": "r"}
    )
    assert judge(first, order, Shopper()) == judge(again, order, Shopper())
