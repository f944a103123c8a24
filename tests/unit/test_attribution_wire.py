"""attribution's wire format: ingest's events in, CONTRACTS §5 events out, the HTTP bodies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orderflow.services.attribution import messages
from orderflow.services.attribution.domain import (
    ATTRIBUTED,
    VOIDED,
    Confirmation,
    Contributor,
    Credit,
    CreditEvent,
    Model,
    OrderAttribution,
)
from orderflow.services.attribution.requests import HttpError, confirmation_of, order_view
from orderflow.services.ingest import domain as ingest
from orderflow.services.ingest.reports import OrderReport, Touchpoint
from orderflow.shared.envelope import new_event, parse_envelope
from orderflow.shared.errors import Rejected
from orderflow.shared.vocabulary import Category, ContributorVia, TouchpointKind

AT = datetime(2026, 3, 1, 12, tzinfo=UTC)


def test_ingest_report_event_becomes_a_report_fact_without_personal_data() -> None:
    report = OrderReport.model_validate(
        {
            "tenant": "shop",
            "order_id": "o-1",
            "status": "OK",
            "occurred_at": "2026-03-01T13:00:00+01:00",
            "amount": "10.00",
            "currency": "EUR",
            "customer": {"id": "c-1", "email": "ada@example.test", "name": "Ada"},
            "contributors": [{"member_id": "m-1", "via": "sales_manager"}],
        }
    )
    event = ingest.reported_event(report, "rep-uuid", Category.CONFIRMED, AT)
    fact = messages.reported_from(event)
    assert (fact.report_id, fact.occurred_at, fact.category) == ("rep-uuid", AT, Category.CONFIRMED)
    assert fact.customer_id == "c-1"
    assert fact.contributors == (Contributor("m-1", ContributorVia.SALES_MANAGER),)
    assert "ada" not in repr(fact).lower()


def test_ingest_touchpoint_event_becomes_a_touch() -> None:
    touchpoint = Touchpoint.model_validate(
        {
            "tenant": "shop",
            "touchpoint_id": "tp-1",
            "member_id": "m-1",
            "kind": "coupon",
            "customer_id": "c-1",
            "occurred_at": "2026-03-01T12:00:00Z",
            "order_id": "o-1",
        }
    )
    touch = messages.touch_from(ingest.touchpoint_event(touchpoint, "tp-uuid", AT))
    assert (touch.touchpoint_id, touch.member_id, touch.kind) == (
        "tp-1",
        "m-1",
        TouchpointKind.COUPON,
    )
    assert (touch.customer_id, touch.occurred_at, touch.order_id) == ("c-1", AT, "o-1")


def lifecycle_event(type_: str, **data: Any) -> Any:
    return new_event(
        type=type_, tenant="shop", order_id="o-1", occurred_at=AT, causation_id="x",
        correlation_id="x", data=data,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("type_", "data", "has_ok", "duplicate"),
    [
        ("order.status_changed", {"category": "pending", "has_ok": False}, False, False),
        ("order.status_changed", {"category": "duplicate", "has_ok": False}, False, True),
        ("order.status_changed", {"category": "fulfilled", "has_ok": True}, True, False),
        ("order.confirmed", {"category": "confirmed"}, True, False),
        # The reversal names the category of its own entry, not the order's current one.
        ("order.reversed", {"category": "refunded", "has_ok": True}, True, False),
        ("order.expired", {"category": "expired", "has_ok": False}, False, False),
    ],
)
def test_lifecycle_events_say_has_ok_and_when_the_order_became_a_duplicate(
    type_: str, data: dict[str, Any], has_ok: bool, duplicate: bool
) -> None:
    fact = messages.lifecycle_from(lifecycle_event(type_, **data))
    assert (fact.has_ok, fact.duplicate, fact.occurred_at) == (has_ok, duplicate, AT)


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        lifecycle_event("order.status_changed").to_bytes(),  # not an order.reported
        lifecycle_event(
            "order.reported", report_id="r", contributors=[{"member_id": "m"}]
        ).to_bytes(),  # a contributor without via
    ],
)
def test_a_malformed_report_event_can_never_succeed(raw: bytes) -> None:
    with pytest.raises(Rejected):
        messages.reported_from(parse_envelope(raw))


def test_attributed_envelope_carries_the_contract_fields_and_a_cause_independent_id() -> None:
    credit = Credit("m-1", ContributorVia.AFFILIATION, Model.LAST_TOUCH, "tp-1")
    event = CreditEvent(ATTRIBUTED, credit, AT, "attributed:k:0")
    one = messages.attribution_envelope(event, "shop", "o-1", "cause-1", "corr")
    two = messages.attribution_envelope(event, "shop", "o-1", "cause-2", "corr")
    assert one.event_id == two.event_id != messages.event_id("shop", "o-2", "attributed:k:0")
    assert (one.type, one.schema_, one.order_id, one.causation_id) == (
        ATTRIBUTED, "orderflow.order.attributed/1", "o-1", "cause-1",
    )  # fmt: skip
    assert one.data == {
        "member_id": "m-1",
        "via": "affiliation",
        "model": "last_touch",
        "touchpoint_id": "tp-1",
        "confirmed": False,
    }


def test_confirmed_and_voided_events_say_so() -> None:
    credit = Credit("sm-1", ContributorVia.SALES_MANAGER, Model.EXPLICIT, confirmed=True)
    confirmation = Confirmation("sm-1", AT)
    confirmed = messages.event_data(CreditEvent(ATTRIBUTED, credit, AT, "c", None, confirmation))
    voided = messages.event_data(CreditEvent(VOIDED, credit, AT, "v", "duplicate"))
    assert confirmed == {
        "member_id": "sm-1",
        "via": "sales_manager",
        "model": "explicit",
        "confirmed": True,
        "confirmed_by": "sm-1",
        "confirmed_at": AT.isoformat(),
    }
    assert voided == {
        "member_id": "sm-1", "via": "sales_manager", "model": "explicit", "reason": "duplicate",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("body", "manager"),
    [({"manager_id": "sm-1"}, "sm-1"), ({"system": True}, None)],
)
def test_a_confirmation_names_a_manager_or_the_system(body: object, manager: str | None) -> None:
    assert confirmation_of(body) == manager


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ([], [""]),
        ({}, ["manager_id"]),
        ({"manager_id": ""}, ["manager_id"]),
        ({"manager_id": 7}, ["manager_id"]),
        ({"manager_id": "x" * 129}, ["manager_id"]),
        ({"system": False}, ["system"]),
        ({"manager_id": "sm-1", "system": True}, [""]),
        ({"manager_id": "sm-1", "by": "me"}, ["by"]),
    ],
)
def test_a_bad_confirmation_body_is_422_naming_every_bad_field(
    body: object, paths: list[str]
) -> None:
    with pytest.raises(HttpError) as raised:
        confirmation_of(body)
    assert raised.value.status == 422
    assert [e["path"] for e in raised.value.body["errors"]] == paths


def test_the_view_shows_credits_model_touchpoint_and_confirmation() -> None:
    state = OrderAttribution(
        "o-1",
        reported=True,
        ordered_at=AT,
        customer_id="c-1",
        contributors=(Contributor("sm-1", ContributorVia.SALES_MANAGER),),
        confirmation=Confirmation("sm-1", AT + timedelta(days=1)),
        credits=(Credit("sm-1", ContributorVia.SALES_MANAGER, Model.EXPLICIT, confirmed=True),),
    )
    view = order_view("shop", state)
    assert view["sale"] == "manager" and view["has_ok"] is False
    assert view["credits"] == [
        {
            "member_id": "sm-1",
            "via": "sales_manager",
            "model": "explicit",
            "touchpoint_id": None,
            "confirmed": True,
        }
    ]
    assert view["confirmation"] == {
        "confirmed_by": "sm-1",
        "manager_id": "sm-1",
        "system": False,
        "confirmed_at": (AT + timedelta(days=1)).isoformat(),
    }
