"""An order's current credits, from `orders.attribution.v1`, and its sales manager. Pure.

`order.attributed` credits a member (or, for a member already credited, confirms the sale);
`order.attribution_voided` withdraws the member's credit. Attribution publishes them per
order in the order it decided them, so applying them in offset order gives its credits.
The order's sales manager is its credit `via: sales_manager` (a confirmed one first, then
the earliest credited, then the smallest member id); none means a system sale.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

ATTRIBUTED = "order.attributed"
VOIDED = "order.attribution_voided"
SALES_MANAGER = "sales_manager"


@dataclass(frozen=True)
class Credit:
    member_id: str
    via: str
    model: str
    confirmed: bool
    credited_at: datetime


@dataclass(frozen=True)
class CreditFact:
    event_id: str
    kind: Literal["attributed", "voided"]
    member_id: str
    via: str
    model: str
    confirmed: bool
    at: datetime


@dataclass(frozen=True)
class SalesManager:
    member_id: str
    confirmed: bool


Credits = Mapping[str, Credit]  # by member_id


def apply(credits: Credits, fact: CreditFact) -> dict[str, Credit]:
    after = dict(credits)
    if fact.kind == "voided":
        after.pop(fact.member_id, None)
        return after
    known = after.get(fact.member_id)
    if known is None:
        after[fact.member_id] = Credit(
            fact.member_id, fact.via, fact.model, fact.confirmed, fact.at
        )
    else:  # a confirmation never goes back to unconfirmed while the credit stands
        after[fact.member_id] = replace(
            known, via=fact.via, model=fact.model, confirmed=known.confirmed or fact.confirmed
        )
    return after


def sales_manager(credits: Credits) -> SalesManager | None:
    managers = [c for c in credits.values() if c.via == SALES_MANAGER]
    if not managers:
        return None
    chosen = min(managers, key=lambda c: (not c.confirmed, c.credited_at, c.member_id))
    return SalesManager(chosen.member_id, chosen.confirmed)
