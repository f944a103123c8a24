"""The events of recurring orders on `recurring.v1` (CONTRACTS §10), as declared data."""

from __future__ import annotations

from pydantic import Field

from orderflow.shared import topics
from orderflow.shared.event_types import EventData, EventType, Output

DECIMAL = r"^[0-9]+(\.[0-9]+)?$"
STATUSES = "active, processing, paused, completed or failed"


class RecurringStatusChangedData(EventData):
    """The recurring order's status changed; `previous_status` null when it started."""

    recurring_order_id: str = Field(description="The recurring order", examples=["sub-1"])
    status: str = Field(description=f"Its new status: {STATUSES}", examples=["active"])
    previous_status: str | None = Field(description="Its status before", examples=[None])
    payments_remaining: int | None = Field(
        description="Charges still to succeed; null for an open-ended plan", examples=[11]
    )
    next_payment_at: str | None = Field(
        description="When the next charge (or attempt) is due; null when none is scheduled",
        examples=["2026-02-28T14:30:00+00:00"],
    )
    payments_made: int = Field(description="Charges that succeeded, the initial included")
    customer_id: str | None = Field(description="The initial order's customer", examples=["c-7"])
    offer_id: str | None = Field(description="The initial order's offer", examples=["box"])
    by: str | None = Field(None, description="Who paused, activated or completed it")


class ChargeDueData(EventData):
    """A charge is due: the integration charges it and reports a payment (§8) with this
    `order_id` and `recurring_order_id`."""

    recurring_order_id: str = Field(description="The recurring order", examples=["sub-1"])
    sequence: int = Field(ge=2, description="Which charge (1 was the initial order)")
    attempt: int = Field(ge=1, le=3, description="1, or 2 and 3 for the retries", examples=[1])
    order_id: str = Field(description="`<recurring_order_id>-<sequence>`", examples=["sub-1-2"])
    amount: str | None = Field(pattern=DECIMAL, description="To charge", examples=["9.90"])
    currency: str | None = Field(description="ISO 4217 code of the amount", examples=["EUR"])
    due_at: str = Field(description="When it fell due (RFC 3339)")


OUTPUT = Output(
    topics.RECURRING,
    "Recurring orders: each charge as it falls due, and every change of status",
    (
        EventType(
            "recurring_order.status_changed",
            "A recurring order's status changed (CONTRACTS §10)",
            RecurringStatusChangedData,
        ),
        EventType(
            "recurring.charge_due",
            "A charge of a recurring order fell due: exactly one per (sequence, attempt)",
            ChargeDueData,
        ),
    ),
    key="<tenant>:<recurring_order_id>",
)
