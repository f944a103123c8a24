"""The seed scenarios and the commission rules, on the pure domain (tests/unit/rewards_world.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from orderflow.services.rewards.entries import Kind
from orderflow.shared.envelope import new_event
from tests.rewards_support import attributed, lifecycle_story, voided
from tests.unit.rewards_world import FAR_FUTURE, World, programme

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def story(
    *statuses: str,
    tenant: str = "aff",
    amount: str = "100.00",
    currency: str = "EUR",
    offer_id: str | None = None,
) -> World:
    """Member m-1 attributed to order o-1 first, then the order's statuses."""
    world = World(programme(tenant))
    world.deliver(attributed(tenant, "o-1", "m-1", T0))
    events = lifecycle_story(tenant, "o-1", statuses, T0, amount, currency, offer_id)
    return world.deliver_all(events)


def challenges(world: World) -> list[str]:
    return sorted(r.challenge_id for _, r in world.rewards)


# --- seed scenarios ---


def test_pending_ok_cancelled_grants_the_reward_and_keeps_it() -> None:
    world = World(programme("loy"))
    world.deliver(attributed("loy", "o-1", "m-1", T0))
    events = lifecycle_story("loy", "o-1", ["Pending", "OK", "Cancelled"], T0)
    world.deliver_all(events[:3])  # Pending, then OK (status_changed + order.confirmed)
    assert challenges(world) == ["first-order"]
    world.deliver_all(events[3:])
    assert challenges(world) == ["first-order"]
    assert world.kinds("o-1") == [("accrued", "10.50")], "cancelled is not in reverse_on"


def test_never_ok_order_grants_nothing_and_accrues_nothing() -> None:
    world = story("Pending", "Cancelled", tenant="loy")
    assert world.rewards == [] and world.ledger == []


def test_pixel_tracked_processing_sale_refund_accrues_then_reverses() -> None:
    world = World(programme())
    world.deliver(attributed("aff", "o-1", "m-1", T0))
    events = lifecycle_story("aff", "o-1", ["Pixel Tracked", "Processing", "Sale", "Refund"], T0)
    world.deliver_all(events[:2])
    assert world.ledger == [], "pending statuses earn nothing"
    world.deliver_all(events[2:4])
    assert world.kinds("o-1") == [("accrued", "10.50")]
    world.deliver_all(events[4:])
    assert world.kinds("o-1") == [("accrued", "10.50"), ("reversed", "-10.50")]
    assert world.entries("o-1")[1].reason == "order_refunded"


def test_suppression_then_sale_accrues_only_at_sale() -> None:
    world = World(programme())
    world.deliver(attributed("aff", "o-1", "m-1", T0))
    events = lifecycle_story("aff", "o-1", ["Suppression", "Sale"], T0)
    world.deliver(events[0])
    assert world.ledger == []
    world.deliver_all(events[1:])
    assert world.kinds("o-1") == [("accrued", "10.50")]
    assert world.entries("o-1")[0].occurred_at == T0 + timedelta(hours=1)


def test_duplicate_accrues_nothing_even_if_a_sale_follows() -> None:
    assert story("Duplicate").ledger == []
    later_sale = story("Pending", "Duplicate", "Sale")
    assert later_sale.ledger == [] and later_sale.rewards == []


def test_three_orders_in_thirty_days_complete_orders_in_days_on_the_third() -> None:
    world = World(programme())
    for n, day in enumerate([0, 10, 25]):
        start = T0 + timedelta(days=day)
        world.deliver(attributed("aff", f"o-{n}", "m-1", start))
        world.deliver_all(lifecycle_story("aff", f"o-{n}", ["Sale"], start))
    rewarded = sorted((r.challenge_id, o) for o, r in world.rewards)
    assert [o for c, o in rewarded if c == "three-in-thirty"] == ["o-2"]
    assert [o for c, o in rewarded if c == "first-order"] == ["o-0"]


def test_three_orders_spread_over_forty_days_do_not_complete_orders_in_days() -> None:
    world = World(programme())
    for n, day in enumerate([0, 20, 40]):
        start = T0 + timedelta(days=day)
        world.deliver(attributed("aff", f"o-{n}", "m-1", start))
        world.deliver_all(lifecycle_story("aff", f"o-{n}", ["Sale"], start))
    assert "three-in-thirty" not in challenges(world)


# --- either arrival order ---


def test_attribution_after_confirmation_decides_the_same() -> None:
    first = story("Sale", "Refund")
    late = World(programme()).deliver_all(lifecycle_story("aff", "o-1", ["Sale", "Refund"], T0))
    assert late.ledger == [] and late.rewards == [], "nothing without an attribution"
    late.deliver(attributed("aff", "o-1", "m-1", T0))
    assert late.ledger_view() == first.ledger_view()
    assert late.reward_view() == first.reward_view()


