"""An order's history of reports, read in upstream time.

The history keeps every distinct report as it was received, with the category the
tenant's profile gave it (None when the profile does not know the status). What an
unknown status *means* depends on what happened before it upstream, and a late report
can change that, so effective categories are never stored: `fold` recomputes them
from the whole history. Folding in `(occurred_at, report_id)` order is what makes the
result independent of the order in which reports arrived.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from orderflow.services.status_tracker.report_details import ReportDetails
from orderflow.shared.instants import later
from orderflow.shared.vocabulary import Category

REVERSAL_CATEGORIES = frozenset({Category.REFUNDED, Category.CHARGEBACK})


@dataclass(frozen=True)
class OrderItem:
    sku: str
    quantity: int
    unit_price: Decimal
    name: str | None = None
    category: str | None = None
    offer_id: str | None = None
    offer_name: str | None = None


@dataclass(frozen=True)
class OrderSummary:
    amount: Decimal | None = None
    currency: str | None = None
    customer_id: str | None = None
    offer_id: str | None = None
    items: tuple[OrderItem, ...] = ()

    def filled_from(self, later: OrderSummary) -> OrderSummary:
        """This summary, with what it lacks taken from a later one."""
        # Amount and currency travel together: a currency means nothing without its amount.
        money = self if self.amount is not None else later
        return OrderSummary(
            amount=money.amount,
            currency=money.currency,
            customer_id=self.customer_id if self.customer_id is not None else later.customer_id,
            offer_id=self.offer_id if self.offer_id is not None else later.offer_id,
            items=self.items or later.items,
        )


@dataclass(frozen=True)
class Report:
    """One status report of one order, as ingest recorded it."""

    report_id: str
    status: str
    category: Category | None
    source: str
    occurred_at: datetime
    received_at: datetime
    summary: OrderSummary | None = None
    details: ReportDetails | None = None  # the Part-2 fields, for the read model only

    def __post_init__(self) -> None:
        # Naive times cannot be ordered against aware ones; refuse them at the door.
        if self.occurred_at.tzinfo is None or self.received_at.tzinfo is None:
            raise ValueError(f"report {self.report_id}: times must carry a UTC offset")


# The history stores reports unchanged; the name says which role a report plays.
HistoryEntry = Report


@dataclass(frozen=True)
class Step:
    """One history entry with what it means at its place in upstream time."""

    entry: HistoryEntry
    category: Category
    has_ok: bool


@dataclass(frozen=True)
class Timeline:
    steps: tuple[Step, ...]

    @property
    def current(self) -> Step:
        return self.steps[-1]

    @property
    def has_ok(self) -> bool:
        return self.current.has_ok

    def first_confirmed(self) -> Step | None:
        return next((s for s in self.steps if s.category is Category.CONFIRMED), None)

    def first_reversal(self) -> Step | None:
        """The first refund or chargeback after the order was OK, in upstream time.

        Read from the history rather than from what was current on arrival, so a refund
        that arrives after a later status still reverses, and the answer is the same
        whatever order the reports came in.
        """
        return next((s for s in self.steps if s.has_ok and s.category in REVERSAL_CATEGORIES), None)


def fold(history: Iterable[HistoryEntry]) -> Timeline:
    """The history in upstream order, each entry with its effective category."""
    steps: list[Step] = []
    has_ok = False
    for entry in sorted(history, key=lambda e: (e.occurred_at, e.report_id)):
        category = entry.category
        if category is None:
            # CONTRACTS §2: an unknown status is pending while Never OK, else changes nothing.
            category = steps[-1].category if has_ok else Category.PENDING
        has_ok = has_ok or category is Category.CONFIRMED
        steps.append(Step(entry, category, has_ok))
    if not steps:
        raise ValueError("an order's history has at least one report")
    return Timeline(tuple(steps))


def summarise(timeline: Timeline) -> OrderSummary:
    """The earliest summary, gaps filled from later ones in upstream order."""
    merged = OrderSummary()
    for step in timeline.steps:
        if step.entry.summary is not None:
            merged = merged.filled_from(step.entry.summary)
    return merged


def _never(_status: str) -> bool:
    return False


@dataclass(frozen=True)
class ExpiryRule:
    """The tenant's pending-payment deadline (CONTRACTS §6 `expiry`)."""

    starts_expiry: Callable[[str], bool] = _never
    expiry: timedelta | None = None


NO_EXPIRY = ExpiryRule()


def expiry_due(timeline: Timeline, rule: ExpiryRule) -> datetime | None:
    """When a Never OK order whose current status is pending payment expires, if it does.

    CONTRACTS §2 (store correction): the timer starts when the current status becomes
    *Pending payment*, whatever came before it (a new pending-payment report restarts it),
    and is cancelled as soon as the current status is anything else or the order is
    confirmed. Read from the history in upstream time, so it does not depend on arrival order.
    """
    current = timeline.current
    if rule.expiry is None or timeline.has_ok or current.category is not Category.PENDING:
        return None
    if not rule.starts_expiry(current.entry.status):
        return None
    return later(current.entry.occurred_at, rule.expiry)  # at the calendar's end: never
