"""The body of `POST /v1/validations/{tenant}` (CONTRACTS §11) and the answer's models."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orderflow.services.rewards.validation import Cart, Line, RuleVerdict
from orderflow.shared.currencies import CURRENCIES
from orderflow.shared.http_body import unstorable_path
from orderflow.shared.http_errors import ApiError

DECIMAL = r"^[0-9]{1,15}(\.[0-9]{1,4})?$"
Id = Annotated[str, Field(min_length=1, max_length=128)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ItemIn(_Body):
    sku: Id
    quantity: int = Field(ge=1, le=10**6)
    unit_price: str | None = Field(None, pattern=DECIMAL)
    name: str | None = Field(None, max_length=512)
    category: Id | None = None
    offer_id: Id | None = None


class OrderIn(_Body):
    amount: str = Field(pattern=DECIMAL, description="decimal string", examples=["42.00"])
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217", examples=["EUR"])
    items: list[ItemIn] = Field(default_factory=list, max_length=500)
    metadata: dict[str, Any] | None = None


class ValidationIn(_Body):
    customer_id: Id | None = None
    order: OrderIn
    rules: list[Id] | None = Field(None, max_length=200, description="default: every rule")


class FailureOut(BaseModel):
    code: str = Field(examples=["cart.min_amount"])
    message: str


class RuleOut(BaseModel):
    id: str
    valid: bool
    failures: list[FailureOut]


class ValidationOut(BaseModel):
    valid: bool
    rules: list[RuleOut]


def _path(loc: tuple[int | str, ...]) -> str:
    text = ""
    for step in loc:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


def parse(body: object) -> ValidationIn:
    """The validated body, or `422` naming every bad field (`order.items[0].quantity`)."""
    try:
        request = ValidationIn.model_validate(body)
    except ValidationError as exc:
        raise ApiError(422, [(_path(e["loc"]), e["msg"]) for e in exc.errors()]) from None
    if request.order.currency not in CURRENCIES:
        raise ApiError(422, [("order.currency", "not an ISO 4217 currency with minor units")])
    if request.customer_id is not None and unstorable_path(request.customer_id) is not None:
        # Read from Postgres, in one statement with other requests' customers (coalesced):
        # text it cannot take would fail theirs too.
        raise ApiError(422, [("customer_id", "must not hold a NUL character")])
    return request


def cart_of(order: OrderIn) -> Cart:
    lines = tuple(Line(i.sku, i.quantity, i.category, i.offer_id) for i in order.items)
    return Cart(Decimal(order.amount), order.currency, lines, order.metadata or {})


def answer(verdicts: list[RuleVerdict]) -> dict[str, Any]:
    return {
        "valid": all(v.valid for v in verdicts),
        "rules": [
            {
                "id": v.id,
                "valid": v.valid,
                "failures": [{"code": f.code, "message": f.message} for f in v.failures],
            }
            for v in verdicts
        ],
    }
