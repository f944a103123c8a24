"""CONTRACTS §14: who made the sale. One test per cell of the two tables in sellers.py, then
what a reassignment emits."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from orderflow.services.attribution.domain import (
    ATTRIBUTED,
    VOIDED,
    Confirmation,
    OrderAttribution,
    Refused,
    SellerChosen,
)
from orderflow.services.attribution.sellers import (
    Step,
    assignment,
    confirmation_step,
    managers,
)
from orderflow.services.attribution.state import SellerChoice
from orderflow.shared.vocabulary import ContributorVia
from tests.unit.attribution_facts import T0, Play, confirmed, lifecycle, reported

MANAGER = ContributorVia.SALES_MANAGER
AFFILIATE = ContributorVia.AFFILIATION
HOUR = timedelta(hours=1)


def sold_by(*members: str, confirmed_by: str | bool | None = False) -> OrderAttribution:
    """A reported order whose sales managers are `members`; confirmed when `confirmed_by` is
    a manager id or None (the system)."""
    play = Play()
    play.apply(reported(contributors=[(m, MANAGER) for m in members]))
    state = play.state
    if confirmed_by is not False:
        assert confirmed_by is None or isinstance(confirmed_by, str)
        state = replace(state, confirmation=Confirmation(confirmed_by, T0))
    return state


def chose(manager: str | None) -> SellerChosen:
    return SellerChosen(manager, T0 + HOUR)


# --- sales-manager: assignment -------------------------------------------------------------


def test_assignment_of_a_duplicate_order_is_refused() -> None:
    with pytest.raises(Refused) as refused:
        assignment(replace(sold_by("sm-1"), duplicate=True), chose("sm-2"))
    assert refused.value.path == "" and "duplicate" in refused.value.message


@pytest.mark.parametrize(("manager", "path"), [("sm-1", "manager_id"), (None, "system")])
def test_assignment_after_confirmation_is_refused_even_for_the_same_seller(
    manager: str | None, path: str
) -> None:
    with pytest.raises(Refused) as refused:
        assignment(sold_by("sm-1", confirmed_by="sm-1"), chose(manager))
    assert refused.value.path == path and "confirmed by sm-1" in refused.value.message


@pytest.mark.parametrize("manager", ["sm-1", "sm-2", None])
def test_assignment_before_confirmation_records_the_choice(manager: str | None) -> None:
    state = assignment(sold_by("sm-1"), chose(manager))
    assert state.choice == SellerChoice(manager)
    assert managers(state) == ([manager] if manager else [])


# --- sale-confirmation: confirmation_step ---------------------------------------------------


def test_confirmation_of_a_duplicate_order_is_refused() -> None:
    with pytest.raises(Refused):
        confirmation_step(replace(sold_by("sm-1"), duplicate=True), "sm-1", "manager_id")


@pytest.mark.parametrize("manager", ["sm-1", None])
def test_confirmation_repeated_the_same_way_is_a_repeat(manager: str | None) -> None:
    state = sold_by(*([manager] if manager else []), confirmed_by=manager)
    assert confirmation_step(state, manager, "manager_id") is Step.REPEAT


@pytest.mark.parametrize(("manager", "path"), [("sm-2", "manager_id"), (None, "system")])
def test_confirmation_another_way_after_confirmation_is_refused(
    manager: str | None, path: str
) -> None:
    with pytest.raises(Refused) as refused:
        confirmation_step(sold_by("sm-1", confirmed_by="sm-1"), manager, path)
    assert refused.value.path == path and "already confirmed by sm-1" in refused.value.message


@pytest.mark.parametrize(("sellers", "manager"), [(("sm-1",), "sm-1"), ((), None)])
def test_confirmation_of_the_recorded_seller_confirms(
    sellers: tuple[str, ...], manager: str | None
) -> None:
    assert confirmation_step(sold_by(*sellers), manager, "x") is Step.CONFIRM


@pytest.mark.parametrize(
    ("sellers", "manager"), [(("sm-1",), "sm-2"), (("sm-1",), None), ((), "sm-1")]
)
def test_confirmation_of_another_seller_reassigns_and_confirms(
    sellers: tuple[str, ...], manager: str | None
) -> None:
    assert confirmation_step(sold_by(*sellers), manager, "x") is Step.REASSIGN_AND_CONFIRM


# --- what a reassignment emits --------------------------------------------------------------


def flow(*members: tuple[str, ContributorVia]) -> Play:
    play = Play()
    play.apply(reported(contributors=members))
    return play


def test_a_new_manager_voids_the_previous_credit_and_is_credited_unconfirmed() -> None:
    play = flow(("sm-1", MANAGER), ("aff-1", AFFILIATE))
    events = play.apply(chose("sm-2"))
    assert [(e.type, e.credit.member_id, e.reason) for e in events] == [
        (VOIDED, "sm-1", "reassigned"),
        (ATTRIBUTED, "sm-2", None),
    ]
    assert events[1].credit.via is MANAGER and events[1].confirmation is None
    assert {c.member_id: c.confirmed for c in play.state.credits} == {
        "aff-1": False,
        "sm-2": False,
    }
    assert play.state.confirmation is None


def test_choosing_the_system_voids_the_managers_credit_only() -> None:
    play = flow(("sm-1", MANAGER), ("aff-1", AFFILIATE))
    events = play.apply(chose(None))
    assert [(e.type, e.credit.member_id, e.reason) for e in events] == [
        (VOIDED, "sm-1", "reassigned")
    ]
    assert managers(play.state) == []


def test_choosing_the_recorded_manager_emits_nothing() -> None:
    play = flow(("sm-1", MANAGER))
    assert play.apply(chose("sm-1")) == []


def test_a_later_report_naming_the_old_manager_does_not_bring_them_back() -> None:
    play = flow(("sm-1", MANAGER))
    play.apply(chose("sm-2"))
    late = reported("r-2", T0 + 2 * HOUR, contributors=[("sm-1", MANAGER), ("sm-3", MANAGER)])
    assert play.apply(late) == []
    assert managers(play.state) == ["sm-2"]


def test_reassigning_back_grants_the_credit_again_with_ids_of_its_own() -> None:
    play = flow(("sm-1", MANAGER))
    play.apply(chose("sm-2"), chose("sm-1"))
    assert [(e.type, e.credit.member_id) for e in play.events] == [
        (ATTRIBUTED, "sm-1"),
        (VOIDED, "sm-1"),
        (ATTRIBUTED, "sm-2"),
        (VOIDED, "sm-2"),
        (ATTRIBUTED, "sm-1"),
    ]
    discriminators = [e.discriminator for e in play.events]
    assert len(set(discriminators)) == len(discriminators)


def test_choosing_a_member_credited_otherwise_makes_them_the_sales_manager() -> None:
    play = flow(("aff-1", AFFILIATE))
    events = play.apply(chose("aff-1"))
    assert [(e.type, e.credit.member_id, e.credit.via, e.reason) for e in events] == [
        (VOIDED, "aff-1", AFFILIATE, "reassigned"),
        (ATTRIBUTED, "aff-1", MANAGER, None),
    ]


def test_after_confirmation_no_choice_is_taken_and_nothing_is_emitted() -> None:
    play = flow(("sm-1", MANAGER))
    play.apply(confirmed("sm-2"))
    before = play.state
    for attempt in (chose("sm-1"), chose(None), confirmed("sm-1")):
        with pytest.raises(Refused):
            play.apply(attempt)
    assert play.state == before
    assert play.apply(confirmed("sm-2")) == [], "the same confirmation again is a repeat"


def test_a_duplicate_after_a_reassignment_voids_the_chosen_manager() -> None:
    play = flow(("sm-1", MANAGER))
    play.apply(chose("sm-2"))
    events = play.apply(lifecycle(duplicate=True))
    assert [(e.type, e.credit.member_id, e.reason) for e in events] == [
        (VOIDED, "sm-2", "duplicate")
    ]


def test_a_report_after_the_confirmation_adds_no_sales_manager() -> None:
    play = flow()
    play.apply(confirmed(None))
    late = reported("r-2", T0 + 2 * HOUR, contributors=[("sm-1", MANAGER)])
    assert play.apply(late) == []
    assert managers(play.state) == [] and play.state.credits == ()


def test_confirming_one_of_two_managers_makes_the_sale_theirs_alone() -> None:
    play = flow(("sm-1", MANAGER), ("sm-2", MANAGER))
    events = play.apply(confirmed("sm-2"))
    assert [(e.type, e.credit.member_id, e.reason) for e in events] == [
        (VOIDED, "sm-1", "reassigned"),
        (ATTRIBUTED, "sm-2", None),
    ]
    assert events[1].confirmation is not None
