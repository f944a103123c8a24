"""What a member's counted orders decide: the rewards of the tenant's challenges.

Pure. The member-keyed step (topic `rewards.member-facts.v1`, keyed `<tenant>:<member>`, so
one partition owns each member) loads each member's state, calls `count` for each counted
order in offset order, and saves what comes back. Because only that partition ever decides
about the member, its statistics need no lock: orders of one member decided on different
order partitions are serialised by the topic, not by waiting.

A member's orders count in the order they reach this step, so exactly one order earns
`first_order_of_member`; `count` of an order already counted decides nothing, so a repeated
member fact is harmless even without the inbox.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from orderflow.services.rewards import entries
from orderflow.services.rewards.conditions import (
    Candidate,
    MemberStats,
    completed,
    widest_window,
)
from orderflow.services.rewards.entries import CountedOrder, Programme, RewardGrant
from orderflow.shared.instants import earlier, later


@dataclass(frozen=True)
class MemberState:
    """What is known of one member: every counted order in `order_count`, and those near the
    orders at hand (at least `window` either side of them) as `(order_id, confirmed_at)`."""

    order_count: int = 0
    last_purchase_at: datetime | None = None
    near: frozenset[tuple[str, datetime]] = frozenset()

    def has_counted(self, order_id: str) -> bool:
        return any(o == order_id for o, _ in self.near)


@dataclass(frozen=True)
class MemberDecision:
    state: MemberState
    counted: CountedOrder | None = None  # None: the order had already been counted
    rewards: tuple[RewardGrant, ...] = ()


def window(programme: Programme) -> timedelta:
    """How far around an order the member's other orders are needed (0: no window is set)."""
    return widest_window([c.when for c in programme.challenges])


def count(state: MemberState, order: CountedOrder, programme: Programme) -> MemberDecision:
    """`order` counts for its member now: evaluate each challenge once, then count it."""
    if state.has_counted(order.order_id):
        return MemberDecision(state)
    candidate = Candidate(
        confirmed_at=order.confirmed_at,
        amount=order.amount,
        offer_id=order.offer_id,
        item_offers=order.item_offers,
        item_categories=order.item_categories,
        prior=_prior(state, order.confirmed_at, window(programme)),
        customer_segments=order.customer_segments,
    )
    grants = tuple(
        entries.granted(order, challenge)
        for challenge in programme.challenges
        if completed(challenge.when, candidate)
    )
    last = state.last_purchase_at
    counted = replace(
        state,
        order_count=state.order_count + 1,
        last_purchase_at=order.confirmed_at if last is None else max(last, order.confirmed_at),
        near=state.near | {(order.order_id, order.confirmed_at)},
    )
    return MemberDecision(counted, order, grants)


def _prior(state: MemberState, at: datetime, span: timedelta) -> MemberStats:
    """What was known of the member before this order, with its order times within `span`."""
    if state.order_count == 0:
        return MemberStats()
    times: tuple[datetime, ...] = ()
    if span > timedelta(0):
        since, until = earlier(at, span), later(at, span)
        times = tuple(sorted(t for _, t in state.near if since <= t <= until))
    return MemberStats(state.order_count, state.last_purchase_at, times)
