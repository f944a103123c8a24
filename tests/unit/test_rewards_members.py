"""The member-keyed step: member facts on the wire, and what a member's counted orders decide."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from orderflow.services.rewards import messages
from orderflow.services.rewards.challenges import MemberState, count, window
from orderflow.services.rewards.entries import CountedOrder
from orderflow.services.rewards.folds import MemberInput, fold_members
from tests.rewards_support import attributed, lifecycle_story
from tests.unit.rewards_world import World, programme

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PROGRAMME = programme()


def order(order_id: str, at: datetime = T0, member: str = "m-1") -> CountedOrder:
    return CountedOrder(
        tenant="aff",
        member_id=member,
        order_id=order_id,
        confirmed_at=at,
        amount=Decimal("250.00"),
        currency="EUR",
        offer_id="offer-premium",
        item_offers=frozenset({"offer-x"}),
        item_categories=frozenset({"shoes"}),
        cause=f"cause-{order_id}",
    )


def test_a_member_fact_round_trips_and_is_keyed_by_member() -> None:
    fact = order("o-1")
    envelope = messages.counted_envelope(fact, "chain:aff:o-1")
    assert messages.counted_fact(envelope) == fact
    assert messages.member_key(fact) == b"aff:m-1"
    assert (envelope.order_id, envelope.causation_id) == ("o-1", "cause-o-1")
    assert envelope.correlation_id == "chain:aff:o-1"


def test_a_member_facts_id_is_what_it_is_not_what_caused_it() -> None:
    first = messages.counted_envelope(order("o-1"), "c")
    again = messages.counted_envelope(replace(order("o-1"), cause="other"), "c")
    other_member = messages.counted_envelope(order("o-1", member="m-2"), "c")
    assert first.event_id == again.event_id != other_member.event_id


def test_the_first_counted_order_of_a_member_earns_first_order_and_counts_once() -> None:
    decision = count(MemberState(), order("o-1"), PROGRAMME)
    assert sorted(r.challenge_id for r in decision.rewards) == [
        "big-basket",
        "first-order",
        "premium-shoes",
    ]
    assert all(r.cause == "cause-o-1" for r in decision.rewards)
    assert decision.state.order_count == 1 and decision.counted == order("o-1")
    repeat = count(decision.state, order("o-1"), PROGRAMME)
    assert (repeat.state, repeat.counted, repeat.rewards) == (decision.state, None, ())
    second = count(decision.state, order("o-2", T0 + timedelta(days=1)), PROGRAMME)
    assert "first-order" not in {r.challenge_id for r in second.rewards}


def test_a_batch_of_one_members_facts_folds_in_offset_order() -> None:
    days = [0, 10, 25]
    items = [MemberInput(order(f"o-{d}", T0 + timedelta(days=d)), "c") for d in days]
    items.insert(2, items[0])  # a repeat inside the batch
    decisions = fold_members({}, items, {"aff": PROGRAMME})
    rewarded = [
        (d.counted.order_id, r.challenge_id) for d, _ in decisions if d.counted for r in d.rewards
    ]
    assert ("o-0", "first-order") in rewarded and ("o-25", "three-in-thirty") in rewarded
    assert [d.counted is None for d, _ in decisions] == [False, False, True, False]
    assert decisions[-1][0].state.order_count == 3


def test_the_window_is_the_widest_orders_in_days_of_the_programme() -> None:
    assert window(PROGRAMME) == timedelta(days=30)


def test_rewards_wait_for_the_member_step_and_the_ledger_does_not() -> None:
    world = World(PROGRAMME, eager=False)
    world.deliver(attributed("aff", "o-1", "m-1", T0))
    world.deliver_all(lifecycle_story("aff", "o-1", ["Sale"], T0))
    assert world.kinds("o-1") == [("accrued", "10.50")] and world.rewards == []
    assert len(world.member_queue) == 1
    world.consume_member_facts()
    world.member_queue.extend(world.published)  # the member fact delivered again
    world.consume_member_facts()
    assert [r.challenge_id for _, r in world.rewards] == ["first-order"]
