"""Who the notifier tells, through which channel, with which template (pure planning)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from orderflow.services.notifier.domain import (
    Cause,
    Recipient,
    Recipients,
    notification_id,
    plan,
    rules_need_members_of_orders,
    static_address,
    template_for,
    wants_member_join,
)
from orderflow.shared.tenants import EmailChannel, NotificationRule

AT = datetime(2026, 1, 1, tzinfo=UTC)


def rule(on: str, to: list[str], channels: list[str]) -> NotificationRule:
    return NotificationRule.model_validate({"on": on, "to": to, "channels": channels})


def cause(type_: str = "order.status_changed", **data: Any) -> Cause:
    return Cause("ev-1", type_, "acme", "o-1", data, AT, "corr-1")


EMAIL = EmailChannel.model_validate(
    {"from": "shop@acme.test", "members": {"m-1": "m1@members.test"}}
)
EVERYONE = Recipients(merchant="acme", customer="c-1", members=("m-1", "m-2"))


def test_every_rule_role_and_channel_is_planned_once() -> None:
    rules = [
        rule("order.status_changed", ["customer", "merchant"], ["email", "in_app"]),
        rule("order.status_changed", ["customer"], ["in_app"]),  # overlaps the first rule
    ]
    planned, skipped = plan(cause(category="confirmed"), rules, EVERYONE, EMAIL)
    assert [(p.recipient, p.channel) for p in planned] == [
        (Recipient("customer", "c-1"), "email"),
        (Recipient("customer", "c-1"), "in_app"),
        (Recipient("merchant", "acme"), "email"),
        (Recipient("merchant", "acme"), "in_app"),
    ]
    assert skipped == []
    assert len({p.notification_id for p in planned}) == 4


def test_rules_for_other_events_plan_nothing() -> None:
    rules = [rule("reward.granted", ["member"], ["in_app"])]
    assert plan(cause(category="confirmed"), rules, EVERYONE, EMAIL) == ([], [])


def test_member_without_an_address_gets_no_email_but_still_in_app() -> None:
    rules = [rule("order.status_changed", ["member"], ["email", "in_app"])]
    planned, skipped = plan(cause(category="pending"), rules, EVERYONE, EMAIL)
    assert [(p.recipient.id, p.channel) for p in planned] == [
        ("m-1", "email"),
        ("m-1", "in_app"),
        ("m-2", "in_app"),
    ]
    assert [(s.role, s.channel) for s in skipped] == [("member", "email")]


def test_an_unknown_customer_is_skipped_with_a_reason() -> None:
    rules = [rule("order.status_changed", ["customer"], ["in_app"])]
    planned, skipped = plan(cause(), rules, Recipients(merchant="acme"), EMAIL)
    assert planned == []
    assert skipped[0].role == "customer" and "no customer" in skipped[0].reason


def test_email_without_an_email_channel_is_skipped_for_merchant() -> None:
    rules = [rule("order.confirmed", ["merchant"], ["email"])]
    planned, skipped = plan(cause("order.confirmed"), rules, EVERYONE, None)
    assert planned == [] and skipped[0].channel == "email"


def test_roles_limit_planning_to_a_late_joining_member() -> None:
    rules = [rule("order.status_changed", ["customer", "member"], ["in_app"])]
    joined = Recipients(merchant="acme", members=("m-9",))
    planned, _ = plan(cause(category="pending"), rules, joined, EMAIL, roles=("member",))
    assert [p.recipient for p in planned] == [Recipient("member", "m-9")]


def test_the_same_cause_always_plans_the_same_ids() -> None:
    rules = [rule("order.status_changed", ["customer"], ["email"])]
    first, _ = plan(cause(category="pending"), rules, EVERYONE, EMAIL)
    again, _ = plan(cause(category="pending"), rules, EVERYONE, EMAIL)
    assert first == again
    assert first[0].notification_id == notification_id(
        "acme", "ev-1", Recipient("customer", "c-1"), "email"
    )


def test_ids_differ_by_cause_recipient_and_channel() -> None:
    base = notification_id("acme", "ev-1", Recipient("customer", "c-1"), "email")
    assert base != notification_id("acme", "ev-2", Recipient("customer", "c-1"), "email")
    assert base != notification_id("acme", "ev-1", Recipient("customer", "c-2"), "email")
    assert base != notification_id("acme", "ev-1", Recipient("merchant", "c-1"), "email")
    assert base != notification_id("acme", "ev-1", Recipient("customer", "c-1"), "in_app")
    assert base != notification_id("other", "ev-1", Recipient("customer", "c-1"), "email")


@pytest.mark.parametrize(
    ("type_", "data", "template"),
    [
        ("order.status_changed", {"category": "confirmed"}, "order.status_changed.confirmed"),
        ("order.status_changed", {"category": "expired"}, "order.status_changed.expired"),
        ("order.status_changed", {}, "order.status_changed"),
        ("order.confirmed", {"category": "confirmed"}, "order.confirmed"),
        ("reward.granted", {}, "reward.granted"),
    ],
)
def test_template_per_event_type_and_status_category(
    type_: str, data: dict[str, Any], template: str
) -> None:
    assert template_for(cause(type_, **data)) == template


def test_merchant_address_defaults_to_the_sender() -> None:
    merchant = Recipient("merchant", "acme")
    assert static_address(EMAIL, merchant) == "shop@acme.test"
    own = EmailChannel.model_validate({"from": "shop@acme.test", "merchant": "boss@acme.test"})
    assert static_address(own, merchant) == "boss@acme.test"
    assert static_address(EMAIL, Recipient("member", "m-1")) == "m1@members.test"
    assert static_address(EMAIL, Recipient("member", "m-2")) is None


def test_member_rules_on_order_events_need_the_orders_members() -> None:
    member_on_order = [rule("order.status_changed", ["member"], ["in_app"])]
    member_on_reward = [rule("reward.granted", ["member"], ["in_app"])]
    assert rules_need_members_of_orders(member_on_order)
    assert not rules_need_members_of_orders(member_on_reward)
    assert wants_member_join("order.status_changed", member_on_order)
    assert not wants_member_join("order.confirmed", member_on_order)
