"""Each service's events.py says what the service really does: the topics its build()
reads and writes, and events its own builders make, validated against the declared models.
So docs/asyncapi.yaml, generated from events.py, cannot drift from the code."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast, get_args

import pytest
from aiokafka import ConsumerRecord
from pydantic import TypeAdapter

from orderflow.services.attribution import messages as attribution
from orderflow.services.attribution.credits import Credit, Model
from orderflow.services.attribution.events import CreditModel
from orderflow.services.attribution.state import ATTRIBUTED, VOIDED, Confirmation, CreditEvent
from orderflow.services.ingest import domain as ingest
from orderflow.services.ingest.reports import OrderReport, Touchpoint
from orderflow.services.notifier import messages as notifier
from orderflow.services.notifier.domain import Recipient
from orderflow.services.rewards import messages as rewards
from orderflow.services.rewards.entries import CountedOrder, Kind, LedgerEntry, RewardGrant
from orderflow.services.status_tracker import domain as tracker
from orderflow.services.status_tracker import messages as tracker_messages
from orderflow.shared import asyncapi, dead_letters, outbox, topics
from orderflow.shared.cli import SERVICES
from orderflow.shared.envelope import Envelope
from orderflow.shared.event_types import ServiceEvents, payload
from orderflow.shared.service import Runtime
from orderflow.shared.settings import DatabaseSettings, KafkaSettings
from orderflow.shared.tenants import EventType, TenantConfig, TenantRegistry
from orderflow.shared.vocabulary import Category, ContributorVia

AT = datetime(2026, 3, 1, 12, tzinfo=UTC)
DECLARED = {s.service: s for s in asyncapi.declared_services()}
# A rule on an attribution event: the notifier then reads orders.attribution.v1 too.
TENANTS = TenantRegistry(
    [
        TenantConfig.model_validate(
            {
                "tenant": "shop",
                "notifications": {
                    "rules": [{"on": "order.attributed", "to": ["member"], "channels": ["in_app"]}]
                },
            }
        )
    ]
)


def built(service: str) -> Any:
    """The service's Components, from its own build() with fakes for pool and relay."""
    app = importlib.import_module(f"orderflow.services.{SERVICES[service]}.app")
    runtime = Runtime(
        service, app.SETTINGS(), KafkaSettings(), DatabaseSettings(), TENANTS,
        pool=cast(Any, None), relay=cast(Any, SimpleNamespace(wake=lambda: None)),
    )  # fmt: skip
    return app.build(runtime)


def test_every_service_declares_its_events() -> None:
    assert set(DECLARED) == set(SERVICES)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_declared_reads_are_the_topics_build_handles(service: str) -> None:
    assert set(DECLARED[service].reads) == set(built(service).handlers)


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_declared_writes_are_the_topics_build_creates(service: str) -> None:
    assert set(DECLARED[service].written()) == set(built(service).topics)


def test_every_event_a_tenant_rule_may_name_is_declared() -> None:
    declared = {t for s in DECLARED.values() for t in s.types()}
    assert set(get_args(EventType)) <= declared


def assert_valid(service: str, topic: str, event: Envelope) -> None:
    """The record as published validates against the topic's declared record schema."""
    out = next(o for o in DECLARED[service].outputs() if o.topic == topic)
    record = TypeAdapter(payload(topic, out.events)).validate_json(event.to_bytes())
    assert record.type == event.type


REPORT = OrderReport.model_validate(
    {
        "tenant": "shop", "order_id": "o-1", "status": "OK",
        "occurred_at": "2026-03-01T13:00:00+01:00", "report_id": "up-1", "source": "web",
        "amount": "25.00", "currency": "EUR",
        "customer": {"id": "c-1", "email": "ada@example.test", "name": "Ada"},
        "items": [{"sku": "S-1", "quantity": 2, "unit_price": "12.50", "category": "mugs"}],
        "offer_id": "offer-9", "payment": {"system": "stripe", "fee": "0.30", "currency": "EUR"},
        "contributors": [{"member_id": "m-1", "via": "coupon"}], "metadata": {"channel": "x"},
    }
)  # fmt: skip
BARE = OrderReport.model_validate(
    {"tenant": "shop", "order_id": "o-2", "status": "Weird", "occurred_at": "2026-03-01T12:00:00Z"}
)
TOUCHPOINT = Touchpoint.model_validate(
    {
        "tenant": "shop", "touchpoint_id": "tp-1", "member_id": "m-1", "kind": "click",
        "customer_id": "c-1", "occurred_at": "2026-03-01T11:00:00Z",
    }
)  # fmt: skip


def test_ingest_events_match_their_models() -> None:
    assert_valid(
        "ingest", topics.ORDER_REPORTS, ingest.reported_event(REPORT, "r-1", Category.CONFIRMED, AT)
    )
    assert_valid("ingest", topics.ORDER_REPORTS, ingest.reported_event(BARE, "r-2", None, AT))
    event = ingest.touchpoint_event(TOUCHPOINT, "tp-uuid", AT)
    assert_valid("ingest", topics.TOUCHPOINTS_RECORDED, event)


def lifecycle(decision: tracker.Decision) -> list[Envelope]:
    return [
        tracker_messages.lifecycle_envelope(e, "shop", "o-1", "cause", "chain")
        for e in decision.events
    ]


