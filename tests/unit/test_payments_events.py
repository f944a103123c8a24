"""From ingest's own `payment.reported` through the payments decisions: the events the
tracker writes validate against what events.py declares (docs/asyncapi.yaml)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from orderflow.services.ingest.payments import PaymentReport, PaymentSource, reported_event
from orderflow.services.status_tracker.messages import lifecycle_envelope
from orderflow.services.status_tracker.payments_decisions import PaymentFacts, record
from orderflow.services.status_tracker.payments_ledger import OrderTerms
from orderflow.services.status_tracker.payments_messages import payment_from
from orderflow.shared import topics
from orderflow.shared.envelope import Envelope
from orderflow.shared.errors import Rejected
from tests.unit.test_event_schemas import assert_valid

AT = datetime(2026, 3, 1, 12, tzinfo=UTC)


def published(status: str, occurred_at: str, **extra: object) -> Envelope:
    report = PaymentReport.model_validate(
        {
            "tenant": "shop", "order_id": "o-1", "payment_id": "inv-1", "status": status,
            "occurred_at": occurred_at, "amount": "40.00", "currency": "EUR",
            "payment_system": "stripe", **extra,
        }
    )  # fmt: skip
    return reported_event(report, f"rid-{status}-{occurred_at}", PaymentSource.API, AT)


def test_payment_events_match_their_models() -> None:
    succeeded = payment_from(
        published("succeeded", "2026-03-01T10:00:00Z", fee="1.00", one_click=True)
    )
    refunded = payment_from(published("refunded", "2026-03-01T11:00:00Z", refunded_amount="5.00"))
    terms = OrderTerms(Decimal("40.00"), "EUR")
    first = record(PaymentFacts(), terms, succeeded)
    second = record(first.facts, terms, refunded)
    events = [
        lifecycle_envelope(e, "shop", "o-1", "cause", "chain")
        for e in (*first.events, *second.events)
    ]
    assert [e.type for e in events] == [
        "order.payment_recorded",
        "order.payment_recorded",
        "order.refunded",
    ]
    for event in events:
        assert_valid("status-tracker", topics.ORDERS_LIFECYCLE, event)
    assert events[0].data["funds_credited"] == "39.00"


def test_ingests_event_reads_back_as_the_same_payment_report() -> None:
    event = published(
        "failed",
        "2026-03-01T10:00:00+02:00",
        error_code="card_declined",
        comment="pls call",
        share_percent="50",
        recurring_order_id="r-1",
    )
    report = payment_from(event)
    assert (report.payment_id, report.status.value, report.error_code) == (
        "inv-1",
        "failed",
        "card_declined",
    )
    assert (report.share_percent, report.comment, report.recurring_order_id) == (
        Decimal("50"),
        "pls call",
        "r-1",
    )
    assert report.occurred_at == datetime(2026, 3, 1, 8, tzinfo=UTC)


def test_an_event_of_another_type_is_rejected() -> None:
    event = published("pending", "2026-03-01T10:00:00Z").model_copy(update={"type": "x.y"})
    with pytest.raises(Rejected, match=r"payment\.reported"):
        payment_from(event)
