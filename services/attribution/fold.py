"""A batch's decisions folded in memory, in offset order, exactly as one-by-one handling decides.

Pure. The handler loads the batch's orders and every touchpoint that may concern them, then
applies each step here in offset order. A step sees what the steps before it left: the
order's state and correlation id, and the touchpoints stored so far. A touchpoint stored by
the batch itself becomes visible at its own first step, as its own record would have stored
it just before deciding; until then it is hidden from the other steps.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from orderflow.services.attribution.domain import (
    CreditEvent,
    Lifecycle,
    OrderAttribution,
    Reported,
    Touch,
    Touched,
    absorb,
    decide,
)
from orderflow.services.attribution.state import CustomerKey, OrderKey
from orderflow.shared.envelope import Envelope


@dataclass(frozen=True)
class Step:
    """One fact about one order, caused by one fresh record of the batch."""

    tenant: str
    order_id: str
    fact: Reported | Touched | Lifecycle
    lookback: timedelta
    cause: Envelope

    @property
    def key(self) -> OrderKey:
        return (self.tenant, self.order_id)


@dataclass(frozen=True)
class Emitted:
    tenant: str
    order_id: str
    event: CreditEvent
    causation_id: str
    correlation_id: str


def customers_during(
    states: Mapping[OrderKey, OrderAttribution], steps: Iterable[Step]
) -> set[CustomerKey]:
    """Every customer the batch's orders have, before the batch and after each of its steps."""
    current = dict(states)
    found = {(tenant, s.customer_id) for (tenant, _), s in current.items() if s.customer_id}
    for step in steps:
        state = current[step.key] = absorb(_state(current, step), step.fact)
        if state.customer_id is not None:
            found.add((step.tenant, state.customer_id))
    return found


@dataclass
class Fold:
    """The batch's orders as the steps applied so far left them, and the events they emitted."""

    stored: Mapping[OrderKey, tuple[OrderAttribution, str | None]]
    touches: Mapping[str, Iterable[Touch]]  # per tenant, loaded after the batch's inserts
    hidden: Collection[tuple[str, str]] = ()  # (tenant, touchpoint_id) stored by this batch
    emitted: list[Emitted] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._states = {key: state for key, (state, _) in self.stored.items()}
        self._correlations = {key: correlation for key, (_, correlation) in self.stored.items()}
        self._visible = {
            tenant: {t.touchpoint_id: t for t in ts if (tenant, t.touchpoint_id) not in self.hidden}
            for tenant, ts in self.touches.items()
        }

    def apply(self, step: Step) -> None:
        visible = self._visible.setdefault(step.tenant, {})
        if isinstance(step.fact, Touched):
            visible.setdefault(step.fact.touch.touchpoint_id, step.fact.touch)
        decision = decide(
            _state(self._states, step), step.fact, list(visible.values()), step.lookback
        )
        known = self._correlations.get(step.key)
        correlation = known or step.cause.correlation_id
        if known is None and decision.state.reported:
            self._correlations[step.key] = correlation
        self._states[step.key] = decision.state
        self.emitted += [
            Emitted(step.tenant, step.order_id, e, step.cause.event_id, correlation)
            for e in decision.events
        ]

    def changed(self) -> list[tuple[str, OrderAttribution, str | None]]:
        """(tenant, state, correlation id) of each order the steps changed, to be saved."""
        saved = []
        for (tenant, order_id), state in self._states.items():
            before = self.stored.get((tenant, order_id), (OrderAttribution(order_id), None))
            correlation = self._correlations.get((tenant, order_id))
            if (state, correlation) != before:
                saved.append((tenant, state, correlation))
        return saved


def _state(states: Mapping[OrderKey, OrderAttribution], step: Step) -> OrderAttribution:
    return states.get(step.key) or OrderAttribution(step.order_id)
