"""A sale's confirmation: by its sales manager, or by the system when no manager sold it.

Pure. An order with a `sales_manager` contributor is a manager sale and is confirmed by one
of its managers; any other order is a system sale and is confirmed with `system`. The first
confirmation is recorded with its time; the same one again changes nothing; a different one
is refused, so who confirmed can never change afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from orderflow.services.attribution.state import (
    ATTRIBUTED,
    Confirmation,
    CreditEvent,
    Decision,
    OrderAttribution,
    Refused,
)
from orderflow.shared.vocabulary import ContributorVia


@dataclass(frozen=True)
class SaleConfirmed:
    manager_id: str | None  # None: confirmed as a system sale
    occurred_at: datetime

    @property
    def path(self) -> str:
        """The request field this confirmation was given by (named in a refusal)."""
        return "manager_id" if self.manager_id is not None else "system"


def managers(state: OrderAttribution) -> list[str]:
    return [c.member_id for c in state.contributors if c.via is ContributorVia.SALES_MANAGER]


def confirm(state: OrderAttribution, fact: SaleConfirmed) -> Decision:
    """Record the confirmation and mark the credits it confirms; the same state when repeated."""
    if state.duplicate:
        raise Refused("", "the order is a duplicate: it is credited to another tracking system")
    if state.confirmation is not None:
        if state.confirmation.manager_id == fact.manager_id:
            return Decision(state, ())
        done = state.confirmation
        raise Refused(
            fact.path,
            f"the sale was already confirmed by {done.confirmed_by} at "
            f"{done.confirmed_at.isoformat()}; who confirmed a sale cannot be changed",
        )
    _check_seller(state, fact)
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


def _check_seller(state: OrderAttribution, fact: SaleConfirmed) -> None:
    sellers = managers(state)
    if fact.manager_id is None and sellers:
        raise Refused(
            "system",
            f"the order is a sale of sales manager {', '.join(sellers)}; confirm it with manager_id",
        )
    if fact.manager_id is not None and fact.manager_id not in sellers:
        seller = (
            f"sales manager {', '.join(sellers)}" if sellers else 'the system ({"system": true})'
        )
        raise Refused("manager_id", f"{fact.manager_id!r} did not sell this order: {seller} did")


def _confirms(fact: SaleConfirmed, member_id: str) -> bool:
    # A manager confirms their own credit; the system confirms the credits of a system sale.
    return fact.manager_id is None or member_id == fact.manager_id
