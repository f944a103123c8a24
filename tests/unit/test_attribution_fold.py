"""The in-memory fold over a batch decides exactly what one fact at a time decides."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from orderflow.services.attribution.domain import (
    CreditEvent,
    Lifecycle,
    OrderAttribution,
    Reported,
    Touch,
    Touched,
)
from orderflow.services.attribution.fold import Fold, Step, customers_during
from orderflow.shared.envelope import Envelope, new_event
from orderflow.shared.vocabulary import Category, ContributorVia
from tests.unit.attribution_facts import (
    LOOKBACK,
    ORDER,
    T0,
    Play,
    lifecycle,
    reported,
    summary,
    touched,
)

TENANT = "shop"
Fact = Reported | Touched | Lifecycle


def cause(n: int) -> Envelope:
    return new_event(
        type="test", tenant=TENANT, order_id=ORDER, occurred_at=T0,
        causation_id=f"cause-{n}", correlation_id=f"chain-{n}", data={},
    )  # fmt: skip


def step(n: int, fact: Fact, order_id: str = ORDER) -> Step:
    return Step(TENANT, order_id, fact, LOOKBACK, cause(n))


def run_in_batches(facts: Sequence[Fact], cuts: set[int]) -> tuple[list[CreditEvent], Fold]:
    """The facts split into batches at `cuts`, each folded as the handler folds one: the
    touches stored before the batch are visible, the batch's own only from their step."""
    stored: dict[tuple[str, str], tuple[OrderAttribution, str | None]] = {}
    known: list[Touch] = []
    events: list[CreditEvent] = []
    bounds = [0, *sorted(c for c in cuts if 0 < c < len(facts)), len(facts)]
    fold = Fold({}, {})
    for start, end in pairwise(bounds):
        batch = facts[start:end]
        new = [f.touch for f in batch if isinstance(f, Touched) and f.touch not in known]
        hidden = {(TENANT, t.touchpoint_id) for t in new}
        fold = Fold(stored, {TENANT: [*known, *new]}, hidden)
        for n, fact in enumerate(batch, start):
            fold.apply(step(n, fact))
        events += [e.event for e in fold.emitted]
        for tenant, state, correlation in fold.changed():
            stored[(tenant, state.order_id)] = (state, correlation)
        known += new
    return events, fold


FACTS = st.lists(
    st.one_of(
        st.builds(
            lambda n, hours, customer, named: reported(
                f"r-{n}", T0 + timedelta(hours=hours), Category.PENDING, customer,
                [("m-1", ContributorVia.COUPON)] if named else [],
            ),
            st.integers(0, 3), st.sampled_from([-48, 0, 2]), st.sampled_from([None, "c-1", "c-2"]),
            st.booleans(),
        ),
        st.builds(
            lambda n, hours, customer: touched(
                f"tp-{n}-{hours}-{customer}", f"aff-{n}", timedelta(hours=hours), customer
            ),
            st.integers(0, 4), st.sampled_from([-1, 1, 24, 50, 30 * 24]), st.sampled_from(["c-1", "c-2"]),
        ),
        st.builds(lifecycle, st.booleans(), st.sampled_from([False, False, True])),
    ),
    max_size=10,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(FACTS, st.sets(st.integers(0, 10)))
def test_any_split_into_batches_decides_what_one_fact_at_a_time_decides(
    facts: list[Fact], cuts: set[int]
) -> None:
    one_at_a_time = Play()
    one_at_a_time.apply(*facts)
    events, _ = run_in_batches(facts, cuts)
    assert summary(events) == summary(one_at_a_time.events)
    assert [e.discriminator for e in events] == [e.discriminator for e in one_at_a_time.events]


def test_a_touchpoint_of_the_batch_counts_only_from_its_own_record() -> None:
    facts: list[Fact] = [
        reported(customer="c-1"),
        touched("tp-a", "aff-a", timedelta(hours=2)),
        touched("tp-b", "aff-b", timedelta(hours=1)),
    ]
    events, _ = run_in_batches(facts, set())
    assert summary(events) == [
        ("order.attributed", "aff-a", "last_touch", "tp-a"),
        ("order.attribution_voided", "aff-a", "last_touch", "tp-a"),
        ("order.attributed", "aff-b", "last_touch", "tp-b"),
    ]


def test_the_chain_id_is_the_first_reports_and_only_changed_orders_are_saved() -> None:
    stored = {(TENANT, "o-known"): (OrderAttribution("o-known"), None)}
    fold = Fold(stored, {})
    fold.apply(step(0, lifecycle(), "o-known"))  # changes nothing
    fold.apply(step(1, touched("tp-a", "aff-a", timedelta(hours=1))))  # before any report
    fold.apply(step(2, reported(customer="c-1")))
    fold.apply(step(3, reported("r-2", customer="c-1")))
    [(tenant, state, correlation)] = fold.changed()
    assert (tenant, state.order_id, state.reported, correlation) == (TENANT, ORDER, True, "chain-2")
    assert {e.correlation_id for e in fold.emitted} == {"chain-2"}
    assert [e.causation_id for e in fold.emitted] == [cause(2).event_id]


def test_the_customers_during_a_batch_are_every_customer_its_orders_have() -> None:
    before = {(TENANT, ORDER): OrderAttribution(ORDER, True, T0, "c-2", (T0, "r-0"))}
    steps = [
        step(0, reported("r-1", T0 - timedelta(days=1), customer="c-1")),
        step(1, reported("r-2", T0 - timedelta(days=2), customer="c-3")),
        step(2, reported("r-3", customer="c-4")),  # a later report does not change it
        step(3, lifecycle(), "o-other"),
    ]
    assert customers_during(before, steps) == {(TENANT, "c-1"), (TENANT, "c-2"), (TENANT, "c-3")}
