"""What an order's known facts decide: commission entries, approvals, counted orders.

Pure. The order-keyed step records a fact into the order's book (`facts.record`), calls
`settle`, and saves what comes back; the timer loop calls `approve`. Rules (docs/rewards.md):

- A line is decided once, when the order is Has OK and the line is open (its attribution
  not voided): the commission accrues, and the first decided line of each member makes the
  order count for that member (`Decision.counted`, once per member and order). The member's
  challenges are evaluated on it by the member-keyed step (`challenges.count`), because they
  depend on the member's other orders. An order that was a duplicate while Never OK decides
  nothing.
- An accrued line is taken back by refunds, pro rata, and whole when the order is seen
  while OK in a category of the tenant's `reverse_on` or its attribution is voided
  (reversals.py).
- An accrued line is approved once, by its timer, for what is left of it, unless reversed
  wholly first. A reversal after approval is still recorded and flagged.
Ledger entries are only ever appended.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from orderflow.services.rewards import entries
from orderflow.services.rewards.entries import CountedOrder, Decision, Programme
from orderflow.services.rewards.facts import Line, OrderBook
from orderflow.services.rewards.money import commission_on, rate_for
from orderflow.services.rewards.reversals import earning, reverse_all
from orderflow.shared.instants import days, later

__all__ = ["Decision", "Programme", "approve", "settle"]


def settle(book: OrderBook, programme: Programme, cause: str) -> Decision:
    """Decide every line the facts now allow; `cause` is the event id of the fact just recorded."""
    # Reversals first, so a credit voided now frees its member's place for a newer credit.
    decision = reverse_all(Decision(book), programme)
    if _may_decide(book):
        for line_id in [ln.line_id for ln in book.lines]:
            line = _line(decision.book, line_id)
            if line is not None and _ready(line):
                decision = _decide(decision, line, programme, cause)
    return reverse_all(decision, programme)


def approve(book: OrderBook, line_id: str, due_at: datetime, now: datetime) -> Decision:
    """The approval timer of `line_id`, due at `due_at`, fired at `now`."""
    line = _line(book, line_id)
    if line is None or line.approve_due_at != due_at or now < due_at:
        return Decision(book)  # stale, cancelled or early: nothing to do
    assert line.accrued is not None and line.currency is not None
    entry = entries.approved(book, line, due_at)
    done = replace(line, approved=True, approve_due_at=None)
    return Decision(_with_line(book, done), entries=(entry,))


def _may_decide(book: OrderBook) -> bool:
    lifecycle = book.lifecycle
    return lifecycle.confirmed is not None and not lifecycle.duplicate_before_ok


def _ready(line: Line) -> bool:
    return not line.decided and line.voided_by is None


def _decide(decision: Decision, line: Line, programme: Programme, cause: str) -> Decision:
    book = decision.book
    if line.member_id not in book.evaluated_members:
        decision = _count(decision, line.member_id, cause)
        book = decision.book
    # One earning credit per member and order: a second credit of the same member (say an
    # explicit contributor next to a last touch) waits, undecided, until the first is reversed.
    if any(ln.member_id == line.member_id and earning(ln) for ln in book.lines):
        return decision
    decided = _accrue(book, replace(line, decided=True), programme)
    entry = entries.accrued(book, decided, cause) if decided.accrued is not None else None
    return replace(
        decision,
        book=_with_line(book, decided),
        entries=(*decision.entries, *([entry] if entry else [])),
    )


def _accrue(book: OrderBook, line: Line, programme: Programme) -> Line:
    confirmed = book.lifecycle.confirmed
    assert confirmed is not None
    summary = confirmed.summary
    if summary.amount is None or summary.currency is None:
        return line
    rate = rate_for(programme.commission, summary.offer_id)
    amount = commission_on(summary.amount, summary.currency, rate)
    if amount <= 0:
        return line
    # Saturates: a holding period past the calendar's end is approved never, not a crash.
    due = later(confirmed.occurred_at, days(programme.commission.holding_days))
    return replace(line, accrued=amount, currency=summary.currency, approve_due_at=due)


def _count(decision: Decision, member_id: str, cause: str) -> Decision:
    """The order now counts for `member_id`: once per member and order."""
    book = decision.book
    confirmed = book.lifecycle.confirmed
    assert confirmed is not None
    summary = confirmed.summary
    counted = CountedOrder(
        tenant=book.tenant,
        member_id=member_id,
        order_id=book.order_id,
        confirmed_at=confirmed.occurred_at,
        amount=summary.amount,
        currency=summary.currency,
        offer_id=summary.offer_id,
        item_offers=frozenset(i.offer_id for i in summary.items if i.offer_id is not None),
        item_categories=frozenset(i.category for i in summary.items if i.category is not None),
        cause=cause,
    )
    evaluated = replace(book, evaluated_members=book.evaluated_members | {member_id})
    return replace(decision, book=evaluated, counted=(*decision.counted, counted))


def _line(book: OrderBook, line_id: str) -> Line | None:
    return next((ln for ln in book.lines if ln.line_id == line_id), None)


def _with_line(book: OrderBook, line: Line) -> OrderBook:
    return replace(
        book, lines=tuple(line if ln.line_id == line.line_id else ln for ln in book.lines)
    )
