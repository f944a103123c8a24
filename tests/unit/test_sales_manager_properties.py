"""CONTRACTS §14 across attribution and rewards: any interleaving of reports, reassignments and
the sale confirmation ends with exactly one live credit (none for the system), and the
commission ledger's sum belongs to that manager alone, wherever the order's confirmation
falls among the credits' events."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from orderflow.services.attribution import messages as attribution_messages
from orderflow.services.attribution.domain import (
    Fact,
    Refused,
    Reported,
    SaleConfirmed,
    SellerChosen,
)
from orderflow.services.attribution.sellers import managers
from orderflow.shared.envelope import Envelope
from orderflow.shared.vocabulary import ContributorVia
from tests.rewards_support import lifecycle_story
from tests.unit.attribution_facts import ORDER, T0, Play, reported
from tests.unit.rewards_world import World, programme

MANAGERS = ["sm-0", "sm-1", "sm-2"]
COMMISSION = Decimal("10.50")  # 10 % + 0.50 of 100.00
PROGRAMME = programme(holding_days=3650)


@st.composite
def commands(draw: st.DrawFn) -> list[Fact]:
    """Reports (the CRM names sm-0, or nobody) and commands, in one arrival order."""
    facts: list[Fact] = []
    for n in range(draw(st.integers(0, 6))):
        at = T0 + timedelta(minutes=n)
        kind = draw(st.sampled_from(["report", "report", "choose", "confirm"]))
        seller = draw(st.sampled_from([*MANAGERS, None]))
        if kind == "report":
            named = [("sm-0", ContributorVia.SALES_MANAGER)] if draw(st.booleans()) else []
            facts.append(reported(f"r-{n}", at, contributors=named))
        else:
            facts.append(
                SellerChosen(seller, at) if kind == "choose" else SaleConfirmed(seller, at)
            )
    return [reported("r-first", T0), *facts]


def expected_seller(facts: list[Fact], accepted: list[SellerChosen | SaleConfirmed]) -> str | None:
    """The last accepted command decides; without one, the report's manager, if named."""
    if accepted:
        return accepted[-1].manager_id
    named = any(isinstance(f, Reported) and f.contributors for f in facts)
    return "sm-0" if named else None


def envelopes(play: Play) -> list[Envelope]:
    return [
        attribution_messages.attribution_envelope(e, "aff", ORDER, f"c-{n}", "chain")
        for n, e in enumerate(play.events)
    ]


@settings(max_examples=200, deadline=None)
@given(facts=commands(), data=st.data())
def test_any_interleaving_ends_with_one_live_credit_and_its_commission(
    facts: list[Fact], data: st.DataObject
) -> None:
    play, accepted = Play(), list[SellerChosen | SaleConfirmed]()
    for fact in facts:
        try:
            play.apply(fact)
        except Refused:
            continue  # answered 409: nothing changed
        if isinstance(fact, SellerChosen | SaleConfirmed):
            accepted.append(fact)
    seller = expected_seller(facts, accepted)
    assert managers(play.state) == ([seller] if seller else [])
    assert [c.member_id for c in play.state.credits] == ([seller] if seller else [])

    credit_events = envelopes(play)
    confirmed = lifecycle_story("aff", ORDER, ["Sale"], T0)
    at = data.draw(st.integers(0, len(credit_events)))
    rewards = World(PROGRAMME).deliver_all([*credit_events[:at], *confirmed, *credit_events[at:]])
    net: dict[str, Decimal] = defaultdict(Decimal)
    for entry in rewards.entries():
        net[entry.member_id] += entry.amount
    owed = {m: v for m, v in net.items() if v != 0}
    assert owed == ({seller: COMMISSION} if seller else {})
    assert all(v >= 0 for v in net.values())
