"""A sale's confirmation: by its sales manager, or by the system when no manager sold it.

Pure. `sellers.confirmation_step` says whether a confirmation repeats, confirms the recorded
seller, or first reassigns the sale (CONTRACTS §14) and is refused otherwise; `confirm`
then records the confirmation with its time and marks the credits it confirms. Who
confirmed can never change afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from orderflow.services.attribution.sellers import managers
from orderflow.services.attribution.state import (
    ATTRIBUTED,
    Confirmation,
    CreditEvent,
    Decision,
    OrderAttribution,
)

__all__ = ["SaleConfirmed", "confirm", "managers"]


@dataclass(frozen=True)
class SaleConfirmed:
    manager_id: str | None  # None: confirmed as a system sale
    occurred_at: datetime

    @property
    def path(self) -> str:
        """The request field this confirmation was given by (named in a refusal)."""
        return "manager_id" if self.manager_id is not None else "system"


def confirm(state: OrderAttribution, fact: SaleConfirmed) -> Decision:
    """Record the confirmation of the order's current seller and mark the credits it confirms."""
    confirmation = Confirmation(fact.manager_id, fact.occurred_at)
    credits = tuple(
        replace(c, confirmed=True) if _confirms(fact, c.member_id) else c for c in state.credits
    )
    events = tuple(
        CreditEvent(ATTRIBUTED, c, fact.occurred_at, f"confirmed:{c.key}", None, confirmation)
        for c in credits
        if c.confirmed
    )
    return Decision(replace(state, confirmation=confirmation, credits=credits), events)


def _confirms(fact: SaleConfirmed, member_id: str) -> bool:
    # A manager confirms their own credit; the system confirms the credits of a system sale.
    return fact.manager_id is None or member_id == fact.manager_id
