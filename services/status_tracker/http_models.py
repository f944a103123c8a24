"""The shapes of the orders reads (CONTRACTS §7), for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

DECIMAL_TEXT = Field(pattern=r"^-?[0-9]+(\.[0-9]+)?$", examples=["12.50"])


class SalesManager(BaseModel):
    member_id: str
    confirmed: bool = Field(description="The sale was confirmed by that manager")


class OrderSummary(BaseModel):
    order_id: str
    status: str = Field(description="The current external status, as received")
    category: str
    has_ok: bool
    created_at: str = Field(description="occurred_at of the order's earliest report")
    updated_at: str = Field(description="occurred_at of its latest report")
    amount: str | None = DECIMAL_TEXT
    currency: str | None
    customer_id: str | None
    offer_id: str | None
    offer_name: str | None
    payment_system: str | None = Field(
        description="The latest succeeded payment's, else the reports'"
    )
    items_count: int = Field(ge=0, description="Number of lines")
    sales_manager: SalesManager | None = Field(description="null for a system sale")
    paid_amount: str = DECIMAL_TEXT
    payment_plan: str = Field(examples=["full"])


class OrderList(BaseModel):
    orders: list[OrderSummary]
    next_cursor: str | None = Field(description="null on the page holding the last order")


class Item(BaseModel):
    sku: str
    name: str | None
    quantity: int
    unit_price: str = DECIMAL_TEXT
    line_total: str = DECIMAL_TEXT
    category: str | None
    offer_id: str | None
    offer_name: str | None


class Customer(BaseModel):
    id: str
    name: str | None = Field(description="Personal data")


class Credit(BaseModel):
    member_id: str
    via: str
    model: str
    confirmed: bool


class Note(BaseModel):
    note_id: str
    text: str
    author: str
    created_at: str


class OrderDetail(OrderSummary):
    refunded_amount: str = DECIMAL_TEXT
    items: list[Item]
    discounts: list[dict[str, Any]] = Field(description="[{code?, kind, amount}]")
    metadata: dict[str, Any] | None
    customer: Customer | None
    shipping: dict[str, Any] | None = Field(description="Its address is personal data")
    payments: list[dict[str, Any]] = Field(description="The order's payments (CONTRACTS §8)")
    credits: list[Credit]
    notes: list[Note]
    expiry_due_at: str | None = Field(description="When a pending-payment order expires")


class TimelineEvent(BaseModel):
    model_config = ConfigDict(extra="allow")
    at: str = Field(description="Upstream time")
    received_at: str
    kind: str = Field(
        description="status, note, shipping, payment, attributed, confirmed, reversed or expired"
    )


class Timeline(BaseModel):
    events: list[TimelineEvent] = Field(description="Oldest first: by at, then received_at")


class NoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    text: str = Field(min_length=1, max_length=4000)
    author: str = Field(min_length=1, max_length=128)


class Tally(BaseModel):
    orders: int
    amount: dict[str, str] = Field(description="Per currency, never summed across currencies")


class Period(Tally):
    period_start: str


class Kpis(Tally):
    by_category: dict[str, Tally]
    by_status: dict[str, Tally]
    series: list[Period]
