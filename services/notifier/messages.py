"""Translation between envelopes on the wire and the notifier's facts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from orderflow.services.notifier.domain import Cause, Recipient
from orderflow.shared.envelope import Envelope, new_event
from orderflow.shared.errors import Rejected

REPORTED = "order.reported"
ATTRIBUTED = "order.attributed"
ATTRIBUTION_VOIDED = "order.attribution_voided"
SENT = "notification.sent"
FAILED = "notification.failed"


@dataclass(frozen=True)
class Contact:
    """The customer of one order, as the upstream report gave it (personal data)."""

    tenant: str
    order_id: str
    customer_id: str
    email: str | None
    name: str | None


def cause_of(event: Envelope) -> Cause:
    return Cause(
        event.event_id,
        event.type,
        event.tenant,
        event.order_id,
        dict(event.data),
        event.occurred_at,
        event.correlation_id,
    )


def contact_from(event: Envelope) -> Contact | None:
    """The customer of an `order.reported`; None when the report names no customer."""
    if event.type != REPORTED or event.order_id is None:
        raise Rejected(
            f"type: expected {REPORTED} with an order_id, got {event.type}", "unexpected_event"
        )
    customer = event.data.get("customer")
    if not isinstance(customer, dict) or not customer.get("id"):
        return None
    return Contact(
        event.tenant,
        event.order_id,
        str(customer["id"]),
        _text(customer.get("email")),
        _text(customer.get("name")),
    )


def merge_contacts(contacts: Sequence[Contact]) -> list[Contact]:
    """One contact per order, as saving them one after the other would leave it: the later
    report names the customer; one without an e-mail or name keeps what an earlier one said."""
    merged: dict[tuple[str, str], Contact] = {}
    for c in contacts:
        before = merged.get((c.tenant, c.order_id))
        if before is not None:
            c = replace(c, email=c.email or before.email, name=c.name or before.name)
        merged[(c.tenant, c.order_id)] = c
    return list(merged.values())


def member_of(data: Mapping[str, Any]) -> str | None:
    """The member an event's data names (a reward, a commission, an attribution)."""
    member = data.get("member_id")
    return str(member) if member else None


def customer_of(data: Mapping[str, Any]) -> str | None:
    """The customer an event's data names (a lifecycle event)."""
    customer = data.get("customer_id")
    return str(customer) if customer else None


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str) and value else None


def outcome_event(
    *,
    sent: bool,
    notification_id: str,
    tenant: str,
    order_id: str | None,
    cause_event_id: str,
    correlation_id: str,
    recipient: Recipient,
    channel: str,
    template: str,
    attempts: int,
    now: datetime,
    error: str | None = None,
) -> Envelope:
    """`notification.sent` or `notification.failed` (CONTRACTS §5); `error` is an addition."""
    data: dict[str, Any] = {
        "notification_id": notification_id,
        "channel": channel,
        "recipient": {"role": recipient.role, "id": recipient.id},
        "template": template,
        "attempts": attempts,
    }
    if not sent:
        data["error"] = error
    return new_event(
        type=SENT if sent else FAILED,
        tenant=tenant,
        order_id=order_id,
        occurred_at=now,
        causation_id=cause_event_id,
        correlation_id=correlation_id,
        data=data,
        discriminator=notification_id,
    )
