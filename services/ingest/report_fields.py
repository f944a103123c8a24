"""The Part-2 fields of an order report (CONTRACTS §7, §8, §10): discounts, shipping, the
payment plan, the recurring order and a refund's amount — their shapes and rules.

Pure. `reports.py` composes them into `OrderReport`; the one rule that needs the tenant's
profile (a refunded amount only with a refunded or chargeback status) is `refund_problem`,
judged where the category is known.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from orderflow.services.ingest.report_scalars import STRICT, Id, Money, Timestamp, rule
from orderflow.shared.tenants import MAX_DAYS, parse_duration
from orderflow.shared.vocabulary import Category

_MONTHS_RE = re.compile(r"([0-9]+)M")
MAX_MONTHS = MAX_DAYS // 30  # ten years, as every other tenant or report period
REFUND_CATEGORIES = frozenset({Category.REFUNDED, Category.CHARGEBACK})
Text = Annotated[str, Field(min_length=1, max_length=256)]
PaymentPlan = Literal["full", "partial"]


class DiscountKind(StrEnum):
    COUPON = "coupon"
    PROMOTION = "promotion"
    LOYALTY = "loyalty"
    OTHER = "other"


def _interval(text: str) -> str:
    """A §6 duration (`30d`) or `<n>M` calendar months; kept as written for the tracker."""
    months = _MONTHS_RE.fullmatch(text)
    if months:
        if not 1 <= int(months[1]) <= MAX_MONTHS:
            raise rule(f"months must be 1 to {MAX_MONTHS}")
        return text
    try:
        period = parse_duration(text)
    except ValueError:
        raise rule("must be a duration <n><unit> (unit s, m, h or d) or <n>M months") from None
    if period.days > MAX_DAYS:
        raise rule(f"must be at most {MAX_DAYS} days")
    return text


class Address(BaseModel):
    """A shipping address: personal data, so no field shows in a repr (logs, tracebacks)."""

    model_config = STRICT
    name: Text | None = Field(None, repr=False, description="Personal data.", examples=["Ada"])
    line1: Text | None = Field(None, repr=False, description="Personal data.")
    line2: Text | None = Field(None, repr=False, description="Personal data.")
    city: Text | None = Field(None, repr=False, description="Personal data.", examples=["Paris"])
    postal_code: Text | None = Field(None, repr=False, description="Personal data.")
    region: Text | None = Field(None, repr=False, description="Personal data.")
    country: Text | None = Field(None, repr=False, description="Personal data.", examples=["FR"])


class Shipping(BaseModel):
    model_config = STRICT
    method: Text | None = Field(None, description="Shipping method.", examples=["standard"])
    carrier: Text | None = Field(None, description="Carrier.", examples=["DHL"])
    tracking_number: Text | None = Field(None, description="Carrier's number.", examples=["1Z9"])
    tracking_url: Annotated[str, Field(min_length=1, max_length=2048)] | None = Field(
        None, description="Where the parcel can be followed.", examples=["https://t.test/1Z9"]
    )
    shipped_at: Timestamp | None = Field(None, description="When it was shipped (RFC 3339).")
    address: Address | None = Field(None, description="Where to; personal data.")


class Discount(BaseModel):
    model_config = STRICT
    code: Text | None = Field(None, description="Coupon or promotion code.", examples=["SPRING"])
    kind: DiscountKind = Field(strict=False, description="What kind.", examples=["coupon"])
    amount: Money = Field(description="Amount taken off, decimal string.")


class Recurring(BaseModel):
    """The initial order of a recurring order (CONTRACTS §10)."""

    model_config = STRICT
    recurring_order_id: Id = Field(description="Its recurring order.", examples=["sub-1"])
    interval: Annotated[str, AfterValidator(_interval)] = Field(
        description="Between charges: a duration (30d) or <n>M months.", examples=["1M"]
    )
    payments_total: int | None = Field(
        None, ge=1, le=10_000, description="Charges in all, the initial one included."
    )


def refund_problem(refunded_amount: object, category: Category | None) -> str | None:
    """§8: a report's refunded amount goes only with a refunded or chargeback status."""
    if refunded_amount is None or category in REFUND_CATEGORIES:
        return None
    named = category.value if category else "unmapped"
    return f"allowed only with a refunded or chargeback status; this status is {named}"
