"""What takes an accrued commission back: refunds pro rata, and the whole reversal. Pure.

The rules (docs/rewards.md, "Reversals"; CONTRACTS §8):
- each `order.refunded` of an order whose tenant reverses on `refunded` takes back
  `accrued * refund_amount / order_amount`, rounded once, half-even, to the currency's minor
  units (`money.pro_rata`); a full refund (`full: true`) takes back what is left;
- whatever is still left is taken back whole when the order is seen while OK in a category of
  `reverse_on` (`order.reversed`, a status change), or when the line's credit is voided;
  a `refunded` status at the very instant of a partial refund is that refund's own status
  and takes back nothing more;
- a line's reversals never exceed its accrual; a line applies each refund once, in the
  refunds' `rank` (refunded_total, then time and id), whenever it learns of it — so refunds
  that came before the accrual are applied when it accrues — and, in upstream time, before
  the whole reversal; a refund later than the whole reversal finds nothing left.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from orderflow.services.rewards import entries
from orderflow.services.rewards.entries import Decision, LedgerEntry, Programme
from orderflow.services.rewards.facts import Line, OrderBook, Refunded, Sighting
from orderflow.services.rewards.money import pro_rata
from orderflow.shared.vocabulary import Category

REASSIGNED = "reassigned"  # attribution's void reason when a sale changed hands (§14)


def earning(line: Line) -> bool:
    return line.accrued is not None and not line.reversed


def reverse_all(decision: Decision, programme: Programme) -> Decision:
    """Every earning line of the book with what its known facts take back."""
    for line_id in [ln.line_id for ln in decision.book.lines]:
        decision = _reverse_line(decision, line_id, programme)
    return decision


def _reverse_line(decision: Decision, line_id: str, programme: Programme) -> Decision:
    book = decision.book
    line = next(ln for ln in book.lines if ln.line_id == line_id)
    if not earning(line):
        return decision
    made: list[LedgerEntry] = []
    cause = _whole_cause(book, line, programme)
    if Category.REFUNDED in programme.commission.reverse_on:
        # Upstream time order: a refund after what takes the rest back finds nothing left.
        for refund in book.refunds:
            if cause is not None and refund.occurred_at > cause[2]:
                continue
            if not line.reversed and refund.event_id not in line.refunds_seen:
                line, entry = _refund(book, line, refund)
                made += [entry] if entry is not None else []
    if cause is not None and not line.reversed:
        made.append(entries.reversed_(book, line, *cause))
        line = _emptied(line)
    lines = tuple(line if ln.line_id == line_id else ln for ln in book.lines)
    return replace(decision, book=replace(book, lines=lines), entries=(*decision.entries, *made))


def _refund(book: OrderBook, line: Line, refund: Refunded) -> tuple[Line, LedgerEntry | None]:
    assert line.accrued is not None and line.currency is not None
    left = line.accrued - line.reversed_amount
    seen = replace(line, refunds_seen=(*line.refunds_seen, refund.event_id))
    if refund.full or refund.order_amount <= 0:
        amount = left
    else:
        share = pro_rata(line.accrued, refund.refund_amount, refund.order_amount, line.currency)
        amount = min(share, left)
    if amount <= 0:
        return seen, None
    reason = "order_refunded" if amount == left else "order_partially_refunded"
    entry = entries.refund_reversed(book, line, amount, reason, refund)
    taken = replace(seen, reversed_amount=line.reversed_amount + amount)
    return (_emptied(taken) if amount == left else taken), entry


def _emptied(line: Line) -> Line:
    assert line.accrued is not None
    return replace(line, reversed=True, reversed_amount=line.accrued, approve_due_at=None)


def _whole_cause(
    book: OrderBook, line: Line, programme: Programme
) -> tuple[str, str, datetime] | None:
    """(reason, cause event id, occurred_at) of what takes the rest back, if anything does."""
    reverse_on = programme.commission.reverse_on
    hits = [
        s for s in book.lifecycle.sightings if s.category in reverse_on and not _partial(book, s)
    ]
    if hits:
        first: Sighting = min(hits, key=lambda s: (s.occurred_at, s.category.value))
        return f"order_{first.category.value}", first.event_id, first.occurred_at
    if line.voided_by is not None and line.voided_at is not None:
        reason = (
            "sales_manager_reassigned" if line.void_reason == REASSIGNED else "attribution_voided"
        )
        return reason, line.voided_by, line.voided_at
    return None


def _partial(book: OrderBook, sighting: Sighting) -> bool:
    """A `refunded` status reported with a partial refund is that refund, not a whole one."""
    return sighting.category is Category.REFUNDED and any(
        not r.full and r.occurred_at == sighting.occurred_at for r in book.refunds
    )


def left_of(line: Line) -> Decimal:
    assert line.accrued is not None
    return line.accrued - line.reversed_amount
