"""Segment conditions (CONTRACTS §11 `segments[].when`): one small entry per condition kind.

A kind is a field of `SegmentWhen` (shared/tenant_segments.py) plus its entry in `KINDS`
here, under the same name: `holds` (pure: does it hold for these statistics at `now`), `sql`
(the same predicate over a `customers` row `c`, for the set-based rebuild; a property test
proves the two agree) and, for a time condition, `changes_at` / `due_sql` (the next instant
after `now` its truth can change without a new order: the customer's durable timer).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from orderflow.shared.instants import later
from orderflow.shared.tenant_segments import SegmentWhen, SpentAtLeast


@dataclass(frozen=True)
class CustomerStats:
    """A customer's Has OK orders, by confirmation time; `spent` per currency."""

    orders_count: int = 0
    spent: Mapping[str, Decimal] = field(default_factory=dict)
    first_purchase_at: datetime | None = None
    last_purchase_at: datetime | None = None


Arg = Callable[[object], str]  # binds a value as the next `$n` of the statement


def min_orders(n: int, stats: CustomerStats, now: datetime) -> bool:
    return stats.orders_count >= n


def max_orders(n: int, stats: CustomerStats, now: datetime) -> bool:
    return stats.orders_count <= n


def min_spent(rule: SpentAtLeast, stats: CustomerStats, now: datetime) -> bool:
    return stats.spent.get(rule.currency, Decimal(0)) >= rule.amount


def _until(within: timedelta, stats: CustomerStats) -> datetime | None:
    """When a purchase stops being "within" `within`: the instant its time condition flips."""
    last = stats.last_purchase_at
    return None if last is None else later(last, within)


def last_purchase_within(within: timedelta, stats: CustomerStats, now: datetime) -> bool:
    until = _until(within, stats)
    return until is not None and now < until


def no_purchase_within(within: timedelta, stats: CustomerStats, now: datetime) -> bool:
    return not last_purchase_within(within, stats, now)


def flips_at(within: timedelta, stats: CustomerStats, now: datetime) -> datetime | None:
    until = _until(within, stats)
    return until if until is not None and now < until else None


def _never(value: Any, stats: CustomerStats, now: datetime) -> datetime | None:
    return None


def _no_due(value: Any, arg: Arg) -> str | None:
    return None


@dataclass(frozen=True)
class Kind:
    holds: Callable[[Any, CustomerStats, datetime], bool]
    sql: Callable[[Any, Arg], str]
    changes_at: Callable[[Any, CustomerStats, datetime], datetime | None] = _never
    due_sql: Callable[[Any, Arg], str | None] = _no_due


# `$1` of every statement is `now`.
KINDS: dict[str, Kind] = {
    "min_orders": Kind(min_orders, lambda n, arg: f"c.orders_count >= {arg(n)}"),
    "max_orders": Kind(max_orders, lambda n, arg: f"c.orders_count <= {arg(n)}"),
    "min_spent": Kind(
        min_spent,
        lambda r, arg: f"coalesce((c.spent->>{arg(r.currency)})::numeric, 0) >= {arg(r.amount)}",
    ),
    "last_purchase_within": Kind(
        last_purchase_within,
        lambda d, arg: f"$1 < c.last_purchase_at + {arg(d)}::interval",
        flips_at,
        lambda d, arg: f"c.last_purchase_at + {arg(d)}::interval",
    ),
    "no_purchase_within": Kind(
        no_purchase_within,
        lambda d, arg: f"$1 >= c.last_purchase_at + {arg(d)}::interval",
        flips_at,
        lambda d, arg: f"c.last_purchase_at + {arg(d)}::interval",
    ),
}


def set_conditions(when: SegmentWhen) -> Iterator[tuple[str, Any]]:
    for name in type(when).model_fields:
        value = getattr(when, name)
        if value is not None:
            yield name, value


def holds(when: SegmentWhen, stats: CustomerStats, now: datetime) -> bool:
    """All conditions hold; a customer without Has OK orders is in no segment."""
    return stats.orders_count > 0 and all(
        KINDS[name].holds(value, stats, now) for name, value in set_conditions(when)
    )


def next_change(when: SegmentWhen, stats: CustomerStats, now: datetime) -> datetime | None:
    times = [KINDS[n].changes_at(v, stats, now) for n, v in set_conditions(when)]
    return min((t for t in times if t is not None), default=None)


def predicate(when: SegmentWhen, arg: Arg) -> str:
    """The SQL twin of `holds` over `customers c` (rows exist only with orders)."""
    return " AND ".join(f"({KINDS[n].sql(v, arg)})" for n, v in set_conditions(when))


def due_expressions(when: SegmentWhen, arg: Arg) -> list[str]:
    found = (KINDS[n].due_sql(v, arg) for n, v in set_conditions(when))
    return [expression for expression in found if expression is not None]
