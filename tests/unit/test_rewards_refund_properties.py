"""Refunds, the accrual and the whole reversal in any arrival order (CONTRACTS §8).

The status tracker publishes an order's lifecycle events (its confirmation, each refund, a
chargeback) in upstream time order on one partition; the credit comes on another topic, so
the accrual may happen before, between or after them. Whatever that position, the ledger is
the same entries. Shuffled entirely and delivered twice, it still nets to the same per
member and never takes back more than was accrued.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from orderflow.shared.envelope import Envelope
from tests.refund_support import refunded
from tests.rewards_support import attributed, lifecycle_story
from tests.unit.rewards_world import World, programme

T0 = datetime(2026, 5, 1, tzinfo=UTC)
PROGRAMME = programme(holding_days=3650)


@st.composite
def stories(draw: st.DrawFn) -> tuple[list[Envelope], Envelope]:
    """(the lifecycle events in upstream time order, the credit)."""
    cents = draw(st.sampled_from([10000, 1999, 3, 25050]))
    amount = Decimal(cents).scaleb(-2)
    parts = draw(st.lists(st.integers(1, max(1, cents // 2)), max_size=4))
    events = lifecycle_story("aff", "o-1", ["Sale"], T0, format(amount, "f"))
    total = 0
    for n, part in enumerate(parts, 1):
        if total + part > cents:
            break
        total += part
        full = total == cents
        events.append(
            refunded("aff", "o-1", T0 + timedelta(hours=n), _money(part), _money(total),
                     format(amount, "f"), full=full)
        )  # fmt: skip
    ending = draw(st.sampled_from(["none", "full_refund", "chargeback"]))
    if ending == "full_refund" and total < cents:
        at = T0 + timedelta(hours=10)
        events.append(
            refunded("aff", "o-1", at, _money(cents - total), _money(cents), format(amount, "f"),
                     full=True)
        )  # fmt: skip
    if ending == "chargeback":
        story = lifecycle_story("aff", "o-1", ["Sale", "Chargeback"], T0, format(amount, "f"),
                                step=timedelta(hours=20))  # fmt: skip
        events += story[2:]
    return events, attributed("aff", "o-1", "m-1", T0)


def _money(cents: int) -> str:
    return format(Decimal(cents).scaleb(-2), "f")


def net_by_member(world: World) -> dict[str, Decimal]:
    net: dict[str, Decimal] = defaultdict(Decimal)
    for e in world.entries():
        if e.kind.value != "approved":
            net[e.member_id] += e.amount
    return dict(net)


@settings(max_examples=150, deadline=None)
@given(story=stories(), data=st.data())
def test_wherever_the_accrual_falls_among_the_lifecycle_events_the_ledger_is_the_same(
    story: tuple[list[Envelope], Envelope], data: st.DataObject
) -> None:
    lifecycle, credit = story
    reference = World(PROGRAMME).deliver_all([credit, *lifecycle])
    at = data.draw(st.integers(0, len(lifecycle)))
    moved = World(PROGRAMME).deliver_all([*lifecycle[:at], credit, *lifecycle[at:]])
    assert moved.ledger_view() == reference.ledger_view()
    accrued = sum((e.amount for e in reference.entries() if e.kind.value == "accrued"), Decimal(0))
    taken = -sum(e.amount for e in reference.entries() if e.kind.value == "reversed")
    assert taken == expected_taken(lifecycle, accrued)


def expected_taken(lifecycle: list[Envelope], accrued: Decimal) -> Decimal:
    """The rule computed directly: each partial's share rounded half-even to cents, capped;
    a full refund or a chargeback takes what is left."""
    taken = Decimal(0)
    for event in lifecycle:
        if event.type == "order.reversed" or event.data.get("full") is True:
            return accrued
        if event.type == "order.refunded":
            exact = (
                accrued * Decimal(event.data["refund_amount"]) / Decimal(event.data["order_amount"])
            )
            share = exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
            taken = min(accrued, taken + share)
    return taken


@settings(max_examples=150, deadline=None)
@given(story=stories(), data=st.data())
def test_in_any_order_and_delivered_twice_the_net_is_the_same_and_never_negative(
    story: tuple[list[Envelope], Envelope], data: st.DataObject
) -> None:
    lifecycle, credit = story
    reference = World(PROGRAMME).deliver_all([credit, *lifecycle])
    everything = [credit, *lifecycle]
    shuffled = data.draw(st.permutations(everything + everything))
    world = World(PROGRAMME).deliver_all(shuffled)
    assert net_by_member(world) == net_by_member(reference)
    assert all(amount >= 0 for amount in net_by_member(world).values())
    ids = [e.entry_id for e in world.entries()]
    assert len(ids) == len(set(ids)), "every entry once, with an id of its own"
