"""A report's `order.refunded` is published before the status events it caused (docs/rewards.md)."""

from __future__ import annotations

from datetime import UTC, datetime

from orderflow.services.status_tracker.messages import Outgoing, refunds_first
from orderflow.shared import topics
from orderflow.shared.envelope import new_event

AT = datetime(2026, 3, 1, tzinfo=UTC)


def row(kind: str, cause: str, order_id: str = "o-1") -> Outgoing:
    event = new_event(
        type=kind,
        tenant="acme",
        order_id=order_id,
        occurred_at=AT,
        causation_id=cause,
        correlation_id="c",
        data={},
        discriminator=f"{kind}:{cause}",
    )
    return topics.ORDERS_LIFECYCLE, event, None


def kinds(rows: list[Outgoing]) -> list[tuple[str, str]]:
    return [(r[1].type, r[1].causation_id) for r in rows]


def test_each_refund_goes_before_the_rows_of_the_report_that_carried_it() -> None:
    decided = [
        row("order.status_changed", "r1"),
        row("order.status_changed", "r2"),
        row("order.reversed", "r2"),
    ]
    after = [row("order.refunded", "r2"), row("order.confirmed", "r9", "o-2")]
    assert kinds(refunds_first(decided, after)) == [
        ("order.status_changed", "r1"),
        ("order.refunded", "r2"),
        ("order.status_changed", "r2"),
        ("order.reversed", "r2"),
        ("order.confirmed", "r9"),
    ]


def test_a_refund_whose_report_changed_no_status_keeps_its_place_before_confirmations() -> None:
    after = [row("order.refunded", "r3"), row("order.confirmed", "r4")]
    assert kinds(refunds_first([row("order.status_changed", "r1")], after)) == [
        ("order.status_changed", "r1"),
        ("order.refunded", "r3"),
        ("order.confirmed", "r4"),
    ]
