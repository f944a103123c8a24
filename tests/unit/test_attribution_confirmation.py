"""A sale's confirmation: who may confirm, what it emits, and that it never changes afterwards."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orderflow.services.attribution.domain import ATTRIBUTED, VOIDED, Refused, SaleConfirmed
from orderflow.shared.vocabulary import ContributorVia
from tests.unit.attribution_facts import (
    T0,
    Play,
    confirmed,
    lifecycle,
    reported,
    summary,
    touched,
)

MANAGER = ContributorVia.SALES_MANAGER
DAY = timedelta(days=1)


def manager_sale() -> Play:
    play = Play()
    play.apply(reported(contributors=[("sm-1", MANAGER), ("aff-1", ContributorVia.AFFILIATION)]))
    return play


def system_sale() -> Play:
    play = Play()
    play.apply(touched("tp-1", "a", DAY), reported())
    return play


def test_a_manager_confirming_their_sale_is_recorded_and_their_credit_is_confirmed() -> None:
    play = manager_sale()
    events = play.apply(confirmed("sm-1"))
    assert summary(events) == [(ATTRIBUTED, "sm-1", "explicit", None)]
    (event,) = events
    assert event.credit.confirmed and event.confirmation is not None
    assert event.confirmation.confirmed_by == "sm-1"
    assert event.confirmation.confirmed_at == T0 + DAY
    assert play.state.confirmation == event.confirmation
    marks = {c.member_id: c.confirmed for c in play.state.credits}
    assert marks == {"sm-1": True, "aff-1": False}


def test_confirming_again_the_same_way_changes_nothing() -> None:
    play = manager_sale()
    play.apply(confirmed("sm-1"))
    state = play.state
    later = SaleConfirmed("sm-1", T0 + 5 * DAY)
    assert play.apply(later) == []
    assert play.state == state, "the first confirmation time stays"


@pytest.mark.parametrize(("manager", "path"), [("sm-2", "manager_id"), (None, "system")])
def test_who_confirmed_a_sale_cannot_be_changed(manager: str | None, path: str) -> None:
    play = manager_sale()
    play.apply(confirmed("sm-1"))
    with pytest.raises(Refused) as refused:
        play.apply(confirmed(manager))
    assert refused.value.path == path
    assert "already confirmed by sm-1" in refused.value.message


def test_confirming_another_manager_reassigns_the_sale_and_confirms_it() -> None:
    # CONTRACTS §14: no longer refused; docs/attribution.md rule 7.
    play = manager_sale()
    events = play.apply(confirmed("sm-2"))
    assert [(e.type, e.credit.member_id, e.reason) for e in events] == [
        (VOIDED, "sm-1", "reassigned"),
        (ATTRIBUTED, "sm-2", None),
        (ATTRIBUTED, "sm-2", None),
    ]
    assert [e.confirmation is not None for e in events] == [False, False, True]
    assert {c.member_id: c.confirmed for c in play.state.credits} == {
        "aff-1": False,
        "sm-2": True,
    }


def test_confirming_a_manager_sale_as_the_system_voids_the_manager_and_confirms_the_rest() -> None:
    play = manager_sale()
    events = play.apply(confirmed(None))
    assert [(e.type, e.credit.member_id, e.reason) for e in events] == [
        (VOIDED, "sm-1", "reassigned"),
        (ATTRIBUTED, "aff-1", None),
    ]
    assert events[1].confirmation is not None
    assert events[1].confirmation.confirmed_by == "system"


def test_a_system_sale_confirmed_by_a_manager_becomes_that_managers_sale() -> None:
    play = system_sale()
    events = play.apply(confirmed("sm-1"))
    assert [(e.type, e.credit.member_id, e.reason) for e in events] == [
        (VOIDED, "a", "explicit_contributor"),
        (ATTRIBUTED, "sm-1", None),
        (ATTRIBUTED, "sm-1", None),
    ]
    assert play.state.confirmation is not None
    assert play.state.confirmation.manager_id == "sm-1"


def test_the_system_confirming_a_system_sale_confirms_every_credit() -> None:
    play = system_sale()
    events = play.apply(confirmed(None))
    assert summary(events) == [(ATTRIBUTED, "a", "last_touch", "tp-1")]
    assert events[0].confirmation is not None
    assert events[0].confirmation.confirmed_by == "system"


def test_a_confirmed_sale_keeps_its_last_touch_like_a_has_ok_order() -> None:
    play = system_sale()
    play.apply(confirmed(None))
    assert play.apply(touched("tp-2", "b", timedelta(hours=1))) == []


def test_a_duplicate_order_cannot_be_confirmed() -> None:
    play = manager_sale()
    play.apply(lifecycle(duplicate=True))
    with pytest.raises(Refused) as refused:
        play.apply(confirmed("sm-1"))
    assert refused.value.path == "" and "duplicate" in refused.value.message


def test_confirmed_events_have_ids_of_their_own() -> None:
    play = manager_sale()
    play.apply(confirmed("sm-1"))
    discriminators = [e.discriminator for e in play.events]
    assert len(set(discriminators)) == len(discriminators) == 3
