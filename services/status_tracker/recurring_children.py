"""A recurring order's charges as orders of the read model (CONTRACTS §7, §10). Pure.

A charge that succeeded is an order in its own right, `<recurring_order_id>-<n>`: it is
paid, so it is confirmed, through the tracker's own `decide` fed a synthetic report (the
profile's confirmed status, source `recurring`), exactly like any confirmation: one
`order.confirmed`, the lifecycle events, and a read-model row carrying the initial order's
amount, currency, customer and offer and `recurring_order_id`.
"""

from __future__ import annotations

from datetime import datetime

from orderflow.services.status_tracker.history import OrderSummary, Report
from orderflow.services.status_tracker.recurring import Decision, child_order_id
from orderflow.services.status_tracker.report_details import ReportDetails
from orderflow.shared.vocabulary import Category

SOURCE = "recurring"


def paid_child(decision: Decision, confirmed_status: str, received_at: datetime) -> Report | None:
    """The confirmed report of the child order whose charge just succeeded, if one did."""
    settled = decision.settled
    if settled is None or settled.status != "succeeded" or settled.sequence < 2:
        return None
    order, terms = decision.order, decision.order.terms
    return Report(
        report_id=f"recurring:{order.recurring_order_id}:{settled.sequence}",
        status=confirmed_status,
        category=Category.CONFIRMED,
        source=SOURCE,
        occurred_at=settled.occurred_at,
        received_at=received_at,
        summary=OrderSummary(terms.amount, terms.currency, terms.customer_id, terms.offer_id),
        details=ReportDetails(
            payment_system=settled.payment_system,
            recurring={
                "recurring_order_id": order.recurring_order_id,
                "sequence": settled.sequence,
            },
        ),
    )


def child_key(decision: Decision) -> tuple[str, str]:
    assert decision.settled is not None
    order = decision.order
    return order.tenant, child_order_id(order.recurring_order_id, decision.settled.sequence)
