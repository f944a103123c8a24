"""Translation between envelopes on the wire and attribution's domain facts and events."""

from __future__ import annotations

from typing import Any

from orderflow.services.attribution.credits import Contributor, Touch
from orderflow.services.attribution.domain import Lifecycle, Reported
from orderflow.services.attribution.state import CreditEvent
from orderflow.shared.envelope import Envelope, stable_id, utcnow
from orderflow.shared.errors import Rejected
from orderflow.shared.vocabulary import Category, ContributorVia, TouchpointKind

REPORTED = "order.reported"
TOUCHPOINT_RECORDED = "touchpoint.recorded"
STATUS_CHANGED = "order.status_changed"
CONFIRMED = "order.confirmed"


def _malformed(event: Envelope, exc: Exception) -> Rejected:
    return Rejected(f"data: malformed {event.type} ({type(exc).__name__}: {exc})", "invalid_event")


def reported_from(event: Envelope) -> Reported:
    """Ingest's `order.reported`; only the customer's id is kept, never its personal data."""
    if event.type != REPORTED or event.order_id is None:
        raise Rejected(
            f"type: expected {REPORTED} with an order_id, got {event.type}", "unexpected_event"
        )
    data = event.data
    try:
        customer = data.get("customer") or {}
        return Reported(
            report_id=str(data["report_id"]),
            occurred_at=event.occurred_at,
            category=Category(data["category"]) if data.get("category") else None,
            customer_id=str(customer["id"]) if customer.get("id") else None,
            contributors=tuple(
                Contributor(str(c["member_id"]), ContributorVia(c["via"]))
                for c in data.get("contributors") or []
            ),
        )
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise _malformed(event, exc) from exc


def touch_from(event: Envelope) -> Touch:
    """Ingest's `touchpoint.recorded` (CONTRACTS §3.2 plus received_at)."""
    if event.type != TOUCHPOINT_RECORDED:
        raise Rejected(
            f"type: expected {TOUCHPOINT_RECORDED}, got {event.type}", "unexpected_event"
        )
    data = event.data
    try:
        return Touch(
            touchpoint_id=str(data["touchpoint_id"]),
            member_id=str(data["member_id"]),
            kind=TouchpointKind(data["kind"]),
            customer_id=str(data["customer_id"]),
            occurred_at=event.occurred_at,
            order_id=str(data["order_id"]) if data.get("order_id") else None,
        )
    except (KeyError, ValueError, TypeError) as exc:
        raise _malformed(event, exc) from exc


def lifecycle_from(event: Envelope) -> Lifecycle:
    """Has OK from any lifecycle event; duplicate only when it becomes the current category."""
    if event.order_id is None:
        raise Rejected("order_id: a lifecycle event names its order", "unexpected_event")
    data = event.data
    has_ok = event.type == CONFIRMED or data.get("has_ok") is True
    duplicate = event.type == STATUS_CHANGED and data.get("category") == Category.DUPLICATE.value
    return Lifecycle(event.occurred_at, has_ok, duplicate)


def event_id(tenant: str, order_id: str, discriminator: str) -> str:
    """Derived from what the event says, not from what caused it: whichever message led to a
    credit, the credit has one id, so a replay after a crash cannot give it a second one."""
    return stable_id("attribution", tenant, order_id, discriminator)


def attribution_envelope(
    event: CreditEvent, tenant: str, order_id: str, causation_id: str, correlation_id: str
) -> Envelope:
    return Envelope(
        event_id=event_id(tenant, order_id, event.discriminator),
        type=event.type,
        tenant=tenant,
        order_id=order_id,
        occurred_at=event.occurred_at,
        produced_at=utcnow(),
        causation_id=causation_id,
        correlation_id=correlation_id,
        schema_=f"orderflow.{event.type}/1",
        data=event_data(event),
    )


def event_data(event: CreditEvent) -> dict[str, Any]:
    """CONTRACTS §5: member_id, via, model, touchpoint_id? (plus confirmation and void reason)."""
    credit = event.credit
    data: dict[str, Any] = {
        "member_id": credit.member_id,
        "via": credit.via.value,
        "model": credit.model.value,
    }
    if credit.touchpoint_id is not None:
        data["touchpoint_id"] = credit.touchpoint_id
    if event.reason is not None:
        data["reason"] = event.reason
    else:
        data["confirmed"] = event.confirmation is not None
    if event.confirmation is not None:
        data["confirmed_by"] = event.confirmation.confirmed_by
        data["confirmed_at"] = event.confirmation.confirmed_at.isoformat()
    return data
