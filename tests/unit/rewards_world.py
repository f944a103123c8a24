"""The rewards handlers' steps on the pure domain, with dicts for tables (no inbox).

`World.deliver` does what `handlers.on_orders` does around the pure fold (translate the
envelope, fold the fact into the order's book, keep what comes out, queue the member facts
as they go on the wire), and `consume_member_facts` what `handlers.on_member_facts` does.
Without an inbox, a redelivered envelope (input or member fact) reaches the domain again, so
the properties prove the domain itself is idempotent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from orderflow.services.rewards import messages
from orderflow.services.rewards.challenges import MemberState
from orderflow.services.rewards.domain import Decision, Programme, approve
from orderflow.services.rewards.entries import Kind, LedgerEntry, RewardGrant
from orderflow.services.rewards.facts import OrderBook
from orderflow.services.rewards.folds import (
    MemberInput,
    MemberKey,
    OrderInput,
    fold_members,
    fold_orders,
)
from orderflow.shared.envelope import Envelope
from tests.rewards_support import programme

__all__ = ["FAR_FUTURE", "Posted", "World", "programme"]

ATTRIBUTION_TYPES = {"order.attributed", "order.attribution_voided"}


@dataclass(frozen=True)
class Posted:
    """A ledger entry with the order it belongs to."""

    order_id: str
    entry: LedgerEntry


@dataclass
class World:
    """Both steps of the service. With `eager`, each input's member facts are consumed at
    once; otherwise they wait in `member_queue` (the internal topic, in publish order) until
    `consume_member_facts`, as they would while the relay and the member step catch up."""

    programme: Programme
    eager: bool = True
    books: dict[str, OrderBook] = field(default_factory=dict)
    members: dict[MemberKey, MemberState] = field(default_factory=dict)
    member_queue: list[Envelope] = field(default_factory=list)
    published: list[Envelope] = field(default_factory=list)  # every member fact, in order
    ledger: list[Posted] = field(default_factory=list)
    rewards: list[tuple[str, RewardGrant]] = field(default_factory=list)
    inputs: set[str] = field(default_factory=set)

    def deliver_all(self, events: Iterable[Envelope]) -> World:
        for event in events:
            self.deliver(event)
        return self

    def deliver(self, event: Envelope) -> None:
        """The order-keyed step on one input (a batch of one; batches fold the same way)."""
        self.inputs.add(event.event_id)
        of = (
            messages.attribution_fact
            if event.type in ATTRIBUTION_TYPES
            else messages.lifecycle_fact
        )
        fact = of(event)
        if fact is None:
            return
        order_id = messages.order_of(event)
        item = OrderInput(event.tenant, order_id, fact, event.event_id, event.correlation_id)
        known = {item.key: self.books[order_id]} if order_id in self.books else {}
        fold = fold_orders(known, {}, [item], {event.tenant: self.programme})
        for decision in fold.decisions:
            self._keep(decision, fold.correlation(decision.book))
        if self.eager:
            self.consume_member_facts()

    def consume_member_facts(self, count: int | None = None) -> None:
        """The member-keyed step on the first `count` queued member facts (default: all)."""
        taken = self.member_queue[: len(self.member_queue) if count is None else count]
        del self.member_queue[: len(taken)]
        items = [MemberInput(messages.counted_fact(e), e.correlation_id) for e in taken]
        tenants = {i.order.tenant: self.programme for i in items}
        for decision, _ in fold_members(self.members, items, tenants):
            if decision.counted is not None:
                order = decision.counted
                self.members[(order.tenant, order.member_id)] = decision.state
                self.rewards += [(order.order_id, r) for r in decision.rewards]

    def fire_timers(self, now: datetime) -> int:
        fired = 0
        for book in list(self.books.values()):
            for line in book.lines:
                if line.approve_due_at is not None and line.approve_due_at <= now:
                    decision = approve(
                        self.books[book.order_id], line.line_id, line.approve_due_at, now
                    )
                    fired += len(decision.entries)
                    self._keep(decision, "")
        return fired

    def _keep(self, decision: Decision, correlation_id: str) -> None:
        book = decision.book
        self.books[book.order_id] = book
        for counted in decision.counted:
            fact = messages.counted_envelope(counted, correlation_id)
            self.member_queue.append(fact)
            self.published.append(fact)
        self.ledger += [Posted(book.order_id, e) for e in decision.entries]

    # --- views the tests compare ---

    def entries(self, order_id: str | None = None) -> list[LedgerEntry]:
        return [p.entry for p in self.ledger if order_id is None or p.order_id == order_id]

    def kinds(self, order_id: str) -> list[tuple[str, str]]:
        return [(e.kind.value, format(e.amount, "f")) for e in self.entries(order_id)]

    def ledger_view(self) -> set[tuple[str, str, str, str, Decimal, str]]:
        """What the ledger says, without which message happened to trigger each entry."""
        return {
            (p.order_id, e.entry_id, e.member_id, e.kind.value, e.amount, e.currency)
            for p in self.ledger
            for e in [p.entry]
        }

    def reward_view(self) -> set[tuple[str, str, str, str, int]]:
        return {(o, r.reward_id, r.member_id, r.challenge_id, r.points) for o, r in self.rewards}

    def net_by_line(self) -> dict[tuple[str, str], Decimal]:
        net: dict[tuple[str, str], Decimal] = {}
        for p in self.ledger:
            if p.entry.kind is not Kind.APPROVED:
                key = (p.order_id, p.entry.line_id)
                net[key] = net.get(key, Decimal(0)) + p.entry.amount
        return {k: v for k, v in net.items() if v != 0}


FAR_FUTURE = timedelta(days=3650)
