"""Challenge conditions (CONTRACTS §6 `challenges[].when`): one small pure function each.

A condition kind is a field of `ChallengeWhen` in shared/tenants.py plus its function in
`CONDITIONS` here; a challenge is completed when every condition it sets holds (a challenge
that sets none is completed by every attributed confirmed order).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from orderflow.shared.instants import days, later
from orderflow.shared.tenants import ChallengeWhen, OrdersInDays


@dataclass(frozen=True)
class MemberStats:
    """What was known of the member before this order, in upstream (event) time."""

    order_count: int = 0
    last_purchase_at: datetime | None = None
    # Confirmation times of the member's counted orders near this one (the window conditions need).
    order_times: tuple[datetime, ...] = ()


@dataclass(frozen=True)
class Candidate:
    """One attributed order that just became Has OK, seen from one member."""

    confirmed_at: datetime
    amount: Decimal | None
    offer_id: str | None
    item_offers: frozenset[str]
    item_categories: frozenset[str]
    prior: MemberStats
    customer_segments: frozenset[str] = frozenset()


def first_order_of_member(_wanted: bool, candidate: Candidate) -> bool:
    # Counted in evaluation order, so the reward goes to exactly one order per member even
    # when an earlier order (in upstream time) is confirmed late.
    return candidate.prior.order_count == 0


def min_amount(minimum: Decimal, candidate: Candidate) -> bool:
    return candidate.amount is not None and candidate.amount >= minimum


def orders_in_days(rule: OrdersInDays, candidate: Candidate) -> bool:
    """`count` orders of the member, this one among them, within some span of `days` days.

    Any span containing this order counts, not only the days before it, so three orders in a
    month complete it once all three are known, whichever was confirmed last upstream.
    """
    span = days(rule.days)
    at = candidate.confirmed_at
    times = sorted([*candidate.prior.order_times, at])
    ends = {start: later(start, span) for start in times}
    return any(
        start <= at <= ends[start] and sum(start <= t <= ends[start] for t in times) >= rule.count
        for start in times
    )


def offer_in(offers: tuple[str, ...], candidate: Candidate) -> bool:
    return candidate.offer_id in offers or not candidate.item_offers.isdisjoint(offers)


def category_in(categories: tuple[str, ...], candidate: Candidate) -> bool:
    return not candidate.item_categories.isdisjoint(categories)


def segment_in(segments: tuple[str, ...], candidate: Candidate) -> bool:
    """The order's customer was in one of `segments` once its confirmation counted (their
    segments then, this order included: docs/segments.md)."""
    return not candidate.customer_segments.isdisjoint(segments)


Condition = Callable[[Any, Candidate], bool]

CONDITIONS: dict[str, Condition] = {
    "first_order_of_member": first_order_of_member,
    "min_amount": min_amount,
    "orders_in_days": orders_in_days,
    "offer_in": offer_in,
    "category_in": category_in,
    "segment_in": segment_in,
}


def set_conditions(when: ChallengeWhen) -> Iterator[tuple[str, Any]]:
    """The conditions a challenge sets: every field that is not left at None or false."""
    for name in type(when).model_fields:
        value = getattr(when, name)
        if value is not None and value is not False:
            yield name, value


def completed(when: ChallengeWhen, candidate: Candidate) -> bool:
    return all(CONDITIONS[name](value, candidate) for name, value in set_conditions(when))


def widest_window(whens: list[ChallengeWhen]) -> timedelta:
    """How far around an order the member's order times are needed (0 when no window is set)."""
    spans = [w.orders_in_days.days for w in whens if w.orders_in_days is not None]
    return days(max(spans, default=0))
