"""What decisions produce: ledger entries, counted orders, rewards, and their stable ids.

Pure. Ids are derived from what an entry *is* (tenant, order, line or member, kind), never
from the message that happened to trigger it, so deciding the same thing again yields the
same id and the store's unique keys refuse a second copy.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from orderflow.services.rewards.facts import Line, OrderBook, Refunded
from orderflow.shared.envelope import stable_id
from orderflow.shared.tenants import Challenge, Commission, TenantConfig

AFTER_APPROVAL = "_after_approval"


class Kind(StrEnum):
    ACCRUED = "accrued"
    REVERSED = "reversed"
    APPROVED = "approved"

    @property
    def event_type(self) -> str:
        return f"commission.{self.value}"


@dataclass(frozen=True)
class Programme:
    """The parts of a tenant's configuration the decisions read (CONTRACTS §6)."""

    challenges: tuple[Challenge, ...]
    commission: Commission

    @classmethod
    def of(cls, config: TenantConfig) -> Programme:
        return cls(config.challenges, config.commission)


@dataclass(frozen=True)
class LedgerEntry:
    entry_id: str
    kind: Kind
    line_id: str
    member_id: str
    amount: Decimal  # signed: a reversal is negative
    currency: str
    reason: str
    occurred_at: datetime
    cause: str  # the event id (or, for an approval, the accrual entry id) that caused it
    after_approval: bool = False


@dataclass(frozen=True)
class RewardGrant:
    reward_id: str
    member_id: str
    challenge_id: str
    points: int
    badge: str | None
    occurred_at: datetime
    cause: str


@dataclass(frozen=True)
class CountedOrder:
    """A member's order that is now decided: it counts in the member's statistics, and the
    member's challenges are evaluated on it (the member-keyed step, `challenges.count`)."""

    tenant: str
    member_id: str
    order_id: str
    confirmed_at: datetime
    amount: Decimal | None
    currency: str | None
    offer_id: str | None = None
    item_offers: frozenset[str] = frozenset()
    item_categories: frozenset[str] = frozenset()
    cause: str = ""  # the event id of the input that got the order decided
    # The order's customer's segments when its confirmation was counted (customer_orders).
    customer_segments: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Decision:
    """What an order's facts decide: its new book, ledger entries, and the (member, order)
    pairs that now count, sent on to the member-keyed step that grants the rewards."""

    book: OrderBook
    entries: tuple[LedgerEntry, ...] = ()
    counted: tuple[CountedOrder, ...] = ()


def entry_id(book: OrderBook, line_id: str, kind: Kind) -> str:
    return stable_id("commission", book.tenant, book.order_id, line_id, kind.value)


def accrued(book: OrderBook, line: Line, cause: str) -> LedgerEntry:
    confirmed = book.lifecycle.confirmed
    assert confirmed is not None and line.accrued is not None and line.currency is not None
    return LedgerEntry(
        entry_id(book, line.line_id, Kind.ACCRUED),
        Kind.ACCRUED,
        line.line_id,
        line.member_id,
        line.accrued,
        line.currency,
        "order_confirmed",
        confirmed.occurred_at,
        cause,
    )


def reversed_(
    book: OrderBook, line: Line, reason: str, cause: str, occurred_at: datetime
) -> LedgerEntry:
    """The whole reversal: what is left of the accrual (all of it without refunds)."""
    assert line.accrued is not None and line.currency is not None
    return LedgerEntry(
        entry_id(book, line.line_id, Kind.REVERSED),
        Kind.REVERSED,
        line.line_id,
        line.member_id,
        -(line.accrued - line.reversed_amount),
        line.currency,
        reason + (AFTER_APPROVAL if line.approved else ""),
        occurred_at,
        cause,
        after_approval=line.approved,
    )


def refund_reversed(
    book: OrderBook, line: Line, amount: Decimal, reason: str, refund: Refunded
) -> LedgerEntry:
    """What one refund takes back of the line (`amount` > 0); one entry per line and refund."""
    assert line.currency is not None
    refund_entry = stable_id(
        "commission", book.tenant, book.order_id, line.line_id, "refund", refund.event_id
    )
    return LedgerEntry(
        refund_entry,
        Kind.REVERSED,
        line.line_id,
        line.member_id,
        -amount,
        line.currency,
        reason + (AFTER_APPROVAL if line.approved else ""),
        refund.occurred_at,
        refund.event_id,
        after_approval=line.approved,
    )


def approved(book: OrderBook, line: Line, due_at: datetime) -> LedgerEntry:
    """Approves what is left of the accrual once refunds took their part."""
    assert line.accrued is not None and line.currency is not None
    accrual = entry_id(book, line.line_id, Kind.ACCRUED)
    return LedgerEntry(
        entry_id(book, line.line_id, Kind.APPROVED),
        Kind.APPROVED,
        line.line_id,
        line.member_id,
        line.accrued - line.reversed_amount,
        line.currency,
        "holding_period_elapsed",
        due_at,
        accrual,
    )


def granted(order: CountedOrder, challenge: Challenge) -> RewardGrant:
    member_id = order.member_id
    reward_id = stable_id("reward", order.tenant, order.order_id, member_id, challenge.id)
    return RewardGrant(
        reward_id,
        member_id,
        challenge.id,
        challenge.reward.points,
        challenge.reward.badge,
        order.confirmed_at,
        order.cause,
    )
