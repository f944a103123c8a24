"""Who should be credited for an order, given what is known about it now.

Pure. The rules (docs/attribution.md):
- explicit contributors are always credited, once per member;
- without one, the last touch: the latest touchpoint of the order's customer (or one naming
  the order) that happened within the lookback window before the order's first report;
- once the order is Has OK (or its sale is confirmed) a last-touch credit is fixed;
- a duplicate order is credited to nobody here.
Recomputing the whole answer from the facts, rather than patching it per message, is what
makes the final credits independent of the order in which reports and touchpoints arrive.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from orderflow.shared.instants import earlier
from orderflow.shared.vocabulary import ContributorVia, TouchpointKind


class Model(StrEnum):
    EXPLICIT = "explicit"
    LAST_TOUCH = "last_touch"


# A touchpoint's kind says how the member contributed (CONTRACTS §3.2 -> §3.1 `via`).
VIA_OF_KIND = {
    TouchpointKind.CLICK: ContributorVia.AFFILIATION,
    TouchpointKind.CONVERSATION: ContributorVia.CONVERSATION,
    TouchpointKind.COUPON: ContributorVia.COUPON,
}


@dataclass(frozen=True)
class Touch:
    """One touchpoint (CONTRACTS §3.2) as attribution sees it."""

    touchpoint_id: str
    member_id: str
    kind: TouchpointKind
    customer_id: str
    occurred_at: datetime
    order_id: str | None = None


@dataclass(frozen=True)
class Contributor:
    member_id: str
    via: ContributorVia


@dataclass(frozen=True)
class Credit:
    member_id: str
    via: ContributorVia
    model: Model
    touchpoint_id: str | None = None
    confirmed: bool = False

    @property
    def key(self) -> str:
        """What makes two credits the same credit (confirmation is a mark on it, not a new one)."""
        return f"{self.model.value}:{self.member_id}:{self.touchpoint_id or ''}"


def concerns(touch: Touch, order_id: str, customer_id: str | None) -> bool:
    # A touchpoint that names an order is evidence for that order only.
    if touch.order_id is not None:
        return touch.order_id == order_id
    return customer_id is not None and touch.customer_id == customer_id


def last_touch(
    order_id: str,
    customer_id: str | None,
    ordered_at: datetime,
    touches: Iterable[Touch],
    lookback: timedelta,
) -> Touch | None:
    """The latest touch inside [ordered_at - lookback, ordered_at]; ties go to the greater id."""
    earliest = earlier(ordered_at, lookback)  # saturates: an order near year 1 looks back to it
    candidates = [
        t
        for t in touches
        if concerns(t, order_id, customer_id) and earliest <= t.occurred_at <= ordered_at
    ]
    return max(candidates, key=lambda t: (t.occurred_at, t.touchpoint_id), default=None)


def touch_credit(touch: Touch) -> Credit:
    return Credit(touch.member_id, VIA_OF_KIND[touch.kind], Model.LAST_TOUCH, touch.touchpoint_id)


def target_credits(
    current: Sequence[Credit],
    contributors: Sequence[Contributor],
    best: Touch | None,
    fixed: bool,
) -> tuple[Credit, ...]:
    """What the credits should be; `fixed` keeps a last-touch credit already given."""
    kept = [c for c in current if c.model is Model.LAST_TOUCH] if fixed else []
    if contributors:
        credited = {c.member_id for c in kept}
        explicit = [
            _carry(current, Credit(c.member_id, c.via, Model.EXPLICIT))
            for c in contributors
            if c.member_id not in credited
        ]
        return (*kept, *explicit)
    if kept or best is None:
        return tuple(kept)
    return (_carry(current, touch_credit(best)),)


def _carry(current: Sequence[Credit], credit: Credit) -> Credit:
    """The same credit as already given keeps its confirmation mark."""
    same = next((c for c in current if c.key == credit.key), None)
    return replace(credit, confirmed=same.confirmed) if same is not None else credit
