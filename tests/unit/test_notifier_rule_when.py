"""A notification rule's `when: {status: [...]}` (an addition to CONTRACTS §6), and the
templates of recurring orders' status changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from orderflow.services.notifier.domain import Cause, Recipients, plan, template_for
from orderflow.shared.tenants import NotificationRule

RULE = NotificationRule.model_validate(
    {"on": "recurring_order.status_changed", "when": {"status": ["failed"]},
     "to": ["customer"], "channels": ["in_app"]}
)  # fmt: skip


def changed(status: str) -> Cause:
    data = {"recurring_order_id": "sub-1", "status": status, "customer_id": "c-1"}
    at = datetime(2026, 3, 1, tzinfo=UTC)
    return Cause("e-" + status, "recurring_order.status_changed", "shop", "o-1", data, at, "c")


def test_a_rule_with_when_holds_only_for_the_statuses_it_names() -> None:
    recipients = Recipients(merchant="shop", customer="c-1")
    failed, _ = plan(changed("failed"), [RULE], recipients, None)
    active, _ = plan(changed("active"), [RULE], recipients, None)
    assert [(p.recipient.id, p.channel, p.template) for p in failed] == [
        ("c-1", "in_app", "recurring_order.status_changed.failed")
    ]
    assert active == []


def test_a_rule_without_when_holds_for_every_status() -> None:
    rule = RULE.model_copy(update={"when": None})
    planned, _ = plan(changed("paused"), [rule], Recipients("shop", "c-1"), None)
    assert [p.template for p in planned] == ["recurring_order.status_changed.paused"]
    assert template_for(changed("paused")) == "recurring_order.status_changed.paused"


@pytest.mark.parametrize("when", [{"status": []}, {"status": "failed"}, {"category": ["x"]}])
def test_a_malformed_when_is_refused(when: object) -> None:
    with pytest.raises(ValidationError, match="when"):
        NotificationRule.model_validate(
            {"on": "recurring_order.status_changed", "when": when, "to": ["customer"],
             "channels": ["in_app"]}
        )  # fmt: skip
