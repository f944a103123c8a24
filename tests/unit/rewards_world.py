"""The rewards handler's steps on the pure domain, with dicts for tables (no inbox).

`World.deliver` does what `handlers._handle` does around the pure calls: translate the
envelope, record the fact, load the statistics `awaiting` names, settle, keep what comes
out. Without an inbox, a redelivered envelope reaches the domain again, so the properties
prove the domain itself is idempotent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import yaml

from orderflow.services.rewards import messages
from orderflow.services.rewards.conditions import MemberStats, widest_window
from orderflow.services.rewards.domain import Decision, Programme, approve, awaiting, settle
from orderflow.services.rewards.entries import Kind, LedgerEntry, RewardGrant
from orderflow.services.rewards.facts import OrderBook, record
from orderflow.shared.envelope import Envelope
from orderflow.shared.tenants import TenantConfig
from tests.rewards_support import tenant_yaml

ATTRIBUTION_TYPES = {"order.attributed", "order.attribution_voided"}


def programme(tenant: str = "aff", **commission: object) -> Programme:
    """The test tenant's programme (tests/rewards_support.py), commission settings overridden."""
    document = yaml.safe_load(tenant_yaml(tenant))
    document["api_keys"] = []
    document["commission"].update(commission)
    return Programme.of(TenantConfig.model_validate(document))


@dataclass(frozen=True)
class Posted:
    """A ledger entry with the order it belongs to."""

    order_id: str
    entry: LedgerEntry


@dataclass
class World:
    programme: Programme
    books: dict[str, OrderBook] = field(default_factory=dict)
    member_orders: dict[str, dict[str, datetime]] = field(default_factory=dict)
    ledger: list[Posted] = field(default_factory=list)
    rewards: list[tuple[str, RewardGrant]] = field(default_factory=list)
    inputs: set[str] = field(default_factory=set)

    def deliver_all(self, events: Iterable[Envelope]) -> World:
        for event in events:
            self.deliver(event)
        return self

    def deliver(self, event: Envelope) -> None:
        self.inputs.add(event.event_id)
        of = (
            messages.attribution_fact
            if event.type in ATTRIBUTION_TYPES
            else messages.lifecycle_fact
        )
        fact = of(event)
        if fact is None:
            return
        assert event.order_id is not None
        book = record(self.book(event.tenant, event.order_id), fact)
        stats = {m: self._stats(m, book) for m in awaiting(book)}
        self._keep(settle(book, self.programme, stats, event.event_id))

    def fire_timers(self, now: datetime) -> int:
        fired = 0
        for book in list(self.books.values()):
            for line in book.lines:
                if line.approve_due_at is not None and line.approve_due_at <= now:
                    decision = approve(
                        self.books[book.order_id], line.line_id, line.approve_due_at, now
                    )
                    fired += len(decision.entries)
                    self._keep(decision)
        return fired

    def book(self, tenant: str, order_id: str) -> OrderBook:
        return self.books.get(order_id) or OrderBook(tenant, order_id)

    def _stats(self, member_id: str, book: OrderBook) -> MemberStats:
        orders = self.member_orders.get(member_id, {})
        if not orders:
            return MemberStats()
        confirmed = book.lifecycle.confirmed
        assert confirmed is not None
        window = widest_window([c.when for c in self.programme.challenges])
        at = confirmed.occurred_at
        near = tuple(sorted(t for t in orders.values() if at - window <= t <= at + window))
        return MemberStats(len(orders), max(orders.values()), near)

    def _keep(self, decision: Decision) -> None:
        book = decision.book
        self.books[book.order_id] = book
        for counted in decision.counted:
            self.member_orders.setdefault(counted.member_id, {})[counted.order_id] = (
                counted.confirmed_at
            )
        self.rewards += [(book.order_id, r) for r in decision.rewards]
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
