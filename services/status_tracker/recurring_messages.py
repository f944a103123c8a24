"""A recurring order's decisions as outgoing envelopes on `recurring.v1` (CONTRACTS §10).

Key `<tenant>:<recurring_order_id>`; the envelope's `order_id` is the initial order's. Event
ids are stable: a charge_due's comes from (tenant, recurring order, sequence, attempt)
alone, so whichever replica or restart fires the timer, the charge has one id; a status
change's from its cause and the order's version.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orderflow.services.status_tracker.recurring import Decision, child_order_id
from orderflow.services.status_tracker.recurring_state import RecurringOrder
from orderflow.shared import topics
from orderflow.shared.envelope import Envelope, new_event, record_key

STATUS_CHANGED = "recurring_order.status_changed"
CHARGE_DUE = "recurring.charge_due"
Outgoing = tuple[str, Envelope, bytes | None]


def charge_cause(order: RecurringOrder, sequence: int, attempt: int) -> str:
    """What causes a charge_due: the charge's attempt itself, never who fired the timer."""
    return f"recurring:{order.tenant}:{order.recurring_order_id}:{sequence}:{attempt}"


def outgoing(decision: Decision, cause: str, at: datetime, by: str | None = None) -> list[Outgoing]:
    """The events of one decision: the charge asked for first, then the status it left."""
    order = decision.order
    out: list[Outgoing] = []
    key = record_key(order.tenant, order.recurring_order_id)
    if decision.requested is not None:
        request = decision.requested
        cause = charge_cause(order, request.sequence, request.attempt)
        data = {
            "recurring_order_id": order.recurring_order_id,
            "sequence": request.sequence,
            "attempt": request.attempt,
            "order_id": child_order_id(order.recurring_order_id, request.sequence),
            "amount": None if order.terms.amount is None else str(order.terms.amount),
            "currency": order.terms.currency,
            "due_at": request.due_at.isoformat(),
        }
        out.append((topics.RECURRING, _event(order, CHARGE_DUE, request.due_at, cause, data), key))
    if decision.status_changed:
        data = status_data(decision, by)
        event = _event(order, STATUS_CHANGED, at, cause, data, f"v{order.version}")
        out.append((topics.RECURRING, event, key))
    return out


def status_data(decision: Decision, by: str | None) -> dict[str, Any]:
    order = decision.order
    previous = decision.previous_status
    return {
        "recurring_order_id": order.recurring_order_id,
        "status": None if order.status is None else order.status.value,
        "previous_status": None if previous is None else previous.value,
        "payments_remaining": order.payments_remaining,
        "next_payment_at": _iso(order.next_payment_at),
        "payments_made": order.payments_made,
        "customer_id": order.terms.customer_id,
        "offer_id": order.terms.offer_id,
        "by": by,
    }


def _event(
    order: RecurringOrder,
    type_: str,
    at: datetime,
    cause: str,
    data: dict[str, Any],
    discriminator: str = "",
) -> Envelope:
    return new_event(
        type=type_,
        tenant=order.tenant,
        order_id=order.terms.initial_order_id,
        occurred_at=at,
        causation_id=cause,
        correlation_id=order.correlation_id,
        data=data,
        discriminator=f"{order.recurring_order_id}:{discriminator}",
    )


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()
