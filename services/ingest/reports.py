"""Inbound order reports and touchpoints (CONTRACTS §3.1, §3.2): parsing, validation, identity.

Pure but for one clock read: bytes or decoded JSON in, models or one `ReportRejected`
naming every bad field out. The HTTP API and the Kafka consumers both come through here, so
a report is judged and identified the same way whichever door it used. What a service after
ingest could not process is refused here too (`limits.py`); `occurred_at` is judged against
the time of receipt, `now` (the clock when not given).

One §3.1 rule is not checked here: "amount required on the first report of an order that
ever becomes confirmed" depends on the order's later history, which only state can tell.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from json.encoder import encode_basestring_ascii
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import to_json

from orderflow.services.ingest import limits
from orderflow.services.ingest.report_fields import Discount, PaymentPlan, Recurring, Shipping
from orderflow.services.ingest.report_scalars import (
    STRICT,
    Currency,
    Id,
    Money,
    Tenant,
    Timestamp,
    rule,
)
from orderflow.shared.currencies import minor_units
from orderflow.shared.ids import uuid5_text
from orderflow.shared.vocabulary import ContributorVia, TouchpointKind

__all__ = ["Currency", "Id", "Money", "Tenant", "Timestamp"]  # re-exported for callers

MAX_BATCH = 1000
MAX_ITEMS = 500
MAX_METADATA_BYTES = 16 * 1024
# A report's internal event must fit one Kafka record (1 MiB by default in producer and
# broker), or the relay could never publish it; the envelope adds well under 8 KiB.
MAX_REPORT_BYTES = 1024 * 1024 - 8 * 1024
# Fixed forever: changing it would change every id ingest has ever answered with.
_ID_NAMESPACE = uuid.UUID("6f0e7a52-3c1d-4b8e-9a57-2d4c1f0b9e63")


def _metadata_size(value: dict[str, Any]) -> dict[str, Any]:
    try:
        # The serialiser that later writes the event: it refuses depth json.loads allows.
        encoded = to_json(value)
    except (ValueError, RecursionError):
        raise rule("must be serialisable as JSON") from None
    if len(encoded) > MAX_METADATA_BYTES:
        raise rule(f"is {len(encoded)} bytes as compact JSON; at most {MAX_METADATA_BYTES}")
    return value


class Customer(BaseModel):
    model_config = STRICT
    id: Id = Field(description="The upstream's customer id.", examples=["cust-77"])
    # Personal data: kept out of repr so it cannot leak through logs or tracebacks.
    email: str | None = Field(None, repr=False, description="Personal data.", examples=["a@b.test"])
    name: str | None = Field(None, repr=False, description="Personal data.", examples=["Ada"])


class Item(BaseModel):
    model_config = STRICT
    sku: Id = Field(description="Stock keeping unit.", examples=["SKU-1"])
    name: str | None = Field(None, description="Product name.", examples=["Blue mug"])
    quantity: int = Field(ge=1, description="Units ordered.", examples=[2])
    unit_price: Money = Field(description="Price of one unit, decimal string.")
    category: str | None = Field(None, description="Product category.", examples=["kitchen"])
    offer_id: str | None = Field(None, description="Offer this line sold under.", examples=["o-9"])
    offer_name: str | None = Field(None, description="Name of that offer.", examples=["Mugs"])


class Payment(BaseModel):
    model_config = STRICT
    system: str = Field(min_length=1, description="Payment system.", examples=["stripe"])
    transaction_id: str | None = Field(None, description="Its transaction id.", examples=["tx_1"])
    fee: Money | None = Field(None, description="Fee charged, decimal string.")
    currency: Currency | None = Field(None, description="Currency of the fee, ISO 4217.")


class Contributor(BaseModel):
    model_config = STRICT
    member_id: Id = Field(description="Member credited with the order.", examples=["m-12"])
    via: ContributorVia = Field(strict=False, description="How.", examples=["affiliation"])


class OrderReport(BaseModel):
    """One order status report (CONTRACTS §3.1)."""

    model_config = STRICT
    tenant: Tenant = Field(description="Tenant; must equal the record key's tenant.")
    order_id: Id = Field(description="The upstream's order id.", examples=["1001"])
    status: str = Field(
        min_length=1, max_length=64, description="External status, as received.", examples=["OK"]
    )
    occurred_at: Timestamp = Field(description="When the status happened upstream (RFC 3339).")
    report_id: Id | None = Field(None, description="Upstream's id of this report.", examples=["r1"])
    source: str = Field(
        "api", min_length=1, max_length=64, description="Upstream system.", examples=["web"]
    )
    amount: Money | None = Field(None, description="Order amount, decimal string >= 0.")
    currency: Currency | None = Field(
        None, validate_default=True, description="ISO 4217 code; required with amount."
    )
    customer: Customer | None = Field(None, description="The customer.")
    items: list[Item] | None = Field(None, max_length=MAX_ITEMS, description="Order lines.")
    offer_id: str | None = Field(None, description="Offer of the order.", examples=["offer-9"])
    payment: Payment | None = Field(None, description="How the order was paid.")
    contributors: list[Contributor] | None = Field(None, description="Members to credit.")
    metadata: Annotated[dict[str, Any], AfterValidator(_metadata_size)] | None = Field(
        None, description="Free-form, at most 16 KiB as compact JSON.", examples=[{"channel": "x"}]
    )
    offer_name: str | None = Field(None, description="Name of the offer.", examples=["Spring"])
    discounts: list[Discount] | None = Field(None, max_length=MAX_ITEMS, description="Discounts.")
    shipping: Shipping | None = Field(None, description="Shipping; its address is personal data.")
    payment_plan: PaymentPlan | None = Field(
        None, description="full (the default) or partial: paid in several invoices (§8)."
    )
    recurring: Recurring | None = Field(None, description="Its recurring order (§10).")
    refunded_amount: Money | None = Field(
        None, description="With a refunded or chargeback status: what this refund returned."
    )

    @field_validator("currency")
    @classmethod
    def _amount_and_currency(cls, currency: str | None, info: ValidationInfo) -> str | None:
        if "amount" not in info.data:  # the amount itself is invalid and already reported
            return currency
        amount: Decimal | None = info.data["amount"]
        if amount is None:
            if currency is not None:
                raise rule("field required when currency is given", field="amount")
            return currency
        if currency is None:
            raise rule("field required when amount is given")
        allowed, digits = minor_units(currency), _fraction_digits(amount)
        if digits > allowed:
            raise rule(f"{currency} allows {allowed} fraction digits, got {digits}", "amount")
        return currency

    @field_validator("refunded_amount")
    @classmethod
    def _refund_in_currency(cls, refunded: Decimal | None, info: ValidationInfo) -> Decimal | None:
        currency = info.data.get("currency")
        if refunded is not None and refunded == 0:
            raise rule("must be > 0")
        if refunded is not None and currency is not None:
            allowed, digits = minor_units(currency), _fraction_digits(refunded)
            if digits > allowed:
                raise rule(f"{currency} allows {allowed} fraction digits, got {digits}")
        return refunded


def _fraction_digits(number: Decimal) -> int:
    exponent = number.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


class Touchpoint(BaseModel):
    """Attribution evidence (CONTRACTS §3.2)."""

    model_config = STRICT
    tenant: Tenant = Field(description="Tenant; must equal the record key's tenant.")
    touchpoint_id: Id = Field(description="Upstream's id of the touchpoint.", examples=["tp-1"])
    member_id: Id = Field(description="Member who made the touch.", examples=["m-12"])
    kind: TouchpointKind = Field(strict=False, description="Kind of touch.", examples=["click"])
    customer_id: Id = Field(description="Customer who was touched.", examples=["cust-77"])
    occurred_at: Timestamp = Field(description="When it happened (RFC 3339 with offset).")
    order_id: Id | None = Field(None, description="Its order, if known.", examples=["1001"])


def identity_key(report: OrderReport) -> str:
    """§3.1 identity. The instant is taken in UTC so one moment written two ways is one report."""
    if report.report_id is not None:
        return _json_strings("report", report.tenant, report.source, report.report_id)
    instant = report.occurred_at.astimezone(UTC).isoformat(timespec="microseconds")
    return _json_strings(
        "report", report.tenant, report.source, report.order_id, report.status, instant
    )


def _json_strings(*parts: str) -> str:
    """`json.dumps(list(parts))` for strings (its separators and ASCII escapes), without the
    encoder's set-up for every call: one identity is made per report."""
    return f"[{', '.join(map(encode_basestring_ascii, parts))}]"


