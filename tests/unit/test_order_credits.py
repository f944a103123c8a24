"""An order's credits from orders.attribution.v1, and which one is its sales manager."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orderflow.services.status_tracker.attribution_messages import credit_fact
from orderflow.services.status_tracker.order_credits import (
    Credit,
    CreditFact,
    SalesManager,
    apply,
    sales_manager,
)
from orderflow.shared.envelope import new_event
from orderflow.shared.errors import Rejected

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def fact(
    kind: Any, member: str, via: str = "affiliation", confirmed: bool = False, h: int = 0
) -> CreditFact:
    return CreditFact(
        f"e-{kind}-{member}-{h}", kind, member, via, "explicit", confirmed, T0 + timedelta(hours=h)
    )


def folded(*facts: CreditFact) -> dict[str, Credit]:
    credits: dict[str, Credit] = {}
    for f in facts:
        credits = apply(credits, f)
    return credits


def test_attributed_credits_and_voided_withdraws() -> None:
    credits = folded(fact("attributed", "m-1"), fact("attributed", "m-2"), fact("voided", "m-1"))
    assert list(credits) == ["m-2"]
    assert credits["m-2"] == Credit("m-2", "affiliation", "explicit", False, T0)


def test_a_confirmation_confirms_the_standing_credit_and_keeps_its_time() -> None:
    credits = folded(fact("attributed", "m-1", h=1), fact("attributed", "m-1", confirmed=True, h=3))
    assert credits["m-1"].confirmed and credits["m-1"].credited_at == T0 + timedelta(hours=1)
    again = apply(credits, fact("attributed", "m-1", confirmed=False, h=4))
    assert again["m-1"].confirmed, "an unconfirmed repeat does not unconfirm"


def test_credited_again_after_a_void_starts_unconfirmed() -> None:
    credits = folded(
        fact("attributed", "m-1", confirmed=True),
        fact("voided", "m-1"),
        fact("attributed", "m-1", h=2),
    )
    assert not credits["m-1"].confirmed


def test_no_sales_manager_credit_is_a_system_sale() -> None:
    assert sales_manager(folded(fact("attributed", "m-1"))) is None


def test_sales_manager_is_the_confirmed_then_earliest_manager_credit() -> None:
    two = folded(
        fact("attributed", "m-b", "sales_manager", h=1),
        fact("attributed", "m-a", "sales_manager", h=2),
        fact("attributed", "m-0", "affiliation", h=0),
    )
    assert sales_manager(two) == SalesManager("m-b", False)
    confirmed = apply(two, fact("attributed", "m-a", "sales_manager", confirmed=True, h=3))
    assert sales_manager(confirmed) == SalesManager("m-a", True)
    reassigned = folded(*[fact("attributed", "m-b", "sales_manager"), fact("voided", "m-b"),
                          fact("attributed", "m-c", "sales_manager", h=1)])  # fmt: skip
    assert sales_manager(reassigned) == SalesManager("m-c", False)


def envelope(type_: str, **data: Any) -> Any:
    return new_event(type=type_, tenant="shop", order_id="o-1", occurred_at=T0,
                     causation_id="c", correlation_id="c", data=data)  # fmt: skip


def test_attribution_envelopes_become_facts() -> None:
    parsed = credit_fact(envelope("order.attributed", member_id="m-1", via="coupon",
                                  model="last_touch", touchpoint_id="tp", confirmed=True))  # fmt: skip
    assert (parsed.kind, parsed.member_id, parsed.via, parsed.model, parsed.confirmed) == (
        "attributed", "m-1", "coupon", "last_touch", True,
    )  # fmt: skip
    voided = credit_fact(envelope("order.attribution_voided", member_id="m-1", via="coupon",
                                  model="last_touch", reason="reassigned"))  # fmt: skip
    assert voided.kind == "voided" and voided.at == T0


@pytest.mark.parametrize(
    ("type_", "data", "fragment"),
    [
        ("order.confirmed", {}, "expected order.attributed"),
        ("order.attributed", {"via": "x", "model": "explicit"}, "data.member_id: field required"),
        ("order.attributed", {"member_id": 7, "via": "x", "model": "e"}, "data.member_id: must be"),
    ],
)
def test_malformed_attribution_envelope_is_rejected_naming_why(
    type_: str, data: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(Rejected, match=fragment):
        credit_fact(envelope(type_, **data))
