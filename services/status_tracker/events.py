"""What the status-tracker reads and writes on Kafka, as data: the source of docs/asyncapi.yaml."""

from __future__ import annotations

from pydantic import Field

from orderflow.services.status_tracker import recurring_events
from orderflow.services.status_tracker.payments_events import PAYMENT_EVENTS
from orderflow.shared import topics
from orderflow.shared.event_types import EventData, EventType, Output, ServiceEvents
from orderflow.shared.vocabulary import Category

DECIMAL = r"^[0-9]+(\.[0-9]+)?$"


class LifecycleItem(EventData):
    """One order line, as the order's reports gave it."""

    sku: str = Field(description="Stock keeping unit", examples=["SKU-1"])
    name: str | None = Field(description="Product name", examples=["Blue mug"])
    quantity: int = Field(ge=1, description="Units ordered", examples=[2])
    unit_price: str = Field(pattern=DECIMAL, description="Price of one unit", examples=["12.50"])
    category: str | None = Field(description="Product category", examples=["kitchen"])
    offer_id: str | None = Field(description="Offer this line sold under", examples=["o-9"])


class LifecycleData(EventData):
    """The status the event is about (CONTRACTS §5) and the order as it is now."""

    status: str = Field(description="External status, exactly as received", examples=["OK"])
    category: Category = Field(description="What the status means", examples=["confirmed"])
    has_ok: bool = Field(description="The order is, or at some time was, confirmed")
    amount: str | None = Field(pattern=DECIMAL, description="Order amount", examples=["25.00"])
    currency: str | None = Field(description="ISO 4217 code of the amount", examples=["EUR"])
    customer_id: str | None = Field(description="The customer's id", examples=["cust-77"])
    offer_id: str | None = Field(description="Offer of the order", examples=["offer-9"])
    items: list[LifecycleItem] = Field(description="Order lines (empty when none were reported)")


class StatusChangedData(LifecycleData):
    """The order's current status changed (CONTRACTS §5): the new one and the one before."""

    previous_status: str | None = Field(
        description="The status before; null for the order's first", examples=["Pending"]
    )
    previous_category: Category | None = Field(
        description="Its category; null for the order's first", examples=["pending"]
    )


class NoteAddedData(EventData):
    """A note was added to the order (CONTRACTS §7); its text is read with the order's detail."""

    note_id: str = Field(
        description="The note's id", examples=["3f1c9a7e-0b5d-4e1a-9c2f-7d8e6b5a4c3d"]
    )
    author: str = Field(description="Who wrote it, as given", examples=["manager-3"])


EVENTS = ServiceEvents(
    service="status-tracker",
    reads={
        topics.ORDER_REPORTS: "Every report of every order, in upstream time per order",
        topics.ORDERS_ATTRIBUTION: "Credits per order, for the orders read model (docs/orders.md)",
        topics.PAYMENT_REPORTS: "Every payment report, for payments, refunds and confirm on payment",
    },
    writes=(
        Output(
            topics.ORDERS_LIFECYCLE,
            "Each order's lifecycle, decided from its whole history in upstream time",
            (
                EventType(
                    "order.status_changed",
                    "The order's current status (the report latest upstream) changed",
                    StatusChangedData,
                ),
                EventType(
                    "order.confirmed",
                    "The order became Has OK: exactly one per order, ever",
                    LifecycleData,
                ),
                EventType(
                    "order.reversed",
                    "A Has OK order moved to refunded or chargeback (the first such, once)",
                    LifecycleData,
                ),
                EventType(
                    "order.expired",
                    "A pending-payment order passed its deadline (tenant `expiry`) unconfirmed; "
                    "the tracker records external status `Expired`",
                    LifecycleData,
                ),
                *PAYMENT_EVENTS,
                EventType("order.note_added", "A note was added to the order", NoteAddedData),
            ),
        ),
        recurring_events.OUTPUT,
    ),
)
