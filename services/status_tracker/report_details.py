"""The Part-2 fields of one report (CONTRACTS §7, §8, §10), as the history keeps them.

Pure. Discounts, shipping, metadata and the recurring order travel as the JSON ingest
validated; the read model folds them in upstream time (`order_view.py`). The customer's
name and the shipping address are personal data: kept out of every repr.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

Json = dict[str, Any]


@dataclass(frozen=True)
class ReportDetails:
    offer_name: str | None = None
    payment_plan: str | None = None
    payment_system: str | None = None
    customer_name: str | None = field(default=None, repr=False)
    discounts: tuple[Json, ...] | None = None
    shipping: Json | None = field(default=None, repr=False)
    metadata: Json | None = field(default=None, repr=False)
    recurring: Json | None = None
    refunded_amount: Decimal | None = None

    def to_json(self) -> Json:
        data = {k: v for k, v in vars(self).items() if v is not None}
        if self.discounts is not None:
            data["discounts"] = list(self.discounts)
        if self.refunded_amount is not None:
            data["refunded_amount"] = str(self.refunded_amount)
        return data


def details_from(data: Json) -> ReportDetails | None:
    """From `order.reported` data, or a history row's `details`; None when it has none."""
    customer = data.get("customer") or {}
    payment = data.get("payment") or {}
    discounts = data.get("discounts")
    refunded = data.get("refunded_amount")
    details = ReportDetails(
        offer_name=data.get("offer_name"),
        payment_plan=data.get("payment_plan"),
        payment_system=data.get("payment_system", payment.get("system")),
        customer_name=data.get("customer_name", customer.get("name")),
        discounts=None if discounts is None else tuple(_without_nulls(d) or {} for d in discounts),
        shipping=_without_nulls(data.get("shipping")),
        metadata=data.get("metadata"),
        recurring=_without_nulls(data.get("recurring")),
        refunded_amount=None if refunded is None else Decimal(str(refunded)),
    )
    return None if details == ReportDetails() else details


def _without_nulls(value: Json | None) -> Json | None:
    """Ingest writes every optional field, null when absent; the read model keeps what was said."""
    if value is None:
        return None
    return {
        k: _without_nulls(v) if isinstance(v, dict) else v
        for k, v in value.items()
        if v is not None
    }
