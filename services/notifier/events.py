"""What the notifier reads and writes on Kafka, as data: the source of docs/asyncapi.yaml."""

from __future__ import annotations

from pydantic import Field

from orderflow.services.notifier.domain import Channel, Role
from orderflow.shared import topics
from orderflow.shared.event_types import EventData, EventType, Output, ServiceEvents


class NotifiedRecipient(EventData):
    """Who was told."""

    role: Role = Field(description="Their role for the event", examples=["customer"])
    id: str = Field(description="Their id: customer, member or merchant (the tenant)")


class NotificationData(EventData):
    """One notification's outcome, for one (event, recipient, channel) (CONTRACTS §5)."""

    notification_id: str = Field(description="Stable id of the notification", examples=["3d2f…"])
    channel: Channel = Field(description="How they were told", examples=["email"])
    recipient: NotifiedRecipient = Field(description="Who was told")
    template: str = Field(description="Template rendered", examples=["order.confirmed"])
    attempts: int = Field(ge=1, description="Delivery attempts made", examples=[1])


class NotificationFailedData(NotificationData):
    """A notification refused for good, or out of attempts."""

    error: str = Field(
        description="Reason code, never an address",
        examples=["http_410", "smtp_550", "no_email_address"],
    )


EVENTS = ServiceEvents(
    service="notifier",
    reads={
        topics.ORDER_REPORTS: "The order's customer contact (lifecycle events carry only its id)",
        topics.ORDERS_LIFECYCLE: "Causes: every lifecycle event",
        topics.REWARDS: "Causes: rewards granted",
        topics.COMMISSIONS: "Causes: ledger entries",
        topics.RECURRING: "Causes: recurring orders' status changes and charges due (§10)",
        topics.ORDERS_ATTRIBUTION: "Causes, and the order's members; read only when a tenant's "
        "rule names an attribution event or tells `member` about an order event",
    },
    writes=(
        Output(
            topics.NOTIFICATIONS,
            "The outcome of every notification",
            (
                EventType("notification.sent", "A delivery succeeded", NotificationData),
                EventType(
                    "notification.failed", "A delivery failed for good", NotificationFailedData
                ),
            ),
            key="<tenant>:<order_id>, or <tenant>:<recipient id> for a notification about no order",
        ),
    ),
)
