"""Builders for attribution's pure domain tests, and a player that applies facts in turn."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from orderflow.services.attribution.domain import (
    Contributor,
    CreditEvent,
    Fact,
    Lifecycle,
    OrderAttribution,
    Reported,
    SaleConfirmed,
    Touch,
    Touched,
    decide,
)
from orderflow.shared.vocabulary import Category, ContributorVia, TouchpointKind

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LOOKBACK = timedelta(days=30)
ORDER = "o-1"


def reported(
    report_id: str = "r-1",
    at: datetime = T0,
    category: Category | None = Category.PENDING,
    customer: str | None = "c-1",
    contributors: Iterable[tuple[str, ContributorVia]] = (),
) -> Reported:
    named = tuple(Contributor(member, via) for member, via in contributors)
    return Reported(report_id, at, category, customer, named)


def touched(
    touchpoint_id: str,
    member: str,
    before: timedelta,
    customer: str = "c-1",
    kind: TouchpointKind = TouchpointKind.CLICK,
    order_id: str | None = None,
) -> Touched:
    """A touchpoint that happened `before` the order's time T0."""
    return Touched(Touch(touchpoint_id, member, kind, customer, T0 - before, order_id))


def lifecycle(has_ok: bool = False, duplicate: bool = False) -> Lifecycle:
    return Lifecycle(T0 + timedelta(hours=1), has_ok, duplicate)


def confirmed(manager: str | None) -> SaleConfirmed:
    return SaleConfirmed(manager, T0 + timedelta(days=1))


@dataclass
class Play:
    """Facts applied one at a time, as the handlers do: each sees the touches known so far."""

    state: OrderAttribution = field(default_factory=lambda: OrderAttribution(ORDER))
    touches: list[Touch] = field(default_factory=list)
    events: list[CreditEvent] = field(default_factory=list)

    def apply(self, *facts: Fact) -> list[CreditEvent]:
        emitted: list[CreditEvent] = []
        for fact in facts:
            if isinstance(fact, Touched) and fact.touch not in self.touches:
                self.touches.append(fact.touch)
            decision = decide(self.state, fact, self.touches, LOOKBACK)
            self.state = decision.state
            emitted += decision.events
        self.events += emitted
        return emitted

    def credits(self) -> set[tuple[str, str, str | None]]:
        return {(c.member_id, c.model.value, c.touchpoint_id) for c in self.state.credits}


def summary(events: Iterable[CreditEvent]) -> list[tuple[str, str, str, str | None]]:
    """(type, member, model, touchpoint) of each event, in order."""
    return [
        (e.type, e.credit.member_id, e.credit.model.value, e.credit.touchpoint_id) for e in events
    ]
