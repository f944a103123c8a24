"""The payments events the status-tracker writes on orders.lifecycle.v1 (CONTRACTS §8), as data."""

from __future__ import annotations

from pydantic import Field

from orderflow.shared.event_types import EventData, EventType

DECIMAL = r"^[0-9]+(\.[0-9]+)?$"


class PaymentRecordedData(EventData):
    """A payment report changed the payment's state or the order's paid amount."""

    payment_id: str = Field(description="The payment (invoice) id", examples=["inv-1"])
    status: str = Field(
        description="The payment's state: its report latest upstream", examples=["succeeded"]
    )
    amount: str = Field(pattern=DECIMAL, description="Transaction amount", examples=["40.00"])
    currency: str = Field(description="ISO 4217 code of the amount", examples=["EUR"])
    fee: str | None = Field(pattern=DECIMAL, description="Payment system's fee", examples=["1.20"])
    funds_credited: str | None = Field(
        pattern=DECIMAL, description="amount - fee of a payment that succeeded, else null"
    )
    payment_system: str = Field(description="Merchant account or processor", examples=["stripe"])
    one_click: bool | None = Field(description="A one-click payment")
    share_percent: str | None = Field(
        pattern=DECIMAL, description="Part of the offer this payment buys", examples=["50"]
    )
    paid_amount: str = Field(
        pattern=DECIMAL,
        description="The order's paid amount now: payments that ever succeeded minus their "
        "refunds, in the order's currency",
    )


class RefundedData(EventData):
    """A refund, from a payment or from a status report carrying `refunded_amount`."""

    refund_amount: str = Field(pattern=DECIMAL, description="What this refund returned")
    refunded_total: str = Field(pattern=DECIMAL, description="Everything refunded of the order")
    order_amount: str | None = Field(pattern=DECIMAL, description="The order amount")
    currency: str | None = Field(description="ISO 4217 code of the amounts", examples=["EUR"])
    full: bool = Field(description="The refunds now cover the whole order amount")


PAYMENT_EVENTS = (
    EventType(
        "order.payment_recorded",
        "A payment report moved the payment's state or the order's paid amount",
        PaymentRecordedData,
    ),
    EventType(
        "order.refunded",
        "A refund raised the order's refunded total (pro-rata commission reversal)",
        RefundedData,
    ),
)