def test_void_before_confirmation_accrues_nothing() -> None:
    world = World(programme())
    world.deliver(attributed("aff", "o-1", "m-1", T0))
    world.deliver(voided("aff", "o-1", "m-1", T0))
    world.deliver_all(lifecycle_story("aff", "o-1", ["Sale"], T0))
    assert world.ledger == [] and world.rewards == []


def test_void_after_accrual_reverses_once() -> None:
    world = story("Sale")
    world.deliver(voided("aff", "o-1", "m-1", T0 + timedelta(hours=2)))
    world.deliver(voided("aff", "o-1", "m-1", T0 + timedelta(hours=2)))
    assert world.kinds("o-1") == [("accrued", "10.50"), ("reversed", "-10.50")]
    assert world.entries("o-1")[1].reason == "attribution_voided"
    assert challenges(world) == ["first-order"], "rewards are never taken back"


def test_refund_after_a_void_does_not_reverse_twice() -> None:
    world = story("Sale")
    world.deliver(voided("aff", "o-1", "m-1", T0 + timedelta(hours=2)))
    world.deliver_all(lifecycle_story("aff", "o-1", ["Sale", "Refund"], T0)[2:])
    assert [k for k, _ in world.kinds("o-1")] == ["accrued", "reversed"]


def test_a_credit_granted_again_after_a_void_earns_on_a_new_line() -> None:
    world = story("Sale")
    world.deliver(voided("aff", "o-1", "m-1", T0, model="last_touch", touchpoint_id="tp-1"))
    world.deliver(attributed("aff", "o-1", "m-1", T0, model="last_touch", touchpoint_id="tp-2"))
    entries = world.entries("o-1")
    assert [e.kind for e in entries] == [Kind.ACCRUED, Kind.REVERSED, Kind.ACCRUED]
    assert entries[0].line_id == entries[1].line_id != entries[2].line_id
    assert sum(e.amount for e in entries) == Decimal("10.50")
    assert challenges(world) == ["first-order"], (
        "challenges are evaluated once per member and order"
    )


def test_a_second_credit_of_the_same_member_waits_while_the_first_earns() -> None:
    world = story("Sale")
    world.deliver(attributed("aff", "o-1", "m-1", T0, model="last_touch", touchpoint_id="tp-1"))
    assert world.kinds("o-1") == [("accrued", "10.50")]
    world.deliver(voided("aff", "o-1", "m-1", T0, model="explicit"))
    assert world.kinds("o-1") == [
        ("accrued", "10.50"),
        ("reversed", "-10.50"),
        ("accrued", "10.50"),
    ]


def test_two_members_of_one_order_each_earn_and_each_are_rewarded() -> None:
    world = story("Sale")
    world.deliver(attributed("aff", "o-1", "m-2", T0))
    assert sorted(e.member_id for e in world.entries("o-1")) == ["m-1", "m-2"]
    assert sorted(r.member_id for _, r in world.rewards) == ["m-1", "m-2"]


# --- reversal categories ---


def test_reverse_on_follows_the_tenant_configuration() -> None:
    world = World(programme("loy", reverse_on=["cancelled"]))
    world.deliver(attributed("loy", "o-1", "m-1", T0))
    world.deliver_all(lifecycle_story("loy", "o-1", ["OK", "Cancelled", "Refunded"], T0))
    assert world.kinds("o-1") == [("accrued", "10.50"), ("reversed", "-10.50")]
    assert world.entries("o-1")[1].reason == "order_cancelled"
    assert challenges(world) == ["first-order"]


def test_late_ok_of_an_order_already_in_a_reverse_on_category_reverses() -> None:
    world = World(programme("loy", reverse_on=["cancelled"]))
    world.deliver(attributed("loy", "o-1", "m-1", T0))
    (cancelled,) = lifecycle_story("loy", "o-1", ["Cancelled"], T0 + timedelta(hours=1))
    late_ok = lifecycle_story("loy", "o-1", ["OK"], T0)[1]  # only order.confirmed is emitted
    world.deliver_all([cancelled, late_ok])
    assert world.kinds("o-1") == [("accrued", "10.50"), ("reversed", "-10.50")]


def test_chargeback_reverses_and_statuses_without_ok_reverse_nothing() -> None:
    assert story("Sale", "Chargeback").kinds("o-1")[-1] == ("reversed", "-10.50")
    assert story("Pending", "Refund").ledger == []


# --- approval ---


def test_approval_fires_once_after_holding_and_not_before() -> None:
    world = story("Sale")
    due = T0 + timedelta(days=30)
    assert world.fire_timers(due - timedelta(seconds=1)) == 0
    assert world.fire_timers(due) == 1
    assert world.fire_timers(due + FAR_FUTURE) == 0
    assert world.kinds("o-1") == [("accrued", "10.50"), ("approved", "10.50")]
    assert world.entries("o-1")[1].occurred_at == due


