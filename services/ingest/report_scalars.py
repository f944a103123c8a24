"""The scalar types of inbound reports (CONTRACTS §3.1): money, currency, instants, ids.

Pure but for one clock read (an instant is judged against `now` from the validation context,
the clock when not given). Shared by `reports.py` and `report_fields.py`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from orderflow.services.ingest import limits
from orderflow.shared.currencies import is_currency
from orderflow.shared.vocabulary import TENANT_RE

_DECIMAL_RE = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_RFC3339_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def rule(message: str, field: str | None = None) -> PydanticCustomError:
    """A rule violation with our own message; `field` moves it onto a sibling field."""
    return PydanticCustomError("rule", "{message}", {"message": message, "field": field})


def _decimal(value: object) -> Decimal:
    # Floats lose money; only exact forms are accepted (Decimal for Python callers).
    if isinstance(value, str) and _DECIMAL_RE.fullmatch(value):
        number = Decimal(value)
    elif isinstance(value, Decimal) and value.is_finite():
        number = value
    else:
        raise rule('must be a decimal string such as "12.50" (JSON numbers can lose precision)')
    if number < 0:
        raise rule("must be >= 0")
    if problem := limits.amount_problem(number):
        raise rule(problem)
    return number.copy_abs()  # "-0" is zero


def _currency(code: str) -> str:
    if not is_currency(code):
        raise rule("must be an ISO 4217 currency code, such as EUR")
    return code


def _timestamp(value: object, info: ValidationInfo) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and _RFC3339_RE.fullmatch(value):
        try:
            parsed = datetime.fromisoformat(value.upper())
        except ValueError as exc:
            raise rule(f"is not a valid date-time: {exc}") from None
    else:
        raise rule("must be an RFC 3339 date-time with an offset, e.g. 2024-05-01T12:00:00+02:00")
    if parsed.utcoffset() is None:
        raise rule("must carry a UTC offset")
    try:
        parsed.astimezone(UTC)  # identity and storage work in UTC; year 1 or 9999 may not fit
    except OverflowError:
        raise rule("is out of range once converted to UTC") from None
    now = info.context.get("now") if isinstance(info.context, dict) else None
    if problem := limits.instant_problem(parsed, now or datetime.now(UTC)):
        raise rule(problem)
    return parsed


def _tenant(value: str) -> str:
    if not TENANT_RE.fullmatch(value):
        raise rule("must be 1-64 of a-z, 0-9 and '-', not starting with '-'")
    return value


Tenant = Annotated[str, AfterValidator(_tenant), Field(examples=["acme"])]
Id = Annotated[str, Field(min_length=1, max_length=128)]
Money = Annotated[
    Decimal,
    BeforeValidator(_decimal),
    WithJsonSchema({"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?$"}),
    Field(examples=["12.50"]),
]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["EUR"]), AfterValidator(_currency)]
Timestamp = Annotated[
    datetime, BeforeValidator(_timestamp), Field(examples=["2024-05-01T12:00:00+02:00"])
]
STRICT = ConfigDict(strict=True, extra="forbid", frozen=True, hide_input_in_errors=True)
