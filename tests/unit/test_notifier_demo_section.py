"""The demo's notifier section shows outcomes and mail by ids, never addresses or names."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from demo.notifier_section import mailbox_lines, row
from orderflow.services.notifier.domain import Cause, Recipient
from orderflow.services.notifier.mail import compose
from orderflow.services.notifier.messages import outcome_event
from orderflow.services.notifier.store import Due
from orderflow.services.notifier.templates import Rendered

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_failed_notification_row_names_channel_recipient_and_error() -> None:
    event = outcome_event(
        sent=False,
        notification_id="n-1",
        tenant="acme",
        order_id="o-1",
        cause_event_id="ev-1",
        correlation_id="c",
        recipient=Recipient("customer", "c-1"),
        channel="email",
        template="order.status_changed.confirmed",
        attempts=8,
        now=NOW,
        error="contact_unknown",
    )
    assert row(event)[1:] == (
        "failed",
        "email",
        "customer:c-1",
        "order.status_changed.confirmed",
        "8",
        "contact_unknown",
    )


def test_mailbox_lines_list_the_orders_mail_by_recipient_id(tmp_path: Path) -> None:
    rendered = Rendered("t", "en", "Order o-1 confirmed", "Hello Ann", None)
    for n, order_id in enumerate(("o-1", "o-2")):
        cause = Cause(f"ev-{n}", "order.status_changed", "acme", order_id, {}, NOW, "c")
        due = Due(f"n-{n}", cause, Recipient("customer", "c-1"), "email", "t", 1)
        message = compose("shop@acme.test", "ann@example.test", rendered, due, NOW)
        (tmp_path / f"{n}.eml").write_bytes(message.as_bytes())
    lines = mailbox_lines(tmp_path, "o-1")
    assert [line.split() for line in lines[1:]] == [
        ["to", "customer:c-1", "Order", "o-1", "confirmed"]
    ]
    assert not any("ann@" in line or "Ann" in line for line in lines)
    assert mailbox_lines(tmp_path, "o-9")[1:] == ["    (none)"]
