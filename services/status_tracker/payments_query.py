"""What a payments list or export asks for (CONTRACTS §8), and the SQL that answers it.

Pure. Filters `status, payment_system, currency, order_id, recurring_order_id` (repeat one
for OR), `from` and `to` (RFC 3339, the payment's time: its earliest report, inclusive
bounds), newest first, keyset-paged by `(made_at, order_id, payment_id)`; every bad value
is named (`query.<name>`) with its reason.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from orderflow.services.status_tracker.payments import PaymentStatus
from orderflow.shared.currencies import is_currency

MULTI = ("status", "payment_system", "currency", "order_id", "recurring_order_id")
NAMES = (*MULTI, "from", "to", "limit", "cursor")
MAX_LIMIT, DEFAULT_LIMIT = 200, 50
COLUMNS = (
    "payment_id, order_id, status, occurred_at, made_at, succeeded_at, amount, currency, fee,"
    " funds_credited, refunded, payment_system, one_click, share_percent, error_code, comment,"
    " recurring_order_id"
)


class QueryRejected(Exception):
    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{p}: {m}" for p, m in errors))
        self.errors = errors


@dataclass(frozen=True)
class PaymentsQuery:
    any_of: dict[str, tuple[str, ...]] = field(default_factory=dict)
    start: datetime | None = None
    end: datetime | None = None
    limit: int = DEFAULT_LIMIT
    after: tuple[datetime, str, str] | None = None


def parse(params: Sequence[tuple[str, str]]) -> PaymentsQuery:
    errors: list[tuple[str, str]] = []
    values: dict[str, list[str]] = {}
    for name, value in params:
        values.setdefault(name, []).append(value)
    for name in sorted(set(values) - set(NAMES)):
        errors.append((f"query.{name}", "unknown query parameter"))
    for name in ("from", "to", "limit", "cursor"):
        if len(values.get(name, [])) > 1:
            errors.append((f"query.{name}", "must be given at most once"))
    for code in values.get("currency", []):
        if not is_currency(code):
            errors.append(("query.currency", "must be an ISO 4217 code (upper case)"))
    known = {s.value for s in PaymentStatus}
    for status in values.get("status", []):
        if status not in known:
            errors.append(("query.status", f"must be one of {', '.join(sorted(known))}"))
    query = PaymentsQuery(
        any_of={n: tuple(values[n]) for n in MULTI if n in values},
        start=_instant("from", values.get("from"), errors),
        end=_instant("to", values.get("to"), errors),
        limit=_limit(values.get("limit"), errors),
        after=_cursor(values.get("cursor"), errors),
    )
    if errors:
        raise QueryRejected(errors)
    return query


def instant(name: str, raw: str, errors: list[tuple[str, str]]) -> datetime | None:
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        value = None
    if value is None or value.tzinfo is None or "T" not in raw.upper():
        errors.append((f"query.{name}", "must be an RFC 3339 instant with an offset"))
        return None
    return value


def _instant(name: str, raw: list[str] | None, errors: list[tuple[str, str]]) -> datetime | None:
    return None if not raw else instant(name, raw[0], errors)


def _limit(raw: list[str] | None, errors: list[tuple[str, str]]) -> int:
    if not raw:
        return DEFAULT_LIMIT
    if not raw[0].isdigit() or not 1 <= int(raw[0]) <= MAX_LIMIT:
        errors.append(("query.limit", f"must be an integer from 1 to {MAX_LIMIT}"))
        return DEFAULT_LIMIT
    return int(raw[0])


def cursor_of(made_at: datetime, order_id: str, payment_id: str) -> str:
    text = json.dumps([made_at.isoformat(), order_id, payment_id])
    return base64.urlsafe_b64encode(text.encode()).decode()


def _cursor(
    raw: list[str] | None, errors: list[tuple[str, str]]
) -> tuple[datetime, str, str] | None:
    if not raw:
        return None
    try:
        made_at, order_id, payment_id = json.loads(base64.urlsafe_b64decode(raw[0].encode()))
        return datetime.fromisoformat(made_at), str(order_id), str(payment_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        errors.append(("query.cursor", "is not a next_cursor this list gave"))
        return None


def where(tenant: str, query: PaymentsQuery) -> tuple[str, list[Any]]:
    """The WHERE clause (without the page's keyset bound) and its arguments."""
    args: list[Any] = [tenant]
    clauses = ["tenant = $1"]
    for name, options in query.any_of.items():
        args.append(list(options))
        clauses.append(f"{name} = ANY(${len(args)}::text[])")
    for bound, op in ((query.start, ">="), (query.end, "<=")):
        if bound is not None:
            args.append(bound)
            clauses.append(f"made_at {op} ${len(args)}")
    return " AND ".join(clauses), args


def page_sql(tenant: str, query: PaymentsQuery) -> tuple[str, list[Any]]:
    clause, args = where(tenant, query)
    if query.after is not None:
        args += list(query.after)
        n = len(args)
        clause += f" AND (made_at, order_id, payment_id) < (${n - 2}, ${n - 1}, ${n})"
    args.append(query.limit + 1)
    order = "ORDER BY made_at DESC, order_id DESC, payment_id DESC"
    return f"SELECT {COLUMNS} FROM payments WHERE {clause} {order} LIMIT ${len(args)}", args


def all_sql(tenant: str, query: PaymentsQuery) -> tuple[str, list[Any]]:
    clause, args = where(tenant, query)
    order = "ORDER BY made_at DESC, order_id DESC, payment_id DESC"
    return f"SELECT {COLUMNS} FROM payments WHERE {clause} {order}", args
