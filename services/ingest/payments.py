"""Inbound payment reports (CONTRACTS §8): the model, its rules and its identity. Pure.

A payment report is judged like an order report (`reports.py`): the same money, currency,
instant and text rules and the same accept boundary (`limits.py`), one error per bad field,
every bad field named. HTTP, `payments.inbound.v1` and the platform adapters all come
through here.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from orderflow.services.ingest.report_scalars import (
    STRICT,
    Currency,
    Id,
    Money,
    Tenant,
    Timestamp,
    rule,
)
from orderflow.services.ingest.reports import (
    _ID_NAMESPACE,
    _fraction_digits,
    _parse_batch,
    _parse_record,
)
from orderflow.shared.currencies import minor_units
from orderflow.shared.envelope import Envelope, new_event

REPORTED = "payment.reported"
MAX_COMMENT = 1000
MAX_SHARE = Decimal(100)


class PaymentStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"


class PaymentSource(StrEnum):
    """Where a payment report came from: the HTTP API, the Kafka topic or a platform webhook."""

    API = "api"
    KAFKA = "kafka"
    STRIPE = "stripe"
    SHOPIFY = "shopify"
    WOOCOMMERCE = "woocommerce"


def _digits_problem(amount: object, currency: object) -> str | None:
    """Why `amount` has more fraction digits than `currency` allows, or None."""
    if not isinstance(amount, Decimal) or not isinstance(currency, str):
        return None  # absent, or already reported as invalid
    allowed, digits = minor_units(currency), _fraction_digits(amount)
    if digits > allowed:
        return f"{currency} allows {allowed} fraction digits, got {digits}"
    return None


class PaymentReport(BaseModel):
    """One payment (invoice) report (CONTRACTS §8)."""

    model_config = STRICT
    tenant: Tenant = Field(description="Tenant; must equal the record key's tenant.")
    order_id: Id = Field(description="The order this payment is for.", examples=["1001"])
    payment_id: Id = Field(description="The invoice number.", examples=["inv-1"])
    status: PaymentStatus = Field(
        strict=False, description="Payment status.", examples=["succeeded"]
    )
    occurred_at: Timestamp = Field(description="When the payment reached the status (RFC 3339).")
    amount: Money = Field(description="Transaction amount, decimal string >= 0.")
    currency: Currency = Field(description="ISO 4217 code of amount and fee.")
    fee: Money | None = Field(None, description="The payment system's commission, same currency.")
    payment_system: str = Field(
        min_length=1,
        max_length=64,
        description="Merchant account or processor.",
        examples=["stripe"],
    )
    one_click: bool | None = Field(None, description="Paid with one click.", examples=[False])
    share_percent: Money | None = Field(
        None, description="The part of the offer this payment buys, 0-100.", examples=["50"]
    )
    refunded_amount: Money | None = Field(
        None,
        validate_default=True,
        description="With status refunded: how much this refund returned (default: what was left).",
    )
    error_code: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        validate_default=True,
        description="With status failed: the processor's error code.",
        examples=["card_declined"],
    )
    # Personal data: kept out of repr so it cannot leak through logs or tracebacks.
    comment: str | None = Field(
        None, max_length=MAX_COMMENT, repr=False, description="The buyer's comment; personal data."
    )
    recurring_order_id: Id | None = Field(
        None, description="The recurring order (CONTRACTS §10).", examples=["rec-1"]
    )

    @field_validator("currency")
    @classmethod
    def _amount_digits(cls, currency: str, info: ValidationInfo) -> str:
        if problem := _digits_problem(info.data.get("amount"), currency):
            raise rule(problem, field="amount")
        return currency

    @field_validator("fee")
    @classmethod
    def _fee_digits(cls, fee: Decimal | None, info: ValidationInfo) -> Decimal | None:
        if problem := _digits_problem(fee, info.data.get("currency")):
            raise rule(f"is in the payment's currency: {problem}")
        return fee

    @field_validator("share_percent")
    @classmethod
    def _share(cls, share: Decimal | None) -> Decimal | None:
        if share is not None and share > MAX_SHARE:
            raise rule("must be between 0 and 100")
        return share

    @field_validator("refunded_amount")
    @classmethod
    def _refund(cls, refunded: Decimal | None, info: ValidationInfo) -> Decimal | None:
        if refunded is None:
            return None
        if info.data.get("status") not in (None, PaymentStatus.REFUNDED):
            raise rule("is allowed only with status refunded")
        if problem := _digits_problem(refunded, info.data.get("currency")):
            raise rule(f"is in the payment's currency: {problem}")
        amount = info.data.get("amount")
        if isinstance(amount, Decimal) and refunded > amount:
            raise rule(f"must not exceed the payment's amount ({amount})")
        return refunded

    @field_validator("error_code")
    @classmethod
    def _error(cls, code: str | None, info: ValidationInfo) -> str | None:
        if code is not None and info.data.get("status") not in (None, PaymentStatus.FAILED):
            raise rule("is allowed only with status failed")
        return code


def identity_key(payment: PaymentReport) -> str:
    """§8 identity. The instant is taken in UTC so one moment written two ways is one report."""
    instant = payment.occurred_at.astimezone(UTC).isoformat(timespec="microseconds")
    return json.dumps(
        ["payment", payment.tenant, payment.payment_id, payment.status.value, instant]
    )


def payment_uuid(payment: PaymentReport) -> uuid.UUID:
    return uuid.uuid5(_ID_NAMESPACE, identity_key(payment))


def parse_payment_batch(body: object, now: datetime | None = None) -> list[PaymentReport]:
    return _parse_batch(PaymentReport, body, now)


def parse_payment_record(
    key: bytes | None, value: bytes, now: datetime | None = None
) -> PaymentReport:
    """A record of `payments.inbound.v1`: key `<tenant>:<order_id>`, value a §8 report."""
    return _parse_record(PaymentReport, key, value, "order_id", now)


def reported_event(
    payment: PaymentReport, report_id: str, source: PaymentSource, received_at: datetime
) -> Envelope:
    """The internal `payment.reported` event: the validated report, its id, where it came
    from and when it arrived (INTERFACES.md)."""
    data: dict[str, Any] = payment.model_dump(mode="json", exclude_none=True)
    data.update(report_id=report_id, source=source.value, received_at=received_at.isoformat())
    return new_event(
        type=REPORTED,
        tenant=payment.tenant,
        order_id=payment.order_id,
        occurred_at=payment.occurred_at,
        causation_id=report_id,
        correlation_id=report_id,
        data=data,
        produced_at=received_at,
    )