def test_a_reversal_cancels_the_approval_timer() -> None:
    world = story("Sale", "Refund")
    assert world.fire_timers(T0 + FAR_FUTURE) == 0
    assert [k for k, _ in world.kinds("o-1")] == ["accrued", "reversed"]


def test_a_reversal_after_approval_is_recorded_and_flagged() -> None:
    world = story("Sale")
    world.fire_timers(T0 + FAR_FUTURE)
    world.deliver_all(lifecycle_story("aff", "o-1", ["Sale", "Refund"], T0)[2:])
    reversal = world.entries("o-1")[-1]
    assert (reversal.kind, reversal.amount) == (Kind.REVERSED, Decimal("-10.50"))
    assert reversal.reason == "order_refunded_after_approval" and reversal.after_approval


def test_holding_days_zero_makes_the_accrual_due_at_confirmation() -> None:
    world = World(programme(holding_days=0))
    world.deliver(attributed("aff", "o-1", "m-1", T0))
    world.deliver_all(lifecycle_story("aff", "o-1", ["Sale"], T0))
    assert world.fire_timers(T0) == 1


# --- amounts ---


def test_per_offer_rate_replaces_the_default() -> None:
    assert story("Sale", offer_id="offer-premium").kinds("o-1") == [("accrued", "15.00")]
    assert story("Sale", offer_id="offer-trial").kinds("o-1") == [("accrued", "5.00")]
    assert story("Sale", offer_id="offer-other").kinds("o-1") == [("accrued", "10.50")]


def test_commission_rounds_half_even_to_the_currency_minor_units() -> None:
    # 10 % + 0.50: 10.505 -> 10.50 (even), 10.515 -> 10.52 (even)
    assert story("Sale", amount="100.05").kinds("o-1") == [("accrued", "10.50")]
    assert story("Sale", amount="100.15").kinds("o-1") == [("accrued", "10.52")]
    # 15 % of 1030 JPY = 154.5 -> 154 (no minor units); of 10.030 KWD = 1.5045 -> 1.504
    premium = {"offer_id": "offer-premium"}
    assert story("Sale", amount="1030", currency="JPY", **premium).kinds("o-1") == [
        ("accrued", "154")
    ]
    assert story("Sale", amount="10.030", currency="KWD", **premium).kinds("o-1") == [
        ("accrued", "1.504")
    ]


def test_zero_commission_writes_no_entry_but_still_rewards() -> None:
    world = World(programme(percent="0", fixed="0"))
    world.deliver(attributed("aff", "o-1", "m-1", T0))
    world.deliver_all(lifecycle_story("aff", "o-1", ["Sale"], T0))
    assert world.ledger == [] and challenges(world) == ["first-order"]


def test_an_order_without_amount_accrues_nothing_and_fails_min_amount() -> None:
    world = World(programme())
    world.deliver(attributed("aff", "o-1", "m-1", T0))
    world.deliver_all(lifecycle_story("aff", "o-1", ["Sale"], T0, amount=None))
    assert world.ledger == [] and challenges(world) == ["first-order"]


# --- challenges on the order ---


def test_min_amount_and_item_conditions_are_read_from_the_confirmed_order() -> None:
    world = World(programme())
    world.deliver(attributed("aff", "o-1", "m-1", T0))
    items = [{"category": "shoes", "offer_id": "offer-premium"}]
    world.deliver_all(lifecycle_story("aff", "o-1", ["Sale"], T0, "250.00", items=items))
    assert challenges(world) == ["big-basket", "first-order", "premium-shoes"]


def test_every_condition_of_a_challenge_must_hold() -> None:
    world = World(programme())
    world.deliver(attributed("aff", "o-1", "m-1", T0))
    items = [{"category": "hats", "offer_id": "offer-premium"}]
    world.deliver_all(lifecycle_story("aff", "o-1", ["Sale"], T0, items=items))
    assert "premium-shoes" not in challenges(world)


def test_events_of_no_interest_change_nothing() -> None:
    world = story("Sale")
    before = (list(world.ledger), list(world.rewards))
    expired = new_event(
        type="order.expired",
        tenant="aff",
        order_id="o-1",
        occurred_at=T0,
        causation_id="x",
        correlation_id="x",
        data={},
    )
    world.deliver(expired)
    assert (world.ledger, world.rewards) == before


def test_a_credit_announced_again_as_confirmed_is_the_same_line() -> None:
    world = story("Sale")
    world.deliver(attributed("aff", "o-1", "m-1", T0, confirmed=True))
    world.deliver(voided("aff", "o-1", "m-1", T0 + timedelta(hours=3)))
    assert world.kinds("o-1") == [("accrued", "10.50"), ("reversed", "-10.50")]
    assert len(world.books["o-1"].lines) == 1
