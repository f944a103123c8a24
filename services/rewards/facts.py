"""What the rewards service knows about one order, and how each input fact is taken in.

Pure. Lifecycle facts (orders.lifecycle.v1) are folded into monotone knowledge: Has OK and
its upstream time, the categories the order was seen in while OK, whether it was a duplicate
while Never OK. Attribution facts (orders.attribution.v1) open and void *lines*: a line is one
grant of a credit (model, member, touchpoint), identified by the `order.attributed` event that
opened it, so a credit voided and granted again gets a fresh line, while the same credit
announced again while open (say marked `confirmed`) is the same line.
`record` never decides anything; `domain.settle` does, once facts are in.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from orderflow.shared.vocabulary import Category


@dataclass(frozen=True)
class Item:
    sku: str
    category: str | None = None
    offer_id: str | None = None


@dataclass(frozen=True)
class OrderSummary:
    amount: Decimal | None = None
    currency: str | None = None
    offer_id: str | None = None
    items: tuple[Item, ...] = ()


@dataclass(frozen=True)
class StatusChanged:
    event_id: str
    occurred_at: datetime
    category: Category
    has_ok: bool


@dataclass(frozen=True)
class Confirmed:
    """`order.confirmed`: the order became Has OK at `occurred_at` (upstream time)."""

    event_id: str
    occurred_at: datetime
    summary: OrderSummary


@dataclass(frozen=True)
class Reversed:
    event_id: str
    occurred_at: datetime
    category: Category


@dataclass(frozen=True)
class Attributed:
    event_id: str
    occurred_at: datetime
    member_id: str
    via: str
    model: str
    touchpoint_id: str | None = None

    @property
    def credit_key(self) -> str:
        return credit_key(self.model, self.member_id, self.touchpoint_id)


@dataclass(frozen=True)
class Voided:
    event_id: str
    occurred_at: datetime
    member_id: str
    # Names the credit when given; otherwise the member's latest open line is voided.
    model: str | None = None
    touchpoint_id: str | None = None
    reason: str | None = None  # attribution's: `reassigned` when the sale changed hands


@dataclass(frozen=True)
class Refunded:
    """`order.refunded` (CONTRACTS §8): one refund of the order, money in `currency`."""

    event_id: str
    occurred_at: datetime
    refund_amount: Decimal
    refunded_total: Decimal
    order_amount: Decimal
    currency: str
    full: bool

    @property
    def rank(self) -> tuple[Decimal, datetime, str]:
        """The order refunds are applied in, whatever order they arrived in."""
        return (self.refunded_total, self.occurred_at, self.event_id)


Fact = StatusChanged | Confirmed | Reversed | Attributed | Voided | Refunded


def credit_key(model: str, member_id: str, touchpoint_id: str | None) -> str:
    """What makes two attributions the same credit (CONTRACTS §5 `model`, `member_id`, `touchpoint_id`)."""
    return f"{model}:{member_id}:{touchpoint_id or ''}"


@dataclass(frozen=True)
class Sighting:
    """The order was seen in `category` while Has OK; the first sighting of each category is kept."""

    category: Category
    event_id: str
    occurred_at: datetime


@dataclass(frozen=True)
class Lifecycle:
    confirmed: Confirmed | None = None
    category: Category | None = None  # the current category, from the latest status change
    category_at: datetime | None = None
    sightings: tuple[Sighting, ...] = ()
    duplicate_before_ok: bool = False


@dataclass(frozen=True)
class Line:
    """One credit of one member on the order: at most one accrual, one reversal, one approval."""

    line_id: str  # event id of the order.attributed that opened it
    member_id: str
    credit_key: str
    attributed_at: datetime
    voided_by: str | None = None
    voided_at: datetime | None = None
    void_reason: str | None = None
    decided: bool = False
    accrued: Decimal | None = None
    currency: str | None = None
    reversed: bool = False  # wholly: nothing of the accrual is left
    reversed_amount: Decimal = Decimal(0)  # taken back so far (refunds), positive
    refunds_seen: tuple[str, ...] = ()  # the order.refunded event ids this line has applied
    approved: bool = False
    approve_due_at: datetime | None = None


@dataclass(frozen=True)
class OrderBook:
    tenant: str
    order_id: str
    lifecycle: Lifecycle = field(default_factory=Lifecycle)
    lines: tuple[Line, ...] = ()  # in the order their attributions arrived
    evaluated_members: frozenset[str] = frozenset()  # challenges evaluated, once per member
    refunds: tuple[Refunded, ...] = ()  # by `Refunded.rank`


def record(book: OrderBook, fact: Fact) -> OrderBook:
    """The book with `fact` taken in. Taking the same fact in twice changes nothing."""
    if isinstance(fact, Attributed):
        return _attributed(book, fact)
    if isinstance(fact, Voided):
        return _voided(book, fact)
    if isinstance(fact, Refunded):
        if any(r.event_id == fact.event_id for r in book.refunds):
            return book
        return replace(book, refunds=tuple(sorted((*book.refunds, fact), key=lambda r: r.rank)))
    return replace(book, lifecycle=_lifecycle(book.lifecycle, fact))


def _lifecycle(state: Lifecycle, fact: StatusChanged | Confirmed | Reversed) -> Lifecycle:
    if isinstance(fact, Confirmed):
        if state.confirmed is not None:
            return state
        # A late OK can make an order Has OK while its current status is already, say, a
        # refund: the current category counts as seen while OK.
        state = replace(state, confirmed=fact)
        if state.category is not None:
            state = _sight(state, Sighting(state.category, fact.event_id, fact.occurred_at))
        return state
    if isinstance(fact, Reversed):
        return _sight(state, Sighting(fact.category, fact.event_id, fact.occurred_at))
    if state.category_at is None or fact.occurred_at > state.category_at:
        # Strictly later only: a redelivered older change must not move the current category back.
        state = replace(state, category=fact.category, category_at=fact.occurred_at)
    if fact.has_ok:
        return _sight(state, Sighting(fact.category, fact.event_id, fact.occurred_at))
    if fact.category is Category.DUPLICATE:
        return replace(state, duplicate_before_ok=True)
    return state


def _sight(state: Lifecycle, sighting: Sighting) -> Lifecycle:
    if any(s.category is sighting.category for s in state.sightings):
        return state
    return replace(state, sightings=(*state.sightings, sighting))


def _attributed(book: OrderBook, fact: Attributed) -> OrderBook:
    # The same credit announced again while open (a sale confirmation marks it `confirmed`)
    # is that credit, not a new one; only a credit granted again after its void opens a line.
    if any(
        line.line_id == fact.event_id
        or (line.credit_key == fact.credit_key and line.voided_by is None)
        for line in book.lines
    ):
        return book
    line = Line(fact.event_id, fact.member_id, fact.credit_key, fact.occurred_at)
    return replace(book, lines=(*book.lines, line))


def _voided(book: OrderBook, fact: Voided) -> OrderBook:
    if any(line.voided_by == fact.event_id for line in book.lines):
        return book
    target = _void_target(book.lines, fact)
    if target is None:
        return book  # nothing open to void: an unknown credit changes nothing
    voided = replace(
        target, voided_by=fact.event_id, voided_at=fact.occurred_at, void_reason=fact.reason
    )
    return replace(book, lines=tuple(voided if ln is target else ln for ln in book.lines))


def _void_target(lines: tuple[Line, ...], fact: Voided) -> Line | None:
    open_lines = [ln for ln in lines if ln.member_id == fact.member_id and ln.voided_by is None]
    if fact.model is not None:
        key = credit_key(fact.model, fact.member_id, fact.touchpoint_id)
        open_lines = [ln for ln in open_lines if ln.credit_key == key] or open_lines
    return open_lines[-1] if open_lines else None