def test_status_tracker_events_match_their_models() -> None:
    """From ingest's own event through the tracker's decisions, and a note: every type."""
    confirmed = tracker_messages.report_from(
        ingest.reported_event(REPORT, "r-1", Category.CONFIRMED, AT)
    )
    first = tracker.decide(None, [], confirmed)
    refund = tracker.Report("r-3", "Refunded", Category.REFUNDED, "web", AT + timedelta(1), AT)
    second = tracker.decide(first.state, [confirmed], refund)
    rule = tracker.ExpiryRule(lambda status: status == "Pending payment", timedelta(days=7))
    pending = tracker.Report("r-4", "Pending payment", Category.PENDING, "web", AT, AT)
    waiting = tracker.decide(None, [], pending, rule)
    assert waiting.state.expiry_due_at is not None
    expired = tracker.expire(waiting.state, [pending], waiting.state.expiry_due_at, AT, rule)
    events = [*lifecycle(first), *lifecycle(second), *lifecycle(expired)]
    lifecycle_types = {
        t.name
        for out in DECLARED["status-tracker"].writes
        if out.topic == topics.ORDERS_LIFECYCLE
        for t in out.events
    }  # recurring.v1's are checked in test_recurring_events.py
    payments = {"order.payment_recorded", "order.refunded"}  # test_payments_events.py
    events.append(tracker_messages.note_added("shop", "o-1", "n-1", "mgr-3", AT, "chain")[1])
    assert {e.type for e in events} == lifecycle_types - payments
    for event in events:
        assert_valid("status-tracker", topics.ORDERS_LIFECYCLE, event)


CREDITS = [
    Credit("m-1", ContributorVia.SALES_MANAGER, Model.EXPLICIT),
    Credit("m-2", ContributorVia.AFFILIATION, Model.LAST_TOUCH, "tp-1"),
]
CONFIRMATIONS = [None, Confirmation("manager-3", AT), Confirmation(None, AT)]
REASONS = ["duplicate", "explicit_contributor", "superseded", "outside_window"]


def test_attribution_events_match_their_models() -> None:
    events = [
        CreditEvent(ATTRIBUTED, credit, AT, "d", confirmation=confirmation)
        for credit in CREDITS
        for confirmation in CONFIRMATIONS
    ]
    events += [
        CreditEvent(VOIDED, credit, AT, "d", reason=reason, confirmation=CONFIRMATIONS[1])
        for credit in CREDITS
        for reason in REASONS
    ]
    for event in events:
        envelope = attribution.attribution_envelope(event, "shop", "o-1", "cause", "chain")
        assert_valid("attribution", topics.ORDERS_ATTRIBUTION, envelope)


def test_attribution_credit_models_are_the_domain_models() -> None:
    schema = TypeAdapter(CreditModel).json_schema()
    assert schema["enum"] == [m.value for m in Model]


def test_rewards_events_match_their_models() -> None:
    for badge in ("first-sale", None):
        grant = RewardGrant("rw-1", "m-1", "first-order", 100, badge, AT, "cause")
        assert_valid("rewards", topics.REWARDS, rewards.reward_envelope(grant, "shop", "o-1", "c"))
    for kind, amount in ((Kind.ACCRUED, "2.50"), (Kind.REVERSED, "-2.50"), (Kind.APPROVED, "0")):
        entry = LedgerEntry(
            "e-1", kind, "line-1", "m-1", Decimal(amount), "EUR", "order_confirmed", AT, "cause"
        )
        event = rewards.entry_envelope(entry, "shop", "o-1", "chain")
        assert_valid("rewards", topics.COMMISSIONS, event)
    counted = CountedOrder(
        "shop", "m-1", "o-1", AT, Decimal("25.00"), "EUR", "offer-9", frozenset({"o-9"}),
        frozenset({"mugs"}), "cause",
    )  # fmt: skip
    event = rewards.counted_envelope(counted, "chain")
    assert_valid("rewards", topics.REWARDS_MEMBER_FACTS, event)


@pytest.mark.parametrize("sent", [True, False])
def test_notifier_events_match_their_models(sent: bool) -> None:
    event = notifier.outcome_event(
        sent=sent, notification_id="n-1", tenant="shop", order_id=None, cause_event_id="cause",
        correlation_id="chain", recipient=Recipient("member", "m-1"), channel="in_app",
        template="reward.granted", attempts=1, now=AT, error=None if sent else "http_410",
    )  # fmt: skip
    assert_valid("notifier", topics.NOTIFICATIONS, event)


class FakeConnection:
    async def execute(self, *args: object) -> str:
        return "INSERT 0 1"


@pytest.mark.parametrize("size", [10, 2**20])
async def test_dead_letters_match_their_model(monkeypatch: pytest.MonkeyPatch, size: int) -> None:
    """A small value travels inline, a large one is stored aside: both are declared."""
    written: list[tuple[str, Envelope]] = []

    async def enqueue(conn: object, topic: str, event: Envelope, key: object = None) -> None:
        written.append((topic, event))

    async def enqueue_many(conn: object, items: list[tuple[str, Envelope, object]]) -> None:
        written.extend((topic, event) for topic, event, _ in items)

    monkeypatch.setattr(outbox, "enqueue", enqueue)
    monkeypatch.setattr(outbox, "enqueue_many", enqueue_many)
    value = b"\xff" * size
    record = ConsumerRecord(
        topics.ORDERS_INBOUND, 3, 42, 0, 0, b"shop:o-1", value, None, 8, size, []
    )
    await dead_letters.enqueue(
        cast(Any, FakeConnection()), "ingest", topics.ORDERS_INBOUND, record,
        error_type="invalid_report", error="value is not valid JSON", attempts=1,
        first_failed_at=AT,
    )  # fmt: skip
    [(topic, event)] = written
    assert topic == "ingest.dlq.v1"
    assert ("value" in event.data) != ("value_ref" in event.data)
    assert_valid("ingest", topic, event)


def test_a_declaration_is_plain_data() -> None:
    for declared in DECLARED.values():
        assert isinstance(declared, ServiceEvents)
        assert all(o.events for o in declared.writes), declared.service