def report_uuid(report: OrderReport) -> uuid.UUID:
    return uuid.UUID(report_id(report))


def report_id(report: OrderReport) -> str:
    """`str(report_uuid(report))`, the stored primary key, made without a `uuid.UUID`."""
    return uuid5_text(_ID_NAMESPACE, identity_key(report))


def touchpoint_identity_key(touchpoint: Touchpoint) -> str:
    return json.dumps(["touchpoint", touchpoint.tenant, touchpoint.touchpoint_id])


def touchpoint_uuid(touchpoint: Touchpoint) -> uuid.UUID:
    return uuid.uuid5(_ID_NAMESPACE, touchpoint_identity_key(touchpoint))


@dataclass(frozen=True)
class FieldError:
    path: str
    message: str


class ReportRejected(Exception):
    """Invalid input; `errors` names every bad field (CONTRACTS §4 `422` body)."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__(
            "; ".join(f"{e.path}: {e.message}" if e.path else e.message for e in errors)
        )
        self.errors = errors

    def to_body(self) -> dict[str, list[dict[str, str]]]:
        return {"errors": [asdict(e) for e in self.errors]}


Loc = tuple[int | str, ...]
M = TypeVar("M", bound=BaseModel)


def error_path(loc: Loc) -> str:
    """`("items", 2, "quantity")` -> `items[2].quantity`; `(3, "order_id")` -> `[3].order_id`."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else part)
    return path


