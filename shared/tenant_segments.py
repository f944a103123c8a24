"""Tenant configuration of CONTRACTS §11: `segments:` and `validation_rules:`.

Schema only (what a tenant may write, and why a file is refused); what a condition *means*
lives in the rewards service: services/rewards/segment_conditions.py and validation.py.
A condition kind is one field here plus one function there, under the same name.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, model_validator

from orderflow.shared.currencies import is_currency
from orderflow.shared.tenant_types import Duration, Money, Strict

SEGMENT_ID = r"^[a-z0-9][a-z0-9_-]{0,63}$"


def _currency(code: str) -> str:
    if not is_currency(code):
        raise ValueError(f"{code!r} is not an ISO 4217 currency with minor units")
    return code


Currency = Annotated[str, AfterValidator(_currency)]
Count = Annotated[int, Field(ge=0, le=10**9)]
Texts = Annotated[tuple[Annotated[str, Field(min_length=1)], ...], Field(min_length=1)]
SegmentId = Annotated[str, Field(pattern=SEGMENT_ID)]
SegmentIds = Annotated[tuple[SegmentId, ...], Field(min_length=1)]


def _at_least_one(model: Any) -> Any:
    if all(getattr(model, name) is None for name in type(model).model_fields):
        raise ValueError(f"set at least one of {', '.join(type(model).model_fields)}")
    return model


class SpentAtLeast(Strict):
    amount: Money
    currency: Currency


class SegmentWhen(Strict):
    """Every condition set must hold (CONTRACTS §11)."""

    min_orders: Count | None = None
    max_orders: Count | None = None
    min_spent: SpentAtLeast | None = None
    last_purchase_within: Duration | None = None
    no_purchase_within: Duration | None = None

    _check = model_validator(mode="after")(_at_least_one)


class Segment(Strict):
    id: SegmentId
    when: SegmentWhen


class Required(Strict):
    skus: Texts | None = None
    categories: Texts | None = None
    offers: Texts | None = None
    match: Literal["any", "all"] = "any"

    @model_validator(mode="after")
    def _one_list(self) -> Required:
        named = [n for n in ("skus", "categories", "offers") if getattr(self, n) is not None]
        if len(named) != 1:
            raise ValueError("set exactly one of skus, categories, offers")
        return self


class Excluded(Strict):
    skus: Texts | None = None
    categories: Texts | None = None
    offers: Texts | None = None

    _check = model_validator(mode="after")(_at_least_one)


class CartRule(Strict):
    min_amount: Money | None = None
    max_amount: Money | None = None
    currency: Currency | None = None
    min_items: Count | None = None
    max_items: Count | None = None
    min_quantity: Count | None = None
    max_quantity: Count | None = None
    required: Required | None = None
    excluded: Excluded | None = None

    @model_validator(mode="after")
    def _amounts_have_currency(self) -> CartRule:
        amounts = self.min_amount is not None or self.max_amount is not None
        if amounts and self.currency is None:
            raise ValueError("min_amount and max_amount need a currency")
        if self.currency is not None and not amounts:
            raise ValueError("currency is only for min_amount or max_amount")
        return self


class CustomerRule(Strict):
    segments_any: SegmentIds | None = None
    segments_none: SegmentIds | None = None
    min_orders: Count | None = None

    _check = model_validator(mode="after")(_at_least_one)


class MetadataCondition(Strict):
    """Exactly one of `equals`, `in`, `exists` (a JSON value, a list of them, a boolean)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    equals: Any = None
    in_: tuple[Any, ...] | None = Field(None, alias="in", min_length=1)
    exists: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _exactly_one(cls, value: Any) -> Any:
        if isinstance(value, dict) and len(value) != 1:
            raise ValueError("write exactly one of equals, in, exists")
        return value


class ValidationRule(Strict):
    id: SegmentId
    cart: CartRule | None = None
    customer: CustomerRule | None = None
    metadata: dict[Annotated[str, Field(min_length=1)], MetadataCondition] | None = None

    @model_validator(mode="after")
    def _something(self) -> ValidationRule:
        if self.cart is None and self.customer is None and not self.metadata:
            raise ValueError("set cart, customer or metadata")
        return self

    def segments_named(self) -> set[str]:
        if self.customer is None:
            return set()
        return {*(self.customer.segments_any or ()), *(self.customer.segments_none or ())}
