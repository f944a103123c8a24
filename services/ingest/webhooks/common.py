"""What every platform adapter returns, and the small readers they share. Pure.

An adapter turns a verified, decoded platform payload into one `Mapped` report with the
category the adapter decided (CONTRACTS §2: platform adapters map their native states
themselves) and the payments it reports (§8), or `Paid` (payments only), or an `Ignored`
reason for a delivery that carries neither.
A payload that cannot be mapped raises `ReportRejected` naming the platform's field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from orderflow.services.ingest.payments import PaymentReport, parse_payment_batch
from orderflow.services.ingest.reports import (
    FieldError,
    OrderReport,
    ReportRejected,
    parse_report_batch,
)
from orderflow.shared.vocabulary import Category

Json = dict[str, Any]
M = TypeVar("M", OrderReport, PaymentReport)
_DECIMAL_RE = re.compile(r"-?[0-9]+(\.[0-9]+)?")
_MAX_DIGITS = 40


@dataclass(frozen=True)
class Mapped:
    report: OrderReport
    # None: a native state this adapter does not know; handled as an unmapped status (§2).
    category: Category | None
    # The money the delivery moved (CONTRACTS §8), stored with the report in one transaction.
    payments: tuple[PaymentReport, ...] = ()


@dataclass(frozen=True)
class Paid:
    """A delivery that reports money only (a Shopify transaction or refund): no order status."""

    payments: tuple[PaymentReport, ...]


@dataclass(frozen=True)
class Ignored:
    reason: str


Outcome = Mapped | Paid | Ignored


def reject(path: str, message: str) -> ReportRejected:
    return ReportRejected([FieldError(path, message)])


@contextmanager
def at(prefix: str) -> Iterator[None]:
    """Errors raised inside name their field from the payload's root: `prefix.field`."""
    try:
        yield
    except ReportRejected as exc:
        errors = [FieldError(_join(prefix, e.path), e.message) for e in exc.errors]
        raise ReportRejected(errors) from None


def _join(prefix: str, path: str) -> str:
    if not path:
        return prefix
    return f"{prefix}{path}" if path.startswith("[") else f"{prefix}.{path}"


def as_object(payload: object, path: str = "") -> Json:
    if not isinstance(payload, dict):
        raise reject(path, "must be a JSON object")
    return payload


def get(node: Json, path: str) -> object:
    """The value at a dotted path, or None when any step is missing or not an object."""
    value: object = node
    for step in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


def ident(node: Json, path: str) -> str | None:
    """An id written as a string or a JSON integer. Integers are exact in Python, so ids
    beyond 2^53 (Shopify's) keep every digit; they are never passed through a float."""
    value = get(node, path)
    if isinstance(value, bool) or value is None or value == "":
        return None
    if isinstance(value, int | str):
        return str(value)
    raise reject(path, "must be a string or an integer id")


def require_ident(node: Json, path: str) -> str:
    found = ident(node, path)
    if found is None:
        raise reject(path, "field required")
    return found


def text(node: Json, path: str) -> str | None:
    """An optional non-empty string; anything else is treated as absent."""
    value = get(node, path)
    return value if isinstance(value, str) and value.strip() else None


def require_text(node: Json, path: str) -> str:
    value = get(node, path)
    if value is None:
        raise reject(path, "field required")
    if not isinstance(value, str) or not value.strip():
        raise reject(path, "must be a non-empty string")
    return value


def decimal(node: Json, path: str) -> Decimal | None:
    """A money value, exact. The body was decoded with `parse_float=Decimal`, so a JSON
    number arrives exact too; a float never comes near money."""
    value = get(node, path)
    if value is None or value == "":
        return None
    if isinstance(value, str) and _DECIMAL_RE.fullmatch(value.strip()):
        number = Decimal(value.strip())
    elif isinstance(value, Decimal) and value.is_finite():
        number = value
    elif isinstance(value, int) and not isinstance(value, bool):
        number = Decimal(value)
    else:
        raise reject(path, "must be a decimal number")
    # `1e999999999` is a finite Decimal whose fixed-point text is a billion digits long.
    exponent = number.as_tuple().exponent
    if number.adjusted() > _MAX_DIGITS or (isinstance(exponent, int) and exponent < -_MAX_DIGITS):
        raise reject(path, f"must have at most {_MAX_DIGITS} digits before and after the point")
    return number


def decimal_text(node: Json, path: str) -> str | None:
    value = decimal(node, path)
    return None if value is None else format(value, "f")


def unix_time(node: Json, path: str) -> str:
    value = get(node, path)
    if isinstance(value, bool) or not isinstance(value, int):
        raise reject(path, "must be a Unix time in seconds")
    try:
        return datetime.fromtimestamp(value, UTC).isoformat()
    except (OverflowError, OSError, ValueError):  # beyond what a datetime can hold
        raise reject(path, "must be a Unix time in seconds within years 1 to 9999") from None


def customer(customer_id: str | None, email: str | None, name: str | None) -> Json | None:
    """The §3.1 customer; without an id there is none (email and name are never an id)."""
    if customer_id is None:
        return None
    return {"id": customer_id, "email": email, "name": name}


def _built(parse: Callable[[object], list[M]], fields: Json, prefix: str) -> M:
    """Validate mapped fields as one inbound item; an error names `<prefix>.<field>`."""
    try:
        (item,) = parse({k: v for k, v in fields.items() if v is not None})
    except ReportRejected as exc:
        errors = [FieldError(_join(prefix, e.path), e.message) for e in exc.errors]
        raise ReportRejected(errors) from None
    return item


def build_report(fields: Json) -> OrderReport:
    """Validate the mapped fields as a §3.1 report; an error names `report.<field>`."""
    return _built(parse_report_batch, fields, "report")


def build_payment(fields: Json) -> PaymentReport:
    """Validate the mapped fields as a §8 payment report; an error names `payment.<field>`."""
    return _built(parse_payment_batch, fields, "payment")
