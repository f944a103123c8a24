"""The sales reports (CONTRACTS §9): what each `by` groups and shows, the query it takes,
and how its rows are sorted, trimmed to `columns=` and totalled. Pure.

Money is exact (Postgres numeric sums, Decimal here), written in the currency's minor units
and never summed across currencies. docs/reports.md says what every column counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from orderflow.services.status_tracker.payments_query import QueryRejected, instant
from orderflow.shared.currencies import DEFAULT_MINOR_UNITS, minor_units


class By(StrEnum):
    PAYMENT_SYSTEM = "payment_system"
    OFFER = "offer"
    OFFER_CATEGORY = "offer_category"
    SALES_MANAGER = "sales_manager"


ORDER_MONEY = ("amount", "refunded", "net")
COLUMNS: Mapping[By, tuple[str, ...]] = {
    By.PAYMENT_SYSTEM: ("payment_system", "currency", "payments", "succeeded", "amount", "fees",
                        "funds_credited", "refunded"),
    By.OFFER: ("offer_id", "offer_name", "currency", "orders", "completed", *ORDER_MONEY),
    By.OFFER_CATEGORY: ("category", "currency", "orders", "completed", *ORDER_MONEY),
    By.SALES_MANAGER: ("member_id", "currency", "orders", "completed", *ORDER_MONEY),
}  # fmt: skip
MONEY = frozenset({"amount", "fees", "funds_credited", "refunded", "net"})
NAMES = ("by", "from", "to", "sort", "format", "columns")
Row = dict[str, Any]


@dataclass(frozen=True)
class ReportQuery:
    by: By
    start: datetime | None = None
    end: datetime | None = None
    sort: str | None = None  # a column, `-` first for descending
    format: str = "json"
    columns: tuple[str, ...] = ()


def parse(params: Sequence[tuple[str, str]]) -> ReportQuery:
    errors: list[tuple[str, str]] = []
    values: dict[str, list[str]] = {}
    for name, value in params:
        values.setdefault(name, []).append(value)
    for name in sorted(set(values) - set(NAMES)):
        errors.append((f"query.{name}", "unknown query parameter"))
    for name in NAMES:
        if len(values.get(name, [])) > 1:
            errors.append((f"query.{name}", "must be given at most once"))
    one = {name: v[0] for name, v in values.items() if name in NAMES}
    by = _by(one.get("by"), errors)
    columns = COLUMNS[by] if by else ()
    query = ReportQuery(
        by=by or By.OFFER,
        start=instant("from", one["from"], errors) if "from" in one else None,
        end=instant("to", one["to"], errors) if "to" in one else None,
        sort=_sort(one.get("sort"), columns, errors),
        format=_format(one.get("format", "json"), errors),
        columns=_columns(one.get("columns"), columns, errors),
    )
    if errors:
        raise QueryRejected(errors)
    return query


def _by(raw: str | None, errors: list[tuple[str, str]]) -> By | None:
    if raw in {b.value for b in By}:
        return By(raw)
    errors.append(("query.by", f"must be one of {', '.join(b.value for b in By)}"))
    return None


def _sort(raw: str | None, columns: tuple[str, ...], errors: list[tuple[str, str]]) -> str | None:
    if raw is not None and columns and raw.removeprefix("-") not in columns:
        errors.append(("query.sort", f"must be a column of this report: {', '.join(columns)}"))
    return raw


def _format(raw: str, errors: list[tuple[str, str]]) -> str:
    if raw not in ("json", "csv"):
        errors.append(("query.format", "must be json or csv"))
    return raw


def _columns(
    raw: str | None, columns: tuple[str, ...], errors: list[tuple[str, str]]
) -> tuple[str, ...]:
    if raw is None:
        return columns
    names = tuple(n.strip() for n in raw.split(","))
    unknown = [n for n in names if n not in columns]
    if columns and (unknown or not all(names)):
        errors.append(("query.columns", f"known columns: {', '.join(columns)}"))
    return names


def money(value: Decimal | None, currency: str | None) -> str:
    """An exact sum in the currency's minor units (the inputs never have more digits)."""
    amount = value if value is not None else Decimal(0)
    units = minor_units(currency) if currency is not None else DEFAULT_MINOR_UNITS
    return format(amount.quantize(Decimal(1).scaleb(-units)), "f")


def shaped(rows: Sequence[Row], query: ReportQuery) -> list[Row]:
    """The rows sorted (default: by the group's own columns) and trimmed to `columns`."""
    key = query.sort or COLUMNS[query.by][0]
    name, descending = key.removeprefix("-"), key.startswith("-")

    def order(row: Row) -> tuple[Any, ...]:
        value = row[name]
        number = Decimal(value) if name in MONEY else value
        return (number is not None, number, str(row.get("currency")))

    ordered = sorted(rows, key=order, reverse=descending)
    return [{c: row[c] for c in query.columns} for row in ordered]


def totals(completed: Sequence[tuple[str, int, Decimal]]) -> dict[str, dict[str, Any]]:
    """`{currency: {completed, net}}` of the completed orders, refunds taken off."""
    return {
        currency: {"completed": count, "net": money(net, currency)}
        for currency, count, net in sorted(completed)
    }
