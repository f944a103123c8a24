"""A manager's early close of an order paid in parts: every cell of the table."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orderflow.services.status_tracker.domain import NO_EXPIRY, OrderState, Report, decide
from orderflow.services.status_tracker.history import OrderSummary
from orderflow.services.status_tracker.payments_plan import (
    ManagerCommand,
    Refused,
    manager_report,
)
from orderflow.shared.vocabulary import Category, StatusProfile
from tests.unit.payment_facts import at

COMPLETE, DECLINE = ManagerCommand.COMPLETE, ManagerCommand.DECLINE


def order(*reports: tuple[str, Category]) -> OrderState:
    state: OrderState | None = None
    history: list[Report] = []
    for i, (status, category) in enumerate(reports):
        summary = OrderSummary(Decimal("1000.00"), "EUR")
        report = Report(f"r{i}", status, category, "crm", at(i), at(i), summary)
        decision = decide(state, history, report, NO_EXPIRY)
        state, history = decision.state, [*history, report]
    assert state is not None
    return state


OPEN = order(("Open", Category.PENDING))


@pytest.mark.parametrize(
    ("command", "status", "category"),
    [(COMPLETE, "Completed", Category.CONFIRMED), (DECLINE, "Declined", Category.DECLINED)],
)
def test_a_partial_order_is_closed_with_the_profiles_status(
    command: ManagerCommand, status: str, category: Category
) -> None:
    report = manager_report(OPEN, "partial", command, StatusProfile.CRM, "mgr-7", at(50))
    assert isinstance(report, Report)
    assert (report.status, report.category, report.source) == (status, category, "manager")
    assert report.occurred_at == at(50)
    assert report.report_id.startswith(f"manager:{command.value}:") and "mgr-7" in report.report_id


@pytest.mark.parametrize("profile", list(StatusProfile))
def test_every_profile_has_a_confirmed_status(profile: StatusProfile) -> None:
    report = manager_report(OPEN, "partial", COMPLETE, profile, "m", at(9))
    assert isinstance(report, Report) and report.status


@pytest.mark.parametrize("command", list(ManagerCommand))
@pytest.mark.parametrize(
    ("plan", "state", "reason"),
    [
        ("full", OPEN, "not paid in parts"),
        (None, OPEN, "not paid in parts"),
        ("partial", order(("Open", Category.PENDING), ("Completed", Category.CONFIRMED)), "Has OK"),
        (
            "partial",
            order(("Completed", Category.CONFIRMED), ("Refund", Category.REFUNDED)),
            "Has OK",
        ),
        ("partial", order(("Declined", Category.DECLINED)), "declined"),
    ],
)
def test_refused_cells(
    command: ManagerCommand, plan: str | None, state: OrderState, reason: str
) -> None:
    refused = manager_report(state, plan, command, StatusProfile.CRM, "m", at(9))
    assert isinstance(refused, Refused)
    assert reason in refused.reason


def test_a_decline_undone_upstream_may_be_closed_again() -> None:
    reopened = order(("Declined", Category.DECLINED), ("Open", Category.PENDING))
    assert isinstance(
        manager_report(reopened, "partial", COMPLETE, StatusProfile.CRM, "m", at(9)), Report
    )


def test_completing_through_decide_confirms_once() -> None:
    report = manager_report(OPEN, "partial", COMPLETE, StatusProfile.CRM, "m", at(9))
    assert isinstance(report, Report)
    history = [Report("r0", "Open", Category.PENDING, "crm", at(0), at(0))]
    decision = decide(OPEN, history, report, NO_EXPIRY)
    assert [e.type for e in decision.events] == ["order.status_changed", "order.confirmed"]
