"""A partition batch's facts folded into the states they touch, in offset order: pure.

The handlers load every state a batch needs in one statement, fold here, and write the
result in one statement per kind of write. Folding a batch is the same as applying its
records one by one: each key's facts are taken in offset order, each on the state the
previous one left.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from orderflow.services.rewards.challenges import MemberDecision, MemberState, count
from orderflow.services.rewards.domain import settle
from orderflow.services.rewards.entries import CountedOrder, Decision, Programme
from orderflow.services.rewards.facts import Fact, OrderBook, record

OrderKey = tuple[str, str]  # (tenant, order_id)
MemberKey = tuple[str, str]  # (tenant, member_id)


@dataclass(frozen=True)
class OrderInput:
    """One fresh input fact of an order; `cause` is its event id."""

    tenant: str
    order_id: str
    fact: Fact
    cause: str
    correlation_id: str

    @property
    def key(self) -> OrderKey:
        return (self.tenant, self.order_id)


@dataclass
class OrderFold:
    books: dict[OrderKey, OrderBook]
    correlations: dict[OrderKey, str]
    decisions: list[Decision] = field(default_factory=list)

    def correlation(self, book: OrderBook) -> str:
        return self.correlations[(book.tenant, book.order_id)]


def fold_orders(
    books: Mapping[OrderKey, OrderBook],
    correlations: Mapping[OrderKey, str],
    inputs: Sequence[OrderInput],
    programmes: Mapping[str, Programme],
) -> OrderFold:
    """Record and settle each input on its order's book; `books` holds those that exist."""
    fold = OrderFold(dict(books), dict(correlations))
    for item in inputs:
        book = fold.books.get(item.key) or OrderBook(item.tenant, item.order_id)
        decision = settle(record(book, item.fact), programmes[item.tenant], item.cause)
        fold.books[item.key] = decision.book
        fold.correlations.setdefault(item.key, item.correlation_id)
        fold.decisions.append(decision)
    return fold


def changed(fold: OrderFold, before: Mapping[OrderKey, OrderBook]) -> list[tuple[OrderBook, str]]:
    """The books the fold changed (new ones included), with their correlation ids."""
    return [
        (book, fold.correlations[key])
        for key, book in fold.books.items()
        if before.get(key, OrderBook(*key)) != book
    ]


@dataclass(frozen=True)
class MemberInput:
    """One fresh member fact: an order that now counts for its member."""

    order: CountedOrder
    correlation_id: str

    @property
    def key(self) -> MemberKey:
        return (self.order.tenant, self.order.member_id)


def fold_members(
    states: Mapping[MemberKey, MemberState],
    inputs: Sequence[MemberInput],
    programmes: Mapping[str, Programme],
) -> list[tuple[MemberDecision, str]]:
    """Count each order for its member in offset order; the decisions with their correlation."""
    current = dict(states)
    decisions = []
    for item in inputs:
        state = current.get(item.key) or MemberState()
        decision = count(state, item.order, programmes[item.order.tenant])
        current[item.key] = decision.state
        decisions.append((decision, item.correlation_id))
    return decisions
