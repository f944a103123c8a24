"""What ingest reads and writes on Kafka, as data: the source of docs/asyncapi.yaml."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from orderflow.services.ingest import payments
from orderflow.services.ingest.payments import PaymentReport, PaymentSource, PaymentStatus
from orderflow.services.ingest.report_fields import Discount, PaymentPlan, Recurring, Shipping
from orderflow.services.ingest.reports import (
    Contributor,
    Currency,
    Customer,
    Id,
    Item,
    Money,
    OrderReport,
    Payment,
    Timestamp,
    Touchpoint,
)
from orderflow.shared import topics
from orderflow.shared.event_types import EventData, EventType, Inbound, Output, ServiceEvents
from orderflow.shared.vocabulary import Category, TouchpointKind


class OrderReportedData(EventData):
    """The validated report (CONTRACTS §3.1) without tenant and order_id (in the envelope),
    with its stable id, the category its tenant's profile gives it and when it arrived."""

    status: str = Field(description="External status, exactly as received", examples=["OK"])
    occurred_at: Timestamp = Field(description="When the status happened upstream")
    report_id: str = Field(
        description="orderflow's id of the report: a UUIDv5 of its §3.1 identity",
        examples=["0f5e2f0c-5d7c-5b0e-9a57-6f2c1d0b9e63"],
    )
    upstream_report_id: str | None = Field(
        description="The upstream's own report_id, if it sent one", examples=["r1"]
    )
    source: str = Field(description="Upstream system", examples=["web"])
    category: Category | None = Field(
        description="What the status means for the tenant (or the platform adapter); "
        "null when the profile does not know it",
        examples=["confirmed"],
    )
    received_at: Timestamp = Field(description="When ingest stored the report")
    amount: Money | None = Field(description="Order amount, decimal string")
    currency: Currency | None = Field(description="ISO 4217 code of the amount")
    customer: Customer | None = Field(description="The customer; email and name are personal data")
    items: list[Item] | None = Field(description="Order lines")
    offer_id: str | None = Field(description="Offer of the order", examples=["offer-9"])
    payment: Payment | None = Field(description="How the order was paid")
    contributors: list[Contributor] | None = Field(description="Members to credit")
    metadata: dict[str, Any] | None = Field(description="Free-form, as received")
    offer_name: str | None = Field(None, description="Name of the offer", examples=["Spring"])
    discounts: list[Discount] | None = Field(None, description="Discounts (§7)")
    shipping: Shipping | None = Field(None, description="Shipping; its address is personal data")
    payment_plan: PaymentPlan | None = Field(None, description="full (default) or partial (§8)")
    recurring: Recurring | None = Field(None, description="Its recurring order (§10)")
    refunded_amount: Money | None = Field(
        None, description="What this refund returned, with a refunded or chargeback status (§8)"
    )


class TouchpointRecordedData(EventData):
    """The validated touchpoint (CONTRACTS §3.2) without tenant, and when it arrived."""

    touchpoint_id: Id = Field(description="Upstream's id of the touchpoint", examples=["tp-1"])
    member_id: Id = Field(description="Member who made the touch", examples=["m-12"])
    kind: TouchpointKind = Field(description="Kind of touch", examples=["click"])
    customer_id: Id = Field(description="Customer who was touched", examples=["cust-77"])
    occurred_at: Timestamp = Field(description="When it happened upstream")
    order_id: str | None = Field(description="Its order, if known", examples=["1001"])
    received_at: Timestamp = Field(description="When ingest stored it")


class PaymentReportedData(EventData):
    """The validated payment report (CONTRACTS §8) with its stable id, where it came from and
    when it arrived; money as decimal strings, absent optionals omitted."""

    tenant: str = Field(description="Tenant", examples=["acme"])
    order_id: str = Field(description="The order the payment is for", examples=["1001"])
    payment_id: str = Field(description="The invoice number", examples=["inv-1"])
    status: PaymentStatus = Field(description="Payment status", examples=["succeeded"])
    occurred_at: Timestamp = Field(description="When the payment reached the status")
    amount: Money = Field(description="Transaction amount, decimal string")
    currency: Currency = Field(description="ISO 4217 code of amount, fee and refund")
    fee: Money | None = Field(None, description="The payment system's commission")
    payment_system: str = Field(description="Merchant account or processor", examples=["stripe"])
    one_click: bool | None = Field(None, description="Paid with one click")
    share_percent: Money | None = Field(None, description="Part of the offer it buys, 0-100")
    refunded_amount: Money | None = Field(None, description="What this refund returned")
    error_code: str | None = Field(None, description="Why it failed", examples=["card_declined"])
    comment: str | None = Field(None, description="The buyer's comment; personal data")
    recurring_order_id: str | None = Field(None, description="Its recurring order (§10)")
    report_id: str = Field(
        description="orderflow's id of the report: a UUIDv5 of (tenant, payment_id, status, "
        "occurred_at)",
        examples=["0f5e2f0c-5d7c-5b0e-9a57-6f2c1d0b9e63"],
    )
    source: PaymentSource = Field(description="Where the report came from", examples=["api"])
    received_at: Timestamp = Field(description="When ingest stored the report")


REPORTED = EventType(
    "order.reported", "An order status report, stored once (internal)", OrderReportedData
)
TOUCHPOINT_RECORDED = EventType(
    "touchpoint.recorded", "A touchpoint, stored once (internal)", TouchpointRecordedData
)
PAYMENT_REPORTED = EventType(
    payments.REPORTED, "A payment report, stored once (internal)", PaymentReportedData
)

EVENTS = ServiceEvents(
    service="ingest",
    reads={
        topics.ORDERS_INBOUND: "Order status reports from upstream systems (CONTRACTS §3.1); "
        "an invalid record goes to ingest.dlq.v1 with every bad field named",
        topics.TOUCHPOINTS_INBOUND: "Attribution evidence (CONTRACTS §3.2)",
        topics.PAYMENTS_INBOUND: "Payment and invoice reports (CONTRACTS §8); an invalid "
        "record goes to ingest.dlq.v1 with every bad field named",
    },
    inbound={
        topics.ORDERS_INBOUND: Inbound(OrderReport, key="<tenant>:<order_id>"),
        topics.TOUCHPOINTS_INBOUND: Inbound(Touchpoint, key="<tenant>:<customer_id>"),
        topics.PAYMENTS_INBOUND: Inbound(PaymentReport, key="<tenant>:<order_id>"),
    },
    writes=(
        Output(
            topics.ORDER_REPORTS,
            "Every report once, from HTTP, the platform webhooks or orders.inbound.v1 (internal)",
            (REPORTED,),
        ),
        Output(
            topics.TOUCHPOINTS_RECORDED,
            "Every touchpoint once, from HTTP or touchpoints.inbound.v1 (internal)",
            (TOUCHPOINT_RECORDED,),
            key="<tenant>:<customer_id>",
        ),
        Output(
            topics.PAYMENT_REPORTS,
            "Every payment report once, from HTTP, the platform webhooks or "
            "payments.inbound.v1 (internal)",
            (PAYMENT_REPORTED,),
        ),
    ),
)
