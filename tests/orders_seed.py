"""A small, varied set of orders for the orders HTTP tests, and what each must read as.

`SEED` feeds the tracker's handlers; `EXPECTED` says, independently of the SQL, what each
order is (the tests filter and sort it in Python and compare with the service's answers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from orderflow.shared.envelope import Envelope
from tests.orders_support import T0, credited, reported


def _items(*lines: tuple[str, str, int, str]) -> list[dict[str, Any]]:
    return [{"sku": s, "quantity": q, "unit_price": p, "category": c} for s, c, q, p in lines]


@dataclass(frozen=True)
class Expected:
    order_id: str
    status: str
    category: str
    has_ok: bool
    created: float  # hours after T0
    updated: float
    amount: str | None = None
    currency: str | None = None
    customer_id: str | None = None
    offer_id: str | None = None
    item_categories: frozenset[str] = frozenset()
    payment_system: str | None = None
    sales_manager: str | None = None
    members: frozenset[str] = frozenset()
    recurring_order_id: str | None = None
    payment_plan: str = "full"
    items_count: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def created_at(self) -> datetime:
        return T0 + timedelta(hours=self.created)

    @property
    def updated_at(self) -> datetime:
        return T0 + timedelta(hours=self.updated)

    @property
    def amount_value(self) -> Decimal | None:
        return None if self.amount is None else Decimal(self.amount)


E = Expected
EXPECTED = [
    E("o-01", "Pending", "pending", False, 1, 1, "10.00", "EUR", "c-1", "off-1",
      frozenset({"kitchen"}), "stripe", items_count=1),
    E("o-02", "OK", "confirmed", True, 2, 3, "250.00", "EUR", "c-2", "off-2",
      frozenset({"food", "kitchen"}), "paypal", "mgr-1", frozenset({"mgr-1"}), items_count=2),
    E("o-03", "OK", "confirmed", True, 4, 4, "99.99", "USD", "c-1", "off-1",
      frozenset({"garden"}), "stripe", None, frozenset({"aff-1"}), "sub-1", "partial", 1),
    E("o-04", "Cancelled", "cancelled", False, 5, 5, None, None, "c-3"),
    E("o-05", "Refunded", "refunded", True, 6, 7, "40.00", "EUR", "c-2", "off-3",
      payment_system=None, sales_manager="mgr-2", members=frozenset({"aff-1", "mgr-2"})),
    E("o-06", "Chargeback", "chargeback", False, 8, 8, "5.50", "GBP", "c-4", "off-2"),
    E("o-07", "Pending", "pending", False, 9, 9, "10.00", "EUR", "c-5", "off-1",
      payment_system="stripe", members=frozenset({"aff-2"})),
    E("o-08", "OK", "confirmed", True, 9, 9, "1000", "JPY", "c-5", "off-4",
      payment_system="paypal", members=frozenset({"aff-2"})),
]  # fmt: skip

SEED: list[Envelope] = [
    reported("o-01", "Pending", "pending", 1, amount="10.00", currency="EUR",
             customer={"id": "c-1"}, offer_id="off-1", payment={"system": "stripe"},
             items=_items(("MUG", "kitchen", 1, "10.00"))),
    reported("o-02", "Pending", "pending", 2, amount="250.00", currency="EUR",
             customer={"id": "c-2"}, offer_id="off-2", payment={"system": "paypal"},
             items=_items(("BREAD", "food", 2, "100.00"), ("POT", "kitchen", 1, "50.00"))),
    reported("o-02", "OK", "confirmed", 3),
    reported("o-03", "OK", "confirmed", 4, amount="99.99", currency="USD", customer={"id": "c-1"},
             offer_id="off-1", payment={"system": "stripe"}, payment_plan="partial",
             recurring={"recurring_order_id": "sub-1", "interval": "1M"},
             items=_items(("HOSE", "garden", 1, "99.99"))),
    reported("o-04", "Cancelled", "cancelled", 5, customer={"id": "c-3"}),
    reported("o-05", "OK", "confirmed", 6, amount="40.00", currency="EUR", customer={"id": "c-2"},
             offer_id="off-3"),
    reported("o-05", "Refunded", "refunded", 7, refunded_amount="40.00"),
    reported("o-06", "Chargeback", "chargeback", 8, amount="5.50", currency="GBP",
             customer={"id": "c-4"}, offer_id="off-2"),
    reported("o-07", "Pending", "pending", 9, amount="10.00", currency="EUR", customer={"id": "c-5"},
             offer_id="off-1", payment={"system": "stripe"}),
    reported("o-08", "OK", "confirmed", 9, amount="1000", currency="JPY", customer={"id": "c-5"},
             offer_id="off-4", payment={"system": "paypal"}),
]  # fmt: skip

CREDITS: list[Envelope] = [
    credited("o-02", "mgr-1", "sales_manager", 2),
    credited("o-02", "mgr-1", "sales_manager", 3, confirmed=True),
    credited("o-03", "aff-1", "affiliation", 4),
    credited("o-05", "aff-1", "affiliation", 6),
    credited("o-05", "mgr-2", "sales_manager", 6),
    credited("o-07", "aff-2", "coupon", 9),
    credited("o-08", "aff-2", "coupon", 9),
    credited("o-06", "aff-2", "coupon", 8),
    credited("o-06", "aff-2", "coupon", 8.5, voided=True),
]
