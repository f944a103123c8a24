"""What the reads show of one order (CONTRACTS §7 summary and detail), decided purely.

The view is folded from the history in upstream time, like the decision state, so it does
not depend on the order in which reports arrived. The rules, per field:

- `created_at` is the earliest report's `occurred_at`, `updated_at` the latest's;
- amount, currency, customer, offer and items: the decision state's summary (the earliest
  report that has them, gaps filled from later ones);
- offer name, payment plan, recurring order, customer name, discounts and metadata: the
  same rule, the earliest report that carries the field;
- the reports' payment system: the latest report that names one;
- shipping: each field from the latest report that sets it (tracking comes after shipping).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from orderflow.services.status_tracker.domain import OrderItem, OrderState
from orderflow.services.status_tracker.history import HistoryEntry, fold
from orderflow.services.status_tracker.report_details import Json, ReportDetails
from orderflow.shared.vocabulary import Category

DEFAULT_PLAN = "full"
_EARLIEST = ("offer_name", "payment_plan", "recurring", "customer_name", "discounts", "metadata")


@dataclass(frozen=True)
class OrderView:
    tenant: str
    order_id: str
    status: str
    category: Category
    has_ok: bool
    created_at: datetime
    updated_at: datetime
    amount: Decimal | None
    currency: str | None
    customer_id: str | None
    offer_id: str | None
    items: tuple[OrderItem, ...]
    offer_name: str | None = None
    payment_system: str | None = None
    payment_plan: str = DEFAULT_PLAN
    recurring: Json | None = None
    customer_name: str | None = field(default=None, repr=False)
    discounts: tuple[Json, ...] = ()
    metadata: Json | None = field(default=None, repr=False)
    shipping: Json | None = field(default=None, repr=False)

    @property
    def recurring_order_id(self) -> str | None:
        return None if self.recurring is None else self.recurring.get("recurring_order_id")


def view_of(
    tenant: str, order_id: str, state: OrderState, history: Iterable[HistoryEntry]
) -> OrderView:
    steps = fold(history).steps
    details = [s.entry.details for s in steps if s.entry.details is not None]
    earliest = _earliest(details)
    summary = state.summary
    return OrderView(
        tenant=tenant,
        order_id=order_id,
        status=state.status,
        category=state.category,
        has_ok=state.has_ok,
        created_at=steps[0].entry.occurred_at,
        updated_at=steps[-1].entry.occurred_at,
        amount=summary.amount,
        currency=summary.currency,
        customer_id=summary.customer_id,
        offer_id=summary.offer_id,
        items=summary.items,
        offer_name=earliest["offer_name"],
        payment_system=next(
            (d.payment_system for d in reversed(details) if d.payment_system), None
        ),
        payment_plan=earliest["payment_plan"] or DEFAULT_PLAN,
        recurring=earliest["recurring"],
        customer_name=earliest["customer_name"],
        discounts=earliest["discounts"] or (),
        metadata=earliest["metadata"],
        shipping=_shipping(details),
    )


def _earliest(details: list[ReportDetails]) -> dict[str, Any]:
    found: dict[str, Any] = dict.fromkeys(_EARLIEST)
    for d in details:
        for name in _EARLIEST:
            if found[name] is None:
                found[name] = getattr(d, name)
    return found


def _shipping(details: list[ReportDetails]) -> Json | None:
    merged: Json = {}
    for d in details:
        merged.update(d.shipping or {})
    return merged or None
