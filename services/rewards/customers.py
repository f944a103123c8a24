"""A customer's statistics and segment membership: what an order or the clock changes. Pure.

Statistics fold Has OK orders in by confirmation time (count, spent per currency, first and
last purchase), so they are the same whatever order the confirmations arrive in. Membership
is the tenant's segments evaluated on them at `now`; a change is a `Move` (entered or left),
and `due_at` is the next instant a time condition can change it without a new order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from orderflow.services.rewards.segment_conditions import CustomerStats, holds, next_change
from orderflow.shared.tenant_segments import Segment


@dataclass(frozen=True)
class Purchase:
    """One Has OK order of a customer (`order.confirmed`)."""

    order_id: str
    confirmed_at: datetime
    amount: Decimal | None
    currency: str | None


@dataclass(frozen=True)
class Customer:
    tenant: str
    customer_id: str
    stats: CustomerStats = field(default_factory=CustomerStats)
    segments: frozenset[str] = frozenset()
    due_at: datetime | None = None


@dataclass(frozen=True)
class Move:
    customer_id: str
    segment_id: str
    entered: bool


def counted(stats: CustomerStats, purchase: Purchase) -> CustomerStats:
    spent = dict(stats.spent)
    if purchase.amount is not None and purchase.currency is not None:
        spent[purchase.currency] = spent.get(purchase.currency, Decimal(0)) + purchase.amount
    at, first, last = purchase.confirmed_at, stats.first_purchase_at, stats.last_purchase_at
    return replace(
        stats,
        orders_count=stats.orders_count + 1,
        spent=spent,
        first_purchase_at=at if first is None else min(first, at),
        last_purchase_at=at if last is None else max(last, at),
    )


def members(segments: Sequence[Segment], stats: CustomerStats, now: datetime) -> frozenset[str]:
    return frozenset(s.id for s in segments if holds(s.when, stats, now))


def due(segments: Sequence[Segment], stats: CustomerStats, now: datetime) -> datetime | None:
    times = [next_change(s.when, stats, now) for s in segments]
    return min((t for t in times if t is not None), default=None)


def evaluated(
    customer: Customer, segments: Sequence[Segment], now: datetime
) -> tuple[Customer, list[Move]]:
    """The customer with membership and timer as of `now`, and the moves that took."""
    after = members(segments, customer.stats, now)
    moves = [Move(customer.customer_id, s, True) for s in sorted(after - customer.segments)]
    moves += [Move(customer.customer_id, s, False) for s in sorted(customer.segments - after)]
    updated = replace(customer, segments=after, due_at=due(segments, customer.stats, now))
    return updated, moves


def purchased(
    customer: Customer, purchases: Sequence[Purchase], segments: Sequence[Segment], now: datetime
) -> tuple[Customer, list[Move]]:
    stats = customer.stats
    for purchase in purchases:
        stats = counted(stats, purchase)
    return evaluated(replace(customer, stats=stats), segments, now)


def segments_at_each(
    customer: Customer, purchases: Sequence[Purchase], segments: Sequence[Segment], now: datetime
) -> list[frozenset[str]]:
    """The customer's segments right after each purchase counted, in the order they count
    (what a challenge's `segment_in` judges the order by)."""
    stats, found = customer.stats, []
    for purchase in purchases:
        stats = counted(stats, purchase)
        found.append(members(segments, stats, now))
    return found
