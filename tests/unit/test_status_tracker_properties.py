"""Whatever order reports arrive in, and however often, the order ends up the same."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from orderflow.services.status_tracker.domain import (
    Cancel,
    ExpiryRule,
    HistoryEntry,
    LifecycleEvent,
    OrderState,
    OrderSummary,
    Report,
    Schedule,
    decide,
)
from orderflow.shared.vocabulary import Category

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
STATUSES = ["Pending", "Pending payment", "OK", "Sent", "Cancelled", "Refund", "Mystery"]
SUMMARIES = [
    None,
    OrderSummary(amount=Decimal("10.00"), currency="EUR"),
    OrderSummary(customer_id="c-1", offer_id="offer-9"),
    OrderSummary(Decimal("99.50"), "USD", "c-2"),
]
RULE = ExpiryRule(lambda status: status == "Pending payment", timedelta(days=7))
REVERSAL = {Category.REFUNDED, Category.CHARGEBACK}


@st.composite
def report_sets(draw: st.DrawFn) -> list[Report]:
    specs = draw(
        st.lists(
            st.tuples(
                st.sampled_from(STATUSES),
                st.sampled_from([None, *Category]),
                st.integers(0, 3),  # few distinct times, so occurred_at often collides
                st.sampled_from(SUMMARIES),
            ),
            min_size=1,
            max_size=8,
        )
    )
    return [
        Report(f"r{i}", status, category, "api", T0 + timedelta(hours=h), T0, summary)
        for i, (status, category, h, summary) in enumerate(specs)
    ]


@dataclass
class Outcome:
    state: OrderState
    history: list[HistoryEntry]
    events: list[LifecycleEvent]
    timer: datetime | None


def deliver(reports: list[Report]) -> Outcome:
    """Fold the reports through `decide` as the handler would, timer included."""
    state: OrderState | None = None
    history: list[HistoryEntry] = []
    events: list[LifecycleEvent] = []
    timer: datetime | None = None
    for r in reports:
        decision = decide(state, history, r, RULE)
        state = decision.state
        history.extend([decision.new_entry] if decision.new_entry is not None else [])
        events.extend(decision.events)
        if isinstance(decision.timer, Schedule):
            timer = decision.timer.due_at
        elif isinstance(decision.timer, Cancel):
            timer = None
    assert state is not None
    return Outcome(state, history, events, timer)


def upstream_order(reports: list[Report]) -> list[Report]:
    return sorted(reports, key=lambda r: (r.occurred_at, r.report_id))


def ever_reversed(reports: list[Report]) -> bool:
    """A refund or chargeback after the first OK, in upstream time."""
    ordered = upstream_order(reports)
    oks = [i for i, r in enumerate(ordered) if r.category is Category.CONFIRMED]
    return bool(oks) and any(r.category in REVERSAL for r in ordered[oks[0] :])


def count(events: list[LifecycleEvent], kind: str) -> int:
    return sum(1 for event in events if event.type == kind)


@given(data=st.data(), reports=report_sets())
@settings(max_examples=200, deadline=None)
def test_any_delivery_order_with_repeats_gives_the_same_order(
    data: st.DataObject, reports: list[Report]
) -> None:
    repeats = data.draw(st.lists(st.sampled_from(reports), max_size=4))
    delivery = data.draw(st.permutations(reports + repeats))

    outcome = deliver(delivery)
    baseline = deliver(upstream_order(reports))

    assert outcome.state == baseline.state
    assert set(outcome.history) == set(reports)
    assert len(outcome.history) == len(reports)
    assert outcome.timer == outcome.state.expiry_due_at == baseline.state.expiry_due_at


@given(data=st.data(), reports=report_sets())
@settings(max_examples=200, deadline=None)
def test_confirmed_once_iff_ok_and_reversed_at_most_once(
    data: st.DataObject, reports: list[Report]
) -> None:
    repeats = data.draw(st.lists(st.sampled_from(reports), max_size=4))
    outcome = deliver(data.draw(st.permutations(reports + repeats)))

    has_ok = any(r.category is Category.CONFIRMED for r in reports)
    assert outcome.state.has_ok is has_ok
    assert count(outcome.events, "order.confirmed") == (1 if has_ok else 0)
    assert count(outcome.events, "order.reversed") == (1 if ever_reversed(reports) else 0)
    ids = [event.discriminator for event in outcome.events]
    assert len(ids) == len(set(ids))
    last_change = [e for e in outcome.events if e.type == "order.status_changed"][-1]
    assert last_change.data["status"] == outcome.state.status
    assert last_change.data["category"] == outcome.state.category.value
