"""Whatever order reports and touchpoints arrive in, and however often, the credits are the same."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from orderflow.services.attribution.credits import concerns
from orderflow.services.attribution.domain import (
    ATTRIBUTED,
    VOIDED,
    CreditEvent,
    Fact,
    Reported,
    Touched,
)
from orderflow.shared.vocabulary import Category, ContributorVia, TouchpointKind
from tests.unit.attribution_facts import (
    LOOKBACK,
    ORDER,
    T0,
    Play,
    lifecycle,
    reported,
    touched,
)

# Each member has one role, as in a real programme.
ROLES = {
    "m-1": ContributorVia.AFFILIATION,
    "m-2": ContributorVia.COUPON,
    "sm-1": ContributorVia.SALES_MANAGER,
}
# Hours before T0, chosen around the window's edges and the reports' own times.
TOUCH_HOURS = [-30, -1, 0, 1, 5, 24, 30 * 24 - 48, 30 * 24, 30 * 24 + 1, 31 * 24]
REPORT_HOURS = [-24, 0, 0, 2, 48]
Credits = set[tuple[str, str, str | None]]


@st.composite
def reports(draw: st.DrawFn, categories: Sequence[Category | None]) -> list[Reported]:
    explicit = draw(st.booleans())
    count = draw(st.integers(1, 4))
    result = []
    for index in range(count):
        members = draw(st.lists(st.sampled_from(sorted(ROLES)), max_size=2)) if explicit else []
        at = T0 + timedelta(hours=draw(st.sampled_from(REPORT_HOURS)))
        category = draw(st.sampled_from(categories))
        customer = draw(st.sampled_from([None, "c-1", "c-1", "c-2"]))
        result.append(
            reported(f"r-{index}", at, category, customer, [(m, ROLES[m]) for m in members])
        )
    return result


@st.composite
def touches(draw: st.DrawFn) -> list[Touched]:
    count = draw(st.integers(0, 5))
    return [
        touched(
            f"tp-{index}",
            draw(st.sampled_from(["a", "b", "c"])),
            timedelta(hours=draw(st.sampled_from(TOUCH_HOURS))),
            customer=draw(st.sampled_from(["c-1", "c-2"])),
            kind=draw(st.sampled_from(list(TouchpointKind))),
            order_id=draw(st.sampled_from([None, None, ORDER, "o-2"])),
        )
        for index in range(count)
    ]


NOT_OK = [Category.PENDING, Category.CANCELLED, Category.FULFILLED, None]


def expected_credits(facts: Sequence[Reported], touches: Sequence[Touched]) -> Credits:
    """The rules, written once more the plain way, from every fact at once."""
    members = {c.member_id for r in facts for c in r.contributors}
    if members:
        return {(m, "explicit", None) for m in members}
    ordered_at = min(r.occurred_at for r in facts)
    named = sorted((r.occurred_at, r.report_id, r.customer_id) for r in facts if r.customer_id)
    customer = named[0][2] if named else None
    inside = [
        t.touch
        for t in touches
        if concerns(t.touch, ORDER, customer)
        and ordered_at - LOOKBACK <= t.touch.occurred_at <= ordered_at
    ]
    if not inside:
        return set()
    best = max(inside, key=lambda t: (t.occurred_at, t.touchpoint_id))
    return {(best.member_id, "last_touch", best.touchpoint_id)}


def live_credits(events: Sequence[CreditEvent]) -> set[str] | None:
    """The credits the events leave standing, or None if, for some credit, attributed and
    voided do not alternate starting with attributed."""
    live: set[str] = set()
    for event in events:
        key = event.credit.key
        if event.type == ATTRIBUTED and event.confirmation is None:
            if key in live:
                return None
            live.add(key)
        elif event.type == VOIDED:
            if key not in live:
                return None
            live.remove(key)
    return live


def well_formed(events: Sequence[CreditEvent]) -> bool:
    return live_credits(events) is not None


@settings(max_examples=300, deadline=None)
@given(st.data(), reports(NOT_OK), touches())
def test_any_arrival_order_gives_the_same_final_credits(
    data: st.DataObject, facts: list[Reported], touches: list[Touched]
) -> None:
    every: list[Fact] = [*facts, *touches]
    first, second = Play(), Play()
    first.apply(*data.draw(st.permutations(every)))
    second.apply(*data.draw(st.permutations(every)))
    assert first.credits() == second.credits() == expected_credits(facts, touches)
    for play in (first, second):
        assert live_credits(play.events) == {c.key for c in play.state.credits}


@settings(max_examples=200, deadline=None)
@given(st.data(), reports(NOT_OK), touches())
def test_every_fact_delivered_three_times_gives_the_same_events(
    data: st.DataObject, facts: list[Reported], touches: list[Touched]
) -> None:
    order: list[Fact] = data.draw(st.permutations([*facts, *touches]))
    repeated = list(order)
    for fact in order * 2:  # each fact twice more, anywhere after its first delivery
        after = repeated.index(fact) + 1
        repeated.insert(data.draw(st.integers(after, len(repeated))), fact)
    once, thrice = Play(), Play()
    once.apply(*order)
    thrice.apply(*repeated)
    assert thrice.events == once.events and thrice.state == once.state


@settings(max_examples=300, deadline=None)
@given(st.data(), reports([*NOT_OK, Category.CONFIRMED]), touches())
def test_once_has_ok_a_credit_is_never_voided_and_explicit_members_are_credited(
    data: st.DataObject, facts: list[Reported], touches: list[Touched]
) -> None:
    order: list[Fact] = data.draw(st.permutations([*facts, *touches, lifecycle(has_ok=True)]))
    play = Play()
    for index, fact in enumerate(order):
        events = play.apply(fact)
        if play.state.has_ok and any(e.type == VOIDED for e in events):
            ok_at = next(i for i, f in enumerate(order) if _is_ok(f))
            assert index < ok_at, "a credit was voided after the order became Has OK"
    credited = {c.member_id for c in play.state.credits}
    assert {c.member_id for r in facts for c in r.contributors} <= credited
    assert well_formed(play.events)


def _is_ok(fact: Fact) -> bool:
    if isinstance(fact, Reported):
        return fact.category is Category.CONFIRMED
    return not isinstance(fact, Touched) and getattr(fact, "has_ok", False)


@settings(max_examples=200, deadline=None)
@given(st.data(), reports([*NOT_OK, Category.CONFIRMED]), touches())
def test_a_duplicate_order_ends_with_no_credit_whenever_it_becomes_one(
    data: st.DataObject, facts: list[Reported], touches: list[Touched]
) -> None:
    order: list[Fact] = data.draw(st.permutations([*facts, *touches, lifecycle(duplicate=True)]))
    play = Play()
    play.apply(*order)
    assert play.credits() == set()
    assert well_formed(play.events)
    attributed = sum(e.type == ATTRIBUTED for e in play.events)
    assert attributed == sum(e.type == VOIDED for e in play.events)
