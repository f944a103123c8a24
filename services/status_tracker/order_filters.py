"""What a list, an export or "My orders" asks for (CONTRACTS §7): filters, sort and page,
read from the query string. Pure: every bad value is named (`query.<name>`) with its reason.

Each filter is optional; filters are AND-ed and a repeated filter is OR-ed (`status=A&
status=B`). Bounds (`created_from`, `created_to`, `min_amount`, `max_amount`) are inclusive
and are given at most once, as are `sort`, `limit`, `cursor` and `columns`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from orderflow.shared.vocabulary import Category

MULTI = (
    "status", "category", "has_ok", "customer_id", "offer_id", "item_category",
    "payment_system", "currency", "sales_manager", "member_id", "recurring_order_id",
    "payment_plan",
)  # fmt: skip
BOUNDS = ("created_from", "created_to", "min_amount", "max_amount")
FILTERS = MULTI + BOUNDS
PAGING = ("sort", "limit", "cursor")
SORTS = ("created_at", "updated_at", "amount", "order_id")
DEFAULT_SORT = "-created_at"
MAX_LIMIT, DEFAULT_LIMIT = 200, 50
_DECIMAL_RE = re.compile(r"[0-9]{1,15}(\.[0-9]{1,4})?")
_RFC3339_RE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_CHOICES: dict[str, tuple[str, ...]] = {
    "category": tuple(c.value for c in Category),
    "has_ok": ("true", "false"),
    "payment_plan": ("full", "partial"),
}
Params = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Filters:
    any_of: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name -> OR-ed values
    created_from: datetime | None = None
    created_to: datetime | None = None
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None


@dataclass(frozen=True)
class Page:
    sort: str = DEFAULT_SORT
    limit: int = DEFAULT_LIMIT
    after: tuple[Any, str] | None = None  # the sort value and order_id of the last row shown


def parse_filters(params: Params, errors: list[tuple[str, str]]) -> Filters:
    any_of: dict[str, tuple[str, ...]] = {}
    for name in MULTI:
        values = tuple(v for k, v in params if k == name)
        allowed = _CHOICES.get(name)
        for value in values:
            if allowed and value not in allowed:
                errors.append((f"query.{name}", f"must be one of {', '.join(allowed)}"))
            elif not value:
                errors.append((f"query.{name}", "must not be empty"))
        if values:
            any_of[name] = values
    single = _singles(params, BOUNDS, errors)
    return Filters(
        any_of=any_of,
        created_from=_instant(single, "created_from", errors),
        created_to=_instant(single, "created_to", errors),
        min_amount=_amount(single, "min_amount", errors),
        max_amount=_amount(single, "max_amount", errors),
    )


def parse_page(params: Params, errors: list[tuple[str, str]], sorts: bool = True) -> Page:
    single = _singles(params, PAGING, errors)
    sort = single.get("sort", DEFAULT_SORT)
    if sort.lstrip("-") not in SORTS or (not sorts and sort != DEFAULT_SORT):
        choices = ", ".join(f"{s}, -{s}" for s in SORTS) if sorts else DEFAULT_SORT
        errors.append(("query.sort", f"must be one of {choices}"))
        sort = DEFAULT_SORT
    limit = DEFAULT_LIMIT
    if "limit" in single:
        text = single["limit"]
        if not text.isdigit() or len(text) > 3 or not 1 <= int(text) <= MAX_LIMIT:
            errors.append(("query.limit", f"must be an integer from 1 to {MAX_LIMIT}"))
        else:
            limit = int(text)
    after = None
    if "cursor" in single:
        after = decode_cursor(single["cursor"], sort)
        if after is None:
            errors.append(("query.cursor", "is not a next_cursor of this list and sort"))
    return Page(sort, limit, after)


def parse_kpi_query(
    params: Params, errors: list[tuple[str, str]], intervals: Sequence[str]
) -> tuple[datetime | None, datetime | None, str]:
    """`from`, `to` (inclusive, by created time) and `interval` (default day)."""
    single = _singles(params, ("from", "to", "interval"), errors)
    interval = single.get("interval", "day")
    if interval not in intervals:
        errors.append(("query.interval", f"must be one of {', '.join(intervals)}"))
    return _instant(single, "from", errors), _instant(single, "to", errors), interval


def encode_cursor(sort: str, value: Any, order_id: str) -> str:
    if isinstance(value, datetime):
        value = value.astimezone(UTC).isoformat()
    elif isinstance(value, Decimal):
        value = str(value)
    raw = json.dumps([sort, value, order_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str, sort: str) -> tuple[Any, str] | None:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        cursor_sort, value, order_id = json.loads(raw)
    except (binascii.Error, ValueError, TypeError):
        return None
    if cursor_sort != sort or not isinstance(order_id, str):
        return None
    key = sort.lstrip("-")
    try:
        if key in ("created_at", "updated_at"):
            at = datetime.fromisoformat(value)
            return (at, order_id) if at.tzinfo is not None else None
        if key == "amount":
            return (None if value is None else Decimal(value)), order_id
    except (TypeError, ValueError, ArithmeticError):
        return None
    return (value, order_id) if isinstance(value, str) else None


def _singles(params: Params, names: Sequence[str], errors: list[tuple[str, str]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in names:
        values = [v for k, v in params if k == name]
        if len(values) > 1:
            errors.append((f"query.{name}", "must be given at most once"))
        elif values:
            found[name] = values[0]
    return found


def _instant(single: dict[str, str], name: str, errors: list[tuple[str, str]]) -> datetime | None:
    text = single.get(name)
    if text is None:
        return None
    if _RFC3339_RE.fullmatch(text):
        try:
            return datetime.fromisoformat(text.upper()).astimezone(UTC)
        except (ValueError, OverflowError):
            pass
    errors.append((f"query.{name}", "must be an RFC 3339 date-time with an offset"))
    return None


def _amount(single: dict[str, str], name: str, errors: list[tuple[str, str]]) -> Decimal | None:
    text = single.get(name)
    if text is None:
        return None
    if not _DECIMAL_RE.fullmatch(text):
        errors.append((f"query.{name}", 'must be a decimal such as "12.50"'))
        return None
    return Decimal(text)
