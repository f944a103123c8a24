"""Orders paid in parts (`payment_plan: partial`) and their manager's early close (CONTRACTS §8).

Pure. A partial order is paid by several invoices, each `share_percent` of the offer; it is
confirmed on payment like any other order once its payments cover the amount, and before
that its manager may close it: `complete` records the profile's confirmed status, `decline`
its declined status, both with source `manager`. Neither is allowed on an order that is not
partial, is already Has OK, or is (currently) declined.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from orderflow.services.status_tracker.domain import OrderState, Report
from orderflow.shared.vocabulary import Category, StatusProfile

PARTIAL = "partial"
MANAGER_SOURCE = "manager"

# The first status of each profile's category in CONTRACTS §2 (with the store correction:
# Completed is the store's confirmed status). A profile without a declined status records
# the contract's word for it; the report carries its category, so no profile must know it.
CONFIRMED_STATUS = {
    StatusProfile.LOYALTY: "OK",
    StatusProfile.AFFILIATE: "Sale",
    StatusProfile.ORDERS_API: "Paid",
    StatusProfile.CRM: "Completed",
    StatusProfile.STORE: "Completed",
}
DECLINED_STATUS = "Declined"


class ManagerCommand(StrEnum):
    COMPLETE = "complete"
    DECLINE = "decline"


@dataclass(frozen=True)
class Refused:
    reason: str


def confirms_on_payment_status(profile: StatusProfile) -> str:
    """The status an order confirmed by its payments is recorded with."""
    return CONFIRMED_STATUS[profile]


def manager_report(
    state: OrderState,
    payment_plan: str | None,
    command: ManagerCommand,
    profile: StatusProfile,
    by: str,
    now: datetime,
) -> Report | Refused:
    """The report a manager's command records, or why it is refused (409)."""
    if payment_plan != PARTIAL:
        return Refused("the order is not paid in parts (payment_plan is not partial)")
    if state.has_ok:
        return Refused("the order is already confirmed (Has OK)")
    if state.category is Category.DECLINED:
        return Refused("the order is declined")
    if command is ManagerCommand.COMPLETE:
        status, category = CONFIRMED_STATUS[profile], Category.CONFIRMED
    else:
        status, category = DECLINED_STATUS, Category.DECLINED
    # Unique per command and instant (a decline undone upstream can be declined again); it
    # names the manager, so the timeline shows who closed the order.
    instant = now.astimezone(UTC).isoformat()
    return Report(
        report_id=f"manager:{command.value}:{instant}:{by}",
        status=status,
        category=category,
        source=MANAGER_SOURCE,
        occurred_at=now,
        received_at=now,
    )
