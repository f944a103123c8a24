"""What a report, a touchpoint, a lifecycle event or a sale confirmation does to an order's credits.

Pure: the handler loads the order's state and the touchpoints that may concern it, calls
`decide`, and saves what comes back. `decide` first takes the fact into the order's facts
(first report time, customer, contributors, Has OK, duplicate, confirmation), then computes
the credits the order should have now (`credits.target_credits`) and emits the difference:
`order.attribution_voided` for credits that go, then `order.attributed` for credits that come.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from orderflow.services.attribution import sellers
from orderflow.services.attribution.confirmation import SaleConfirmed, confirm
from orderflow.services.attribution.credits import (
    Contributor,
    Credit,
    Model,
    Touch,
    last_touch,
    target_credits,
)
from orderflow.services.attribution.sellers import SellerChosen, Step
from orderflow.services.attribution.state import (
    ATTRIBUTED,
    VOIDED,
    Confirmation,
    CreditEvent,
    Decision,
    OrderAttribution,
    Refused,
)
from orderflow.shared.vocabulary import Category

__all__ = [
    "ATTRIBUTED",
    "VOIDED",
    "Confirmation",
    "Contributor",
    "Credit",
    "CreditEvent",
    "Decision",
    "Fact",
    "Lifecycle",
    "Model",
    "OrderAttribution",
    "Refused",
    "Reported",
    "SaleConfirmed",
    "SellerChosen",
    "Touch",
    "Touched",
    "absorb",
    "customer_after",
    "decide",
]


@dataclass(frozen=True)
class Reported:
    """One status report of the order (ingest's `order.reported`)."""

    report_id: str
    occurred_at: datetime
    category: Category | None = None
    customer_id: str | None = None
    contributors: tuple[Contributor, ...] = ()


@dataclass(frozen=True)
class Touched:
    """A touchpoint that may concern the order arrived; it is among the touches passed in."""

    touch: Touch

    @property
    def occurred_at(self) -> datetime:
        return self.touch.occurred_at


@dataclass(frozen=True)
class Lifecycle:
    """What the status tracker said about the order (orders.lifecycle.v1)."""

    occurred_at: datetime
    has_ok: bool
    duplicate: bool


Fact = Reported | Touched | Lifecycle | SaleConfirmed | SellerChosen
Command = SaleConfirmed | SellerChosen  # the HTTP side's facts: they may be Refused


def decide(
    state: OrderAttribution, fact: Fact, touches: Sequence[Touch], lookback: timedelta
) -> Decision:
    """Apply one fact; `touches` are the known touchpoints of the order's customer or naming it.

    Raises Refused when a sale confirmation or a seller choice conflicts with the order.
    """
    if isinstance(fact, SellerChosen):
        return _settle(state, sellers.assignment(state, fact), touches, lookback, fact.occurred_at)
    if isinstance(fact, SaleConfirmed):
        if sellers.confirmation_step(state, fact.manager_id, fact.path) is Step.REPEAT:
            return _settle(state, state, touches, lookback, fact.occurred_at)
        # The confirmed seller is pinned like a choice: a later report changes nothing.
        moved = sellers.chosen(state, fact.manager_id)
        current = _settle(state, moved, touches, lookback, fact.occurred_at)
        confirmed = confirm(current.state, fact)
        return Decision(confirmed.state, (*current.events, *confirmed.events))
    return _settle(state, absorb(state, fact), touches, lookback, fact.occurred_at)


def customer_after(state: OrderAttribution, fact: Fact) -> str | None:
    """The order's customer once the fact is taken in: whose touchpoints the decision reads."""
    return state.customer_id if isinstance(fact, Command) else absorb(state, fact).customer_id


def absorb(state: OrderAttribution, fact: Reported | Touched | Lifecycle) -> OrderAttribution:
    """The order's facts with this one taken in; commutative, so arrival order does not matter."""
    if isinstance(fact, Touched):
        return state
    if isinstance(fact, Lifecycle):
        return replace(
            state, has_ok=state.has_ok or fact.has_ok, duplicate=state.duplicate or fact.duplicate
        )
    return _reported(state, fact)


def _reported(state: OrderAttribution, fact: Reported) -> OrderAttribution:
    ordered_at = fact.occurred_at
    if state.ordered_at is not None:
        ordered_at = min(ordered_at, state.ordered_at)
    # The customer of the earliest report that names one, so a late earlier report decides.
    rank = (fact.occurred_at, fact.report_id)
    customer, customer_rank = state.customer_id, state.customer_rank
    if fact.customer_id is not None and (customer_rank is None or rank < customer_rank):
        customer, customer_rank = fact.customer_id, rank
    # Once per member: the first `via` a member was named with stays.
    named = {c.member_id for c in state.contributors}
    added: list[Contributor] = []
    for contributor in fact.contributors:
        if contributor.member_id not in named:
            named.add(contributor.member_id)
            added.append(contributor)
    return replace(
        state,
        reported=True,
        ordered_at=ordered_at,
        customer_id=customer,
        customer_rank=customer_rank,
        contributors=(*state.contributors, *added),
        has_ok=state.has_ok or fact.category is Category.CONFIRMED,
    )


def _settle(
    before: OrderAttribution,
    after: OrderAttribution,
    touches: Sequence[Touch],
    lookback: timedelta,
    at: datetime,
) -> Decision:
    target = _target(after, touches, lookback)
    # A credit is the same while its key and `via` are (a reassignment may change the `via`).
    old = {(c.key, c.via) for c in before.credits}
    new = {(c.key, c.via) for c in target}
    gone = [c for c in before.credits if (c.key, c.via) not in new]
    came = [c for c in target if (c.key, c.via) not in old]
    reason = _void_reason(after, target)
    events = [_voided(c, after, at, sellers.void_reason(after, c) or reason) for c in gone]
    events += [_attributed(c, after, at) for c in came]
    granted = (*after.granted, *(c.key for c in came))
    return Decision(replace(after, credits=target, granted=granted), tuple(events))


def _target(
    state: OrderAttribution, touches: Sequence[Touch], lookback: timedelta
) -> tuple[Credit, ...]:
    if not state.reported or state.duplicate or state.ordered_at is None:
        return ()
    best = last_touch(state.order_id, state.customer_id, state.ordered_at, touches, lookback)
    return target_credits(state.credits, sellers.contributors(state), best, state.fixed)


def _void_reason(state: OrderAttribution, target: Sequence[Credit]) -> str:
    if state.duplicate:
        return "duplicate"
    if any(c.model is Model.EXPLICIT for c in target):
        return "explicit_contributor"
    return "superseded" if target else "outside_window"


def _attributed(credit: Credit, state: OrderAttribution, at: datetime) -> CreditEvent:
    generation = state.granted.count(credit.key)
    return CreditEvent(ATTRIBUTED, credit, at, f"{ATTRIBUTED}:{credit.key}:{generation}")


def _voided(credit: Credit, state: OrderAttribution, at: datetime, reason: str) -> CreditEvent:
    # Voids the latest grant of this credit; numbered like it, so a re-grant has new ids.
    generation = state.granted.count(credit.key) - 1
    return CreditEvent(VOIDED, credit, at, f"{VOIDED}:{credit.key}:{generation}", reason=reason)
