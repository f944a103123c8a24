"""Attribution's decision tables: who is credited, when a credit is corrected, when it is fixed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orderflow.services.attribution.domain import (
    ATTRIBUTED,
    VOIDED,
    Fact,
    Model,
    OrderAttribution,
    decide,
)
from orderflow.shared.vocabulary import Category, ContributorVia, TouchpointKind
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

AFFILIATION = ContributorVia.AFFILIATION
DAY = timedelta(days=1)


def test_explicit_contributor_is_credited_at_once_while_pending() -> None:
    play = Play()
    events = play.apply(reported(contributors=[("m-1", AFFILIATION)]))
    assert summary(events) == [(ATTRIBUTED, "m-1", "explicit", None)]
    assert events[0].credit.via is AFFILIATION and not play.state.has_ok


@pytest.mark.parametrize("category", [Category.CANCELLED, Category.DECLINED, None])
def test_explicit_contributor_is_credited_even_if_the_order_never_becomes_ok(
    category: Category | None,
) -> None:
    events = Play().apply(reported(category=category, contributors=[("m-1", AFFILIATION)]))
    assert summary(events) == [(ATTRIBUTED, "m-1", "explicit", None)]


def test_explicit_contributor_is_credited_once_per_member_across_reports() -> None:
    play = Play()
    play.apply(reported("r-1", contributors=[("m-1", AFFILIATION), ("m-1", AFFILIATION)]))
    again = play.apply(reported("r-2", T0 + DAY, contributors=[("m-1", ContributorVia.COUPON)]))
    other = play.apply(reported("r-3", T0 + 2 * DAY, contributors=[("m-2", ContributorVia.COUPON)]))
    assert again == []
    assert summary(other) == [(ATTRIBUTED, "m-2", "explicit", None)]
    assert play.credits() == {("m-1", "explicit", None), ("m-2", "explicit", None)}
    assert play.state.credits[0].via is AFFILIATION, "the first via a member was named with stays"


@pytest.mark.parametrize(
    ("before", "credited"),
    [
        (timedelta(0), True),  # at the very moment of the order
        (timedelta(hours=1), True),
        (LOOKBACK, True),  # the window's first instant
        (LOOKBACK + timedelta(seconds=1), False),
        (-timedelta(seconds=1), False),  # after the order: it cannot have brought it
    ],
)
def test_last_touch_counts_only_inside_the_lookback_window(
    before: timedelta, credited: bool
) -> None:
    play = Play()
    play.apply(touched("tp-1", "a", before), reported())
    assert play.credits() == ({("a", "last_touch", "tp-1")} if credited else set())


def test_last_touch_credits_the_latest_touch_and_its_kind_gives_the_via() -> None:
    play = Play()
    events = play.apply(
        touched("tp-1", "a", 3 * DAY),
        touched("tp-2", "b", DAY, kind=TouchpointKind.COUPON),
        touched("tp-3", "c", 2 * DAY),
        reported(),
    )
    assert summary(events) == [(ATTRIBUTED, "b", "last_touch", "tp-2")]
    assert events[0].credit.via is ContributorVia.COUPON


def test_touches_at_the_same_instant_are_decided_by_the_greater_touchpoint_id() -> None:
    forward, backward = Play(), Play()
    forward.apply(touched("tp-a", "a", DAY), touched("tp-b", "b", DAY), reported())
    backward.apply(touched("tp-b", "b", DAY), touched("tp-a", "a", DAY), reported())
    assert forward.credits() == backward.credits() == {("b", "last_touch", "tp-b")}


def test_a_touchpoint_arriving_after_the_order_that_happened_before_it_counts() -> None:
    play = Play()
    play.apply(reported())
    events = play.apply(touched("tp-1", "a", DAY))
    assert summary(events) == [(ATTRIBUTED, "a", "last_touch", "tp-1")]


def test_a_later_arriving_more_recent_touch_corrects_the_credit_before_has_ok() -> None:
    play = Play()
    play.apply(touched("tp-1", "a", 3 * DAY), reported())
    events = play.apply(touched("tp-2", "b", DAY))
    assert summary(events) == [
        (VOIDED, "a", "last_touch", "tp-1"),
        (ATTRIBUTED, "b", "last_touch", "tp-2"),
    ]
    assert events[0].reason == "superseded"


def test_a_later_arriving_older_touch_changes_nothing() -> None:
    play = Play()
    play.apply(touched("tp-2", "b", DAY), reported())
    assert play.apply(touched("tp-1", "a", 3 * DAY)) == []


@pytest.mark.parametrize(
    "ok",
    [
        reported("r-ok", T0 + DAY, Category.CONFIRMED),
        lifecycle(has_ok=True),
    ],
    ids=["ok-report", "lifecycle-has-ok"],
)
def test_after_has_ok_a_more_recent_touch_no_longer_corrects_the_credit(ok: Fact) -> None:
    play = Play()
    play.apply(touched("tp-1", "a", 3 * DAY), reported())
    play.apply(ok)
    assert play.apply(touched("tp-2", "b", DAY)) == []
    assert play.credits() == {("a", "last_touch", "tp-1")}


def test_a_has_ok_order_without_any_credit_still_gets_its_first_last_touch() -> None:
    play = Play()
    play.apply(reported(category=Category.CONFIRMED))
    events = play.apply(touched("tp-1", "a", DAY))
    assert summary(events) == [(ATTRIBUTED, "a", "last_touch", "tp-1")]


def test_an_explicit_contributor_beats_last_touch_and_voids_it_before_has_ok() -> None:
    play = Play()
    play.apply(touched("tp-1", "a", DAY), reported())
    events = play.apply(reported("r-2", T0 + DAY, contributors=[("m-9", AFFILIATION)]))
    assert summary(events) == [
        (VOIDED, "a", "last_touch", "tp-1"),
        (ATTRIBUTED, "m-9", "explicit", None),
    ]
    assert events[0].reason == "explicit_contributor"
    assert play.apply(touched("tp-2", "b", timedelta(hours=1))) == []


def test_an_explicit_contributor_known_first_leaves_no_room_for_last_touch() -> None:
    play = Play()
    play.apply(touched("tp-1", "a", DAY), reported(contributors=[("m-9", AFFILIATION)]))
    assert play.credits() == {("m-9", "explicit", None)}


def test_after_has_ok_an_explicit_contributor_is_added_and_the_last_touch_stays() -> None:
    play = Play()
    play.apply(touched("tp-1", "a", DAY), reported(), lifecycle(has_ok=True))
    events = play.apply(reported("r-2", T0 + DAY, contributors=[("m-9", AFFILIATION)]))
    assert summary(events) == [(ATTRIBUTED, "m-9", "explicit", None)]
    assert play.credits() == {("a", "last_touch", "tp-1"), ("m-9", "explicit", None)}


def test_a_member_credited_by_a_fixed_last_touch_is_not_credited_twice() -> None:
    play = Play()
    play.apply(touched("tp-1", "a", DAY), reported(), lifecycle(has_ok=True))
    assert play.apply(reported("r-2", T0 + DAY, contributors=[("a", AFFILIATION)])) == []


def test_duplicate_voids_every_credit_and_nothing_is_credited_afterwards() -> None:
    play = Play()
    play.apply(
        touched("tp-1", "a", DAY),
        reported(contributors=[("m-1", AFFILIATION), ("m-2", ContributorVia.COUPON)]),
    )
    events = play.apply(lifecycle(duplicate=True))
    assert summary(events) == [
        (VOIDED, "m-1", "explicit", None),
        (VOIDED, "m-2", "explicit", None),
    ]
    assert {e.reason for e in events} == {"duplicate"}
    later = play.apply(
        reported("r-2", T0 + DAY, contributors=[("m-3", AFFILIATION)]),
        touched("tp-2", "b", timedelta(hours=1)),
    )
    assert later == [] and play.credits() == set()


def test_duplicate_after_has_ok_still_voids_a_fixed_last_touch() -> None:
    play = Play()
    play.apply(touched("tp-1", "a", DAY), reported(), lifecycle(has_ok=True))
    events = play.apply(lifecycle(duplicate=True))
    assert summary(events) == [(VOIDED, "a", "last_touch", "tp-1")]


def test_a_touchpoint_naming_the_order_counts_whoever_its_customer_is() -> None:
    play = Play()
    play.apply(touched("tp-1", "a", DAY, customer="c-other", order_id=ORDER), reported())
    assert play.credits() == {("a", "last_touch", "tp-1")}


def test_a_touchpoint_naming_another_order_is_not_evidence_for_this_one() -> None:
    play = Play()
    play.apply(touched("tp-1", "a", DAY, order_id="o-2"), reported())
    assert play.credits() == set()


def test_touches_of_other_customers_do_not_count() -> None:
    play = Play()
    play.apply(touched("tp-1", "a", DAY, customer="c-2"), reported(customer="c-1"))
    assert play.credits() == set()


def test_the_customer_is_the_one_of_the_earliest_report() -> None:
    play = Play()
    play.apply(touched("tp-1", "a", DAY, customer="c-1"), touched("tp-2", "b", DAY, "c-2"))
    play.apply(reported("r-2", T0 + DAY, customer="c-2"))
    assert play.credits() == {("b", "last_touch", "tp-2")}
    events = play.apply(reported("r-1", T0, customer="c-1"))
    assert summary(events) == [
        (VOIDED, "b", "last_touch", "tp-2"),
        (ATTRIBUTED, "a", "last_touch", "tp-1"),
    ]


def test_an_earlier_first_report_moves_the_window_and_a_touch_after_it_is_voided() -> None:
    play = Play()
    play.apply(touched("tp-1", "a", timedelta(hours=1)), reported("r-2", T0))
    events = play.apply(reported("r-1", T0 - DAY))
    assert summary(events) == [(VOIDED, "a", "last_touch", "tp-1")]
    assert events[0].reason == "outside_window"


def test_a_credit_granted_again_after_a_void_gets_new_event_ids() -> None:
    play = Play()
    play.apply(touched("tp-1", "a", 2 * DAY), reported("r-2", T0))
    play.apply(touched("tp-2", "b", timedelta(hours=1)))  # tp-2 replaces tp-1
    play.apply(reported("r-1", T0 - DAY))  # tp-2 is now after the order: tp-1 again
    assert play.credits() == {("a", "last_touch", "tp-1")}
    discriminators = [e.discriminator for e in play.events]
    assert len(discriminators) == len(set(discriminators)) == 5


def test_nothing_is_credited_before_the_order_is_reported() -> None:
    play = Play()
    assert play.apply(lifecycle(has_ok=True), touched("tp-1", "a", DAY)) == []
    events = play.apply(reported())
    assert summary(events) == [(ATTRIBUTED, "a", "last_touch", "tp-1")]


@pytest.mark.parametrize(
    "fact",
    [
        reported(contributors=[("m-1", AFFILIATION)]),
        touched("tp-1", "a", DAY),
        lifecycle(has_ok=True),
        lifecycle(duplicate=True),
    ],
    ids=["report", "touch", "has-ok", "duplicate"],
)
def test_the_same_fact_applied_again_emits_nothing(fact: Fact) -> None:
    play = Play()
    play.apply(touched("tp-0", "z", 2 * DAY), reported("r-0"))
    play.apply(fact)
    state = play.state
    assert play.apply(fact, fact) == []
    assert play.state == state


def test_decide_keeps_the_credit_model_and_touchpoint_of_each_credit() -> None:
    state = OrderAttribution(ORDER)
    touch = touched("tp-1", "a", DAY)
    decision = decide(state, reported(), [touch.touch], LOOKBACK)
    (credit,) = decision.state.credits
    assert (credit.model, credit.touchpoint_id, credit.via) == (
        Model.LAST_TOUCH,
        "tp-1",
        AFFILIATION,
    )
