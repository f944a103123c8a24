"""The wire format of the recurring-order routes: answers' models, the body, the query."""

from __future__ import annotations

import base64
import binascii

from pydantic import BaseModel

from orderflow.services.status_tracker.recurring_table import Status
from orderflow.shared.http_errors import ApiError, error

MAX_BY = 128
BY_BODY = {
    "type": "object",
    "properties": {"by": {"type": "string", "minLength": 1, "maxLength": MAX_BY}},
    "additionalProperties": False,
}


class OrderOfPlan(BaseModel):
    order_id: str
    sequence: int
    created_at: str
    status: str
    attempts: int
    amount: str | None
    currency: str | None
    payment_system: str | None


class RecurringOrderView(BaseModel):
    recurring_order_id: str
    status: str
    customer_id: str | None
    offer_id: str | None
    amount: str | None
    currency: str | None
    interval: str
    payments_total: int | None
    payments_made: int
    payments_remaining: int | None
    next_payment_at: str | None
    orders: list[OrderOfPlan]


class RecurringOrderPage(BaseModel):
    recurring_orders: list[RecurringOrderView]
    next_cursor: str | None


def unknown(tenant: str, rid: str) -> ApiError:
    return error(404, f"no recurring order {rid!r} of tenant {tenant!r} is known here")


def by_of(body: object) -> str | None:
    """The optional `{"by": "…"}`; no body is no `by`."""
    if body is None:
        return None
    if not isinstance(body, dict):
        raise error(422, 'must be a JSON object, e.g. {"by": "manager-7"}')
    problems = [(key, "unknown field") for key in body if key != "by"]
    by = body.get("by")
    if by is not None and (not isinstance(by, str) or not 1 <= len(by) <= MAX_BY):
        problems.append(("by", f"must be a string of 1 to {MAX_BY} characters"))
    if problems:
        raise ApiError(422, problems)
    return by


def statuses(values: list[str]) -> list[str]:
    known = {s.value for s in Status}
    if bad := [v for v in values if v not in known]:
        raise error(422, f"{bad[0]!r} is not one of {sorted(known)}", "query.status")
    return values


def limit_of(text: str | None) -> int:
    if text is None:
        return 50
    if not text.isdigit() or not 1 <= int(text) <= 200:
        raise error(422, "must be an integer from 1 to 200", "query.limit")
    return int(text)


def encode(recurring_order_id: str) -> str:
    return base64.urlsafe_b64encode(recurring_order_id.encode()).decode().rstrip("=")


def after_of(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        after = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        after = "\x00"
    if "\x00" in after:
        raise error(422, "not a cursor this list gave", "query.cursor")
    return after
