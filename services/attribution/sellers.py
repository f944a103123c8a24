"""Who made the sale (CONTRACTS §14): the recorded sales managers, a chosen one, or the system.

Pure. Reports name sales managers as contributors; a person with `sales:confirm` may name
another manager, or the system, through `POST …/sales-manager` or in the sale confirmation.
The choice is stored on the order and overrides the reports' sales managers from then on,
whatever arrives later: the chosen manager is the order's one sales manager (or there is
none for the system), every other contributor stays. A confirmation records its seller as
the choice too, so a report arriving after it cannot add a sales manager. Which request does what is decided by
the two tables below (`assignment` and `confirmation_step`), one unit test per cell.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from orderflow.services.attribution.credits import Contributor, Credit, Model
from orderflow.services.attribution.state import OrderAttribution, Refused, SellerChoice
from orderflow.shared.vocabulary import ContributorVia

MANAGER = ContributorVia.SALES_MANAGER
REASSIGNED = "reassigned"


@dataclass(frozen=True)
class SellerChosen:
    """`POST …/sales-manager`: `manager_id`, or None for the system; not a confirmation."""

    manager_id: str | None
    occurred_at: datetime

    @property
    def path(self) -> str:
        return "manager_id" if self.manager_id is not None else "system"


class Step(StrEnum):
    """What a sale confirmation does, given the order (`confirmation_step`)."""

    REPEAT = "repeat"  # confirmed the same way before: nothing changes
    CONFIRM = "confirm"  # the choice is the recorded seller: confirm it (and pin it)
    REASSIGN_AND_CONFIRM = "reassign_and_confirm"  # another seller: reassign, then confirm


def contributors(state: OrderAttribution) -> tuple[Contributor, ...]:
    """The order's contributors once the seller choice, if any, is applied."""
    choice = state.choice
    if choice is None:
        return state.contributors
    others = tuple(
        c for c in state.contributors if c.via is not MANAGER and c.member_id != choice.manager_id
    )
    if choice.manager_id is None:
        return others
    return (*others, Contributor(choice.manager_id, MANAGER))


def managers(state: OrderAttribution) -> list[str]:
    """The order's sales managers (none: a system sale)."""
    return [c.member_id for c in contributors(state) if c.via is MANAGER]


def is_current(state: OrderAttribution, manager_id: str | None) -> bool:
    """Whether `manager_id` (None: the system) is who the order already says made the sale."""
    sellers = managers(state)
    return manager_id in sellers if manager_id is not None else not sellers


def assignment(state: OrderAttribution, fact: SellerChosen) -> OrderAttribution:
    """`POST …/sales-manager`: the order with the choice recorded, or Refused.

    | duplicate | confirmed | outcome                                             |
    |-----------|-----------|-----------------------------------------------------|
    | yes       | any       | refused (credited to another system)                |
    | no        | yes       | refused: a confirmed sale does not change hands     |
    | no        | no        | the choice recorded (same seller: nothing to void)  |
    """
    if state.duplicate:
        raise Refused("", "the order is a duplicate: it is credited to another tracking system")
    if state.confirmation is not None:
        done = state.confirmation
        raise Refused(
            fact.path,
            f"the sale was confirmed by {done.confirmed_by} at "
            f"{done.confirmed_at.isoformat()}; its sales manager cannot be changed",
        )
    return chosen(state, fact.manager_id)


def chosen(state: OrderAttribution, manager_id: str | None) -> OrderAttribution:
    return replace(state, choice=SellerChoice(manager_id))


def confirmation_step(state: OrderAttribution, manager_id: str | None, path: str) -> Step:
    """`POST …/sale-confirmation`: what it does, or Refused.

    | duplicate | confirmed        | request is the recorded seller | step                 |
    |-----------|------------------|--------------------------------|----------------------|
    | yes       | any              | any                            | refused              |
    | no        | the same way     | any                            | REPEAT               |
    | no        | another way      | any                            | refused              |
    | no        | no               | yes                            | CONFIRM              |
    | no        | no               | no                             | REASSIGN_AND_CONFIRM |
    """
    if state.duplicate:
        raise Refused("", "the order is a duplicate: it is credited to another tracking system")
    done = state.confirmation
    if done is not None:
        if done.manager_id == manager_id:
            return Step.REPEAT
        raise Refused(
            path,
            f"the sale was already confirmed by {done.confirmed_by} at "
            f"{done.confirmed_at.isoformat()}; who confirmed a sale cannot be changed",
        )
    return Step.CONFIRM if is_current(state, manager_id) else Step.REASSIGN_AND_CONFIRM


def void_reason(state: OrderAttribution, credit: Credit) -> str | None:
    """`reassigned` for a sales manager's credit the seller choice took away, else None."""
    choice = state.choice
    if choice is None or credit.model is not Model.EXPLICIT:
        return None
    # The chosen manager's own credit under another `via` is replaced by the manager's one.
    chosen_one = credit.member_id == choice.manager_id
    return REASSIGNED if (credit.via is MANAGER) != chosen_one else None