def _field_errors(exc: ValidationError, prefix: Loc) -> list[FieldError]:
    errors = []
    for err in exc.errors(include_url=False, include_input=False):
        loc, ctx = (*prefix, *err["loc"]), err.get("ctx", {})
        if ctx.get("field"):
            loc = (*loc[:-1], ctx["field"])
        message = "field required" if err["type"] == "missing" else err["msg"]
        errors.append(FieldError(error_path(loc), message))
    return errors


def _fits_one_record(parsed: BaseModel, prefix: Loc) -> bytes:
    """The model as JSON (every field; what its event carries), if it fits one record."""
    encoded = to_json(parsed)
    if len(encoded) > MAX_REPORT_BYTES:
        message = f"is {len(encoded)} bytes as JSON; at most {MAX_REPORT_BYTES}"
        raise ReportRejected([FieldError(error_path(prefix), message)])
    return encoded


def _merged(first: list[FieldError], then: list[FieldError]) -> list[FieldError]:
    """Both lists, one error per path: where both name a path, `first`'s reason is kept."""
    seen = {e.path for e in first}
    return first + [e for e in then if e.path not in seen]


def _validated(model: type[M], raw: object, prefix: Loc, now: datetime | None) -> tuple[M, bytes]:
    """The model, and its JSON (`_fits_one_record`)."""
    if not isinstance(raw, dict):
        raise ReportRejected([FieldError(error_path(prefix), "must be a JSON object")])
    found = [FieldError(error_path(loc), why) for loc, why in limits.raw_problems(raw, prefix)]
    # Too deep is the reason, not what a serialiser says about the same field.
    deep = [e for e in found if e.message == limits.TOO_DEEP]
    try:
        parsed = model.model_validate(raw, context={"now": now})
    except ValidationError as exc:
        # `from None`: the pydantic error holds the input, which may hold personal data.
        invalid = _merged(deep, _field_errors(exc, prefix))
        raise ReportRejected(_merged(invalid, found)) from None
    if found:
        raise ReportRejected(found)
    return parsed, _fits_one_record(parsed, prefix)


