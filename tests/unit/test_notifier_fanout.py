"""Whom a batch of events tells, folded in offset order (pure), and contacts merged per order."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from orderflow.services.notifier.domain import Cause
from orderflow.services.notifier.fanout import Known, plan_attributions, plan_events
from orderflow.services.notifier.messages import Contact, merge_contacts
from orderflow.shared.tenants import Notifications

AT = datetime(2026, 1, 1, tzinfo=UTC)
RULES = Notifications.model_validate(
    {
        "rules": [
            {"on": "order.confirmed", "to": ["member", "customer"], "channels": ["in_app"]},
            {"on": "order.attribution_voided", "to": ["member"], "channels": ["in_app"]},
        ]
    }
)


def cause(event_id: str, type_: str, order_id: str | None = "o-1", **data: Any) -> Cause:
    return Cause(event_id, type_, "acme", order_id, data, AT, "corr")


def told(notifications: dict[str, tuple[Cause, Any]]) -> list[tuple[str, str, str]]:
    return [(c.event_id, p.recipient.role, p.recipient.id) for c, p in notifications.values()]


def test_an_event_reaches_the_known_customer_and_members_and_is_kept_for_later_members() -> None:
    known = Known(customers={("acme", "o-1"): "c-1"}, members={("acme", "o-1"): ("m-1",)})
    batch = plan_events([(RULES, cause("e-1", "order.confirmed"))], known)
    assert told(batch.notifications) == [("e-1", "customer", "c-1"), ("e-1", "member", "m-1")]
    assert [c.event_id for c in batch.kept] == ["e-1"]


def test_members_follow_the_batch_in_order_and_a_late_member_hears_kept_events_once() -> None:
    kept = cause("e-0", "order.confirmed")
    known = Known(members={("acme", "o-1"): ("m-9",)}, kept={("acme", "o-1"): [kept]})
    batch = plan_attributions(
        [
            (RULES, cause("a-1", "order.attributed", member_id="m-1")),
            (RULES, cause("a-2", "order.attributed", member_id="m-1")),
            (RULES, cause("v-1", "order.attribution_voided", member_id="m-1")),
            (RULES, cause("a-3", "order.attributed", member_id="m-2")),
            (RULES, cause("x-1", "order.attributed", order_id=None, member_id="m-3")),
        ],
        known,
    )
    assert told(batch.notifications) == [
        ("e-0", "member", "m-1"),
        ("v-1", "member", "m-1"),
        ("e-0", "member", "m-2"),
    ], "the kept event once per member, and the void reaches the member it concerns"
    assert batch.members_cleared == {("acme", "o-1")}
    assert batch.members_added == {("acme", "o-1"): ["m-9", "m-2"]}, "the void took m-1 only"
    assert known.members == {("acme", "o-1"): ("m-9",)}, "what was loaded is left as it was"


def test_a_reassignment_takes_the_order_from_the_old_manager_only() -> None:
    # CONTRACTS §14: the affiliate of a reassigned sale still hears of the order.
    known = Known(members={("acme", "o-1"): ("aff-1", "sm-1")})
    voids = plan_attributions(
        [
            (
                RULES,
                cause("v-1", "order.attribution_voided", member_id="sm-1", reason="reassigned"),
            ),
            (RULES, cause("a-1", "order.attributed", member_id="sm-2")),
        ],
        known,
    )
    assert told(voids.notifications) == [("v-1", "member", "sm-1")]
    assert voids.members_cleared == {("acme", "o-1")}
    assert voids.members_added == {("acme", "o-1"): ["aff-1", "sm-2"]}
    after = Known(members={("acme", "o-1"): ("aff-1", "sm-2")})
    confirmed = plan_events([(RULES, cause("e-1", "order.confirmed"))], after)
    assert told(confirmed.notifications) == [("e-1", "member", "aff-1"), ("e-1", "member", "sm-2")]


def test_contacts_merge_per_order_as_if_saved_one_after_the_other() -> None:
    merged = merge_contacts(
        [
            Contact("acme", "o-1", "c-1", "a@x.test", "Ann"),
            Contact("acme", "o-2", "c-2", None, None),
            Contact("acme", "o-1", "c-7", None, "Bea"),
        ]
    )
    assert merged == [
        Contact("acme", "o-1", "c-7", "a@x.test", "Bea"),
        Contact("acme", "o-2", "c-2", None, None),
    ]