def _validate(model: type[M], raw: object, prefix: Loc, now: datetime | None) -> M:
    return _validated(model, raw, prefix, now)[0]


def _parse_batch(model: type[M], body: object, now: datetime | None) -> list[M]:
    if isinstance(body, dict):
        return [_validate(model, body, (), now)]
    if not isinstance(body, list) or not 1 <= len(body) <= MAX_BATCH:
        size = f"got {len(body)}" if isinstance(body, list) else "got neither"
        message = f"must be a JSON object or an array of 1 to {MAX_BATCH} objects; {size}"
        raise ReportRejected([FieldError("", message)])
    parsed, errors = [], []
    for index, element in enumerate(body):
        try:
            parsed.append(_validate(model, element, (index,), now))
        except ReportRejected as exc:
            errors.extend(exc.errors)
    if errors:
        raise ReportRejected(errors)
    return parsed


def parse_report_batch(body: object, now: datetime | None = None) -> list[OrderReport]:
    return _parse_batch(OrderReport, body, now)


def parse_report(body: object, now: datetime | None = None) -> tuple[OrderReport, bytes]:
    """One report (a JSON object), and its JSON as `to_json(report)` writes it (every field,
    absent ones null), made once while judging it: what it is stored and published as."""
    return _validated(OrderReport, body, (), now)


def parse_touchpoint_batch(body: object, now: datetime | None = None) -> list[Touchpoint]:
    return _parse_batch(Touchpoint, body, now)


def _decode(value: bytes) -> object:
    try:
        return json.loads(value.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ReportRejected([FieldError("", f"value is not valid UTF-8: {exc}")]) from None
    except ValueError as exc:
        raise ReportRejected([FieldError("", f"value is not valid JSON: {exc}")]) from None
    except RecursionError:
        raise ReportRejected([FieldError("", "value is nested too deeply")]) from None


def _key_errors(key: bytes | None, body: dict[str, Any], id_field: str) -> list[FieldError]:
    """The key routes the record, so it must say the same tenant and id as the body."""
    shape = f"<tenant>:<{id_field}>"
    if key is None:
        return [FieldError("key", f"field required: {shape}")]
    tenant, sep, ident = key.decode("utf-8", errors="replace").partition(":")
    if not sep:
        return [FieldError("key", f"must be {shape}")]
    errors = []
    for field, from_key in (("tenant", tenant), (id_field, ident)):
        in_body = body.get(field)
        if isinstance(in_body, str) and in_body != from_key:
            message = f"key's {field} {from_key!r} differs from the body's {in_body!r}"
            errors.append(FieldError(field, message))
    return errors


def _parse_record(
    model: type[M], key: bytes | None, value: bytes, id_field: str, now: datetime | None
) -> M:
    body = _decode(value)
    if not isinstance(body, dict):
        raise ReportRejected([FieldError("", "value must be a JSON object")])
    errors = _key_errors(key, body, id_field)
    try:
        parsed = _validate(model, body, (), now)
    except ReportRejected as exc:
        errors = exc.errors + errors
    if errors:
        raise ReportRejected(errors)
    return parsed


def parse_report_record(
    key: bytes | None, value: bytes, now: datetime | None = None
) -> OrderReport:
    """A record of `orders.inbound.v1`: key `<tenant>:<order_id>`, value a §3.1 report."""
    return _parse_record(OrderReport, key, value, "order_id", now)


def parse_touchpoint_record(
    key: bytes | None, value: bytes, now: datetime | None = None
) -> Touchpoint:
    """A record of `touchpoints.inbound.v1`: key `<tenant>:<customer_id>`, value a §3.2 touchpoint."""
    return _parse_record(Touchpoint, key, value, "customer_id", now)
