"""The status-tracker's decisions: which lifecycle events a report causes, and the expiry timer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from orderflow.services.status_tracker.domain import (
    NO_EXPIRY,
    Cancel,
    Decision,
    ExpiryRule,
    HistoryEntry,
    Keep,
    OrderItem,
    OrderState,
    OrderSummary,
    Report,
    Schedule,
    decide,
    expire,
)
from orderflow.shared.vocabulary import Category as C

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def report(
    report_id: str,
    status: str,
    category: C | None,
    hours: float,
    summary: OrderSummary | None = None,
) -> Report:
    return Report(report_id, status, category, "api", at(hours), at(100), summary)


class Order:
    """What the handler keeps between messages: the state and the history."""

    def __init__(self, rule: ExpiryRule = NO_EXPIRY) -> None:
        self.rule = rule
        self.state: OrderState | None = None
        self.history: list[HistoryEntry] = []

    def receive(self, *reports: Report) -> Decision:
        """Each report in turn; the decision on the last one."""
        decisions = [self._keep(decide(self.state, self.history, r, self.rule)) for r in reports]
        return decisions[-1]

    def fire(self, due_at: datetime) -> Decision:
        assert self.state is not None
        return self._keep(expire(self.state, self.history, due_at, at(1000), self.rule))

    def _keep(self, decision: Decision) -> Decision:
        self.state = decision.state
        if decision.new_entry is not None:
            self.history.append(decision.new_entry)
        return decision

    @property
    def now(self) -> OrderState:
        assert self.state is not None
        return self.state


def types(decision: Decision) -> list[str]:
    return [event.type for event in decision.events]


def letters(decision: Decision) -> str:
    short = {"order.status_changed": "S", "order.confirmed": "C", "order.reversed": "R"}
    return "".join(short[t] for t in types(decision)) or "-"


# S = order.status_changed, C = order.confirmed, R = order.reversed, "?" = a status the
# profile does not know. Row: the category the order is in; column: the next report's.
NEXT = [C.PENDING, C.CONFIRMED, C.FULFILLED, C.CANCELLED, C.REFUNDED, C.CHARGEBACK, C.EXPIRED, None]
NEVER_OK_TABLE = """
              pending confirmed fulfilled cancelled refunded chargeback expired ?
pending       S       SC        S         S         S        S          S       S
confirmed     S       S         S         S         SR       SR         S       S
fulfilled     S       SC        S         S         S        S          S       S
cancelled     S       SC        S         S         S        S          S       S
declined      S       SC        S         S         S        S          S       S
expired       S       SC        S         S         S        S          S       S
refunded      S       SC        S         S         S        S          S       S
chargeback    S       SC        S         S         S        S          S       S
suppressed    S       SC        S         S         S        S          S       S
duplicate     S       SC        S         S         S        S          S       S
"""
# The same, for an order that was OK before it reached the row's category.
HAS_OK_TABLE = """
              pending confirmed fulfilled cancelled refunded chargeback expired ?
pending       S       S         S         S         SR       SR         S       S
confirmed     S       S         S         S         SR       SR         S       S
fulfilled     S       S         S         S         SR       SR         S       S
cancelled     S       S         S         S         SR       SR         S       S
declined      S       S         S         S         SR       SR         S       S
expired       S       S         S         S         SR       SR         S       S
refunded      S       S         S         S         S        S          S       S
chargeback    S       S         S         S         S        S          S       S
suppressed    S       S         S         S         SR       SR         S       S
duplicate     S       S         S         S         SR       SR         S       S
"""


def cells(table: str) -> list[tuple[C, C | None, str]]:
    rows = [line.split() for line in table.strip().splitlines()[1:]]
    return [(C(row[0]), nxt, cell) for row in rows for nxt, cell in zip(NEXT, row[1:], strict=True)]


@pytest.mark.parametrize(("previous", "nxt", "expected"), cells(NEVER_OK_TABLE))
def test_transition_of_a_never_ok_order(previous: C, nxt: C | None, expected: str) -> None:
    order = Order()
    order.receive(report("r1", "Before", previous, 1))
    assert letters(order.receive(report("r2", "After", nxt, 2))) == expected


@pytest.mark.parametrize(("previous", "nxt", "expected"), cells(HAS_OK_TABLE))
def test_transition_of_a_has_ok_order(previous: C, nxt: C | None, expected: str) -> None:
    order = Order()
    order.receive(report("r0", "OK", C.CONFIRMED, 0), report("r1", "Before", previous, 1))
    assert letters(order.receive(report("r2", "After", nxt, 2))) == expected


def test_loyalty_order_confirmed_then_cancelled_is_confirmed_once_and_not_reversed() -> None:
    order = Order()
    steps = [
        order.receive(report("r1", "Pending", C.PENDING, 1)),
        order.receive(report("r2", "OK", C.CONFIRMED, 2)),
        order.receive(report("r3", "Cancelled", C.CANCELLED, 3)),
    ]
    assert [letters(d) for d in steps] == ["S", "SC", "S"]
    assert (order.now.status, order.now.category, order.now.has_ok) == (
        "Cancelled",
        C.CANCELLED,
        True,
    )


def test_order_cancelled_straight_away_is_never_ok() -> None:
    order = Order()
    decision = order.receive(report("r1", "Cancelled", C.CANCELLED, 1))
    assert letters(decision) == "S"
    assert not order.now.has_ok
    assert not order.now.confirmed_emitted


def test_affiliate_sale_then_refund_is_confirmed_then_reversed() -> None:
    order = Order()
    steps = [
        order.receive(report("r1", "Pixel Tracked", C.PENDING, 1)),
        order.receive(report("r2", "Processing", C.PENDING, 2)),
        order.receive(report("r3", "Sale", C.CONFIRMED, 3)),
        order.receive(report("r4", "Refund", C.REFUNDED, 4)),
    ]
    assert [letters(d) for d in steps] == ["S", "S", "SC", "SR"]
    assert steps[2].events[1].occurred_at == at(3)
    assert steps[3].events[1].occurred_at == at(4)
    assert steps[3].events[1].data["status"] == "Refund"


def test_late_ok_after_a_later_cancel_confirms_without_changing_status() -> None:
    order = Order()
    order.receive(report("r2", "Cancelled", C.CANCELLED, 2))
    late = order.receive(report("r1", "OK", C.CONFIRMED, 1))
    assert types(late) == ["order.confirmed"]
    assert late.events[0].occurred_at == at(1)
    assert (order.now.status, order.now.has_ok) == ("Cancelled", True)


def test_late_ok_before_a_refund_confirms_and_reverses() -> None:
    order = Order()
    order.receive(report("r2", "Refund", C.REFUNDED, 2))
    assert letters(order.receive(report("r1", "Sale", C.CONFIRMED, 1))) == "CR"


def test_refund_arriving_after_a_later_status_still_reverses() -> None:
    order = Order()
    order.receive(report("r1", "Sale", C.CONFIRMED, 1), report("r3", "Sent", C.FULFILLED, 3))
    late_refund = order.receive(report("r2", "Refund", C.REFUNDED, 2))
    assert types(late_refund) == ["order.reversed"]
    assert order.now.status == "Sent"


def test_refund_that_happened_before_the_ok_is_not_a_reversal() -> None:
    order = Order()
    order.receive(report("r2", "Sale", C.CONFIRMED, 2))
    assert letters(order.receive(report("r1", "Refund", C.REFUNDED, 1))) == "-"
    assert not order.now.reversed_emitted


def test_second_refund_does_not_reverse_again() -> None:
    order = Order()
    order.receive(report("r1", "Sale", C.CONFIRMED, 1), report("r2", "Refund", C.REFUNDED, 2))
    order.receive(report("r3", "Sale", C.CONFIRMED, 3))
    assert letters(order.receive(report("r4", "Chargeback", C.CHARGEBACK, 4))) == "S"


def test_duplicate_report_has_no_effect() -> None:
    order = Order()
    first = order.receive(report("r1", "Pending", C.PENDING, 1))
    again = order.receive(report("r1", "Pending", C.PENDING, 1))
    assert again == Decision(first.state, None, (), Keep())
    assert len(order.history) == 1


def test_report_already_in_history_without_state_is_refused() -> None:
    with pytest.raises(ValueError, match="no state"):
        decide(None, [report("r1", "Pending", C.PENDING, 1)], report("r1", "Pending", C.PENDING, 1))


def test_older_report_that_does_not_become_current_changes_nothing_visible() -> None:
    order = Order()
    order.receive(report("r2", "Sent", C.FULFILLED, 2))
    assert letters(order.receive(report("r1", "Pending", C.PENDING, 1))) == "-"
    assert order.now.current_report_id == "r2"


def test_same_status_reported_again_later_emits_nothing() -> None:
    order = Order()
    order.receive(report("r1", "Pending", C.PENDING, 1))
    assert letters(order.receive(report("r2", "Pending", C.PENDING, 2))) == "-"
    assert order.now.current_report_id == "r2"


def test_occurred_at_tie_is_broken_by_report_id() -> None:
    order = Order()
    order.receive(report("b", "Sent", C.FULFILLED, 1))
    order.receive(report("a", "Cancelled", C.CANCELLED, 1))
    assert order.now.status == "Sent"


def test_unknown_status_of_a_never_ok_order_is_pending() -> None:
    order = Order()
    order.receive(report("r1", "Cancelled", C.CANCELLED, 1))
    decision = order.receive(report("r2", "Mystery", None, 2))
    assert (order.now.status, order.now.category) == ("Mystery", C.PENDING)
    assert decision.events[0].data["category"] == "pending"


def test_unknown_status_after_ok_keeps_the_category() -> None:
    order = Order()
    order.receive(report("r1", "OK", C.CONFIRMED, 1), report("r2", "Sent", C.FULFILLED, 2))
    order.receive(report("r3", "Mystery", None, 3))
    assert (order.now.status, order.now.category) == ("Mystery", C.FULFILLED)


def test_late_ok_reinterprets_a_later_unknown_status() -> None:
    order = Order()
    first = order.receive(report("r2", "Mystery", None, 2))
    late = order.receive(report("r1", "OK", C.CONFIRMED, 1))
    assert letters(late) == "SC"
    changed = late.events[0].data
    assert (changed["status"], changed["category"]) == ("Mystery", "confirmed")
    assert (changed["previous_status"], changed["previous_category"]) == ("Mystery", "pending")
    assert late.events[0].discriminator != first.events[0].discriminator


def test_status_changed_carries_previous_status_and_summary() -> None:
    item = OrderItem("sku-1", 2, Decimal("5.00"), name="Mug")
    summary = OrderSummary(Decimal("10.00"), "EUR", "c-1", "offer-9", (item,))
    order = Order()
    first = order.receive(report("r1", "Pending", C.PENDING, 1, summary))
    second = order.receive(report("r2", "OK", C.CONFIRMED, 2))
    assert first.events[0].data["previous_status"] is None
    assert first.events[0].data["previous_category"] is None
    assert second.events[0].data == {
        "status": "OK",
        "category": "confirmed",
        "previous_status": "Pending",
        "previous_category": "pending",
        "has_ok": True,
        "amount": "10.00",
        "currency": "EUR",
        "customer_id": "c-1",
        "offer_id": "offer-9",
        "items": [
            {
                "sku": "sku-1",
                "name": "Mug",
                "quantity": 2,
                "unit_price": "5.00",
                "category": None,
                "offer_id": None,
            }
        ],
    }


def test_summary_is_the_earliest_filled_from_later_whatever_the_arrival_order() -> None:
    early = OrderSummary(amount=Decimal("10.00"), currency="EUR")
    later = OrderSummary(Decimal("99.00"), "USD", customer_id="c-1", offer_id="offer-9")
    r1 = report("r1", "Pending", C.PENDING, 1, early)
    r2 = report("r2", "OK", C.CONFIRMED, 2, later)
    in_order, reversed_order = Order(), Order()
    in_order.receive(r1, r2)
    reversed_order.receive(r2, r1)
    expected = OrderSummary(Decimal("10.00"), "EUR", "c-1", "offer-9", ())
    assert in_order.now.summary == reversed_order.now.summary == expected


def test_report_with_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        Report("r1", "Pending", C.PENDING, "api", datetime(2024, 5, 1), T0)


def pending_payment(status: str) -> bool:
    return status == "Pending payment"


STORE = ExpiryRule(pending_payment, WEEK)


def test_pending_payment_schedules_the_expiry() -> None:
    order = Order(STORE)
    decision = order.receive(report("r1", "Pending payment", C.PENDING, 1))
    assert decision.timer == Schedule(at(1) + WEEK)
    assert order.now.expiry_due_at == at(1) + WEEK


def test_no_expiry_without_a_tenant_deadline() -> None:
    order = Order(ExpiryRule(pending_payment, None))
    assert order.receive(report("r1", "Pending payment", C.PENDING, 1)).timer == Keep()
    assert order.now.expiry_due_at is None


def test_plain_pending_does_not_start_the_expiry_and_a_later_one_stops_it() -> None:
    # CONTRACTS §2 store correction: only a current status of Pending payment runs the timer.
    order = Order(STORE)
    assert order.receive(report("r1", "Received", C.PENDING, 1)).timer == Keep()
    order.receive(report("r2", "Pending payment", C.PENDING, 2))
    assert order.receive(report("r3", "Received", C.PENDING, 3)).timer == Cancel()
    assert order.now.expiry_due_at is None


def test_new_pending_payment_restarts_the_expiry() -> None:
    order = Order(STORE)
    order.receive(report("r1", "Pending payment", C.PENDING, 1))
    decision = order.receive(report("r2", "Pending payment", C.PENDING, 5))
    assert decision.timer == Schedule(at(5) + WEEK)


@pytest.mark.parametrize(
    ("status", "category"), [("Accepted", C.CONFIRMED), ("Canceled", C.CANCELLED)]
)
def test_confirmation_or_leaving_pending_cancels_the_expiry(status: str, category: C) -> None:
    order = Order(STORE)
    order.receive(report("r1", "Pending payment", C.PENDING, 1))
    assert order.receive(report("r2", status, category, 2)).timer == Cancel()
    assert order.now.expiry_due_at is None


def test_late_ok_cancels_the_expiry() -> None:
    order = Order(STORE)
    order.receive(report("r2", "Pending payment", C.PENDING, 2))
    assert order.receive(report("r1", "Accepted", C.CONFIRMED, 1)).timer == Cancel()


def test_expiry_fires_on_a_still_pending_order() -> None:
    order = Order(STORE)
    order.receive(report("r1", "Pending payment", C.PENDING, 1))
    due = at(1) + WEEK
    decision = order.fire(due)
    assert types(decision) == ["order.status_changed", "order.expired"]
    assert [e.occurred_at for e in decision.events] == [due, due]
    assert decision.events[0].data["previous_status"] == "Pending payment"
    entry = decision.new_entry
    assert entry is not None
    assert (entry.status, entry.category, entry.source) == ("Expired", C.EXPIRED, "orderflow")
    assert (entry.occurred_at, entry.report_id) == (due, f"expiry:{due.isoformat()}")
    assert (order.now.status, order.now.category) == ("Expired", C.EXPIRED)
    assert decision.timer == Cancel()


def test_pending_status_after_the_deadline_leaves_nothing_to_expire() -> None:
    order = Order(STORE)
    order.receive(report("r1", "Pending payment", C.PENDING, 1))
    past_deadline = order.receive(report("r2", "Received", C.PENDING, 1 + 24 * 8))
    assert past_deadline.timer == Cancel()
    assert order.fire(at(1) + WEEK).events == ()


def test_expiry_id_does_not_depend_on_the_offset_of_the_due_time() -> None:
    order = Order(STORE)
    order.receive(report("r1", "Pending payment", C.PENDING, 1))
    due_elsewhere = (at(1) + WEEK).astimezone(timezone(timedelta(hours=2)))
    entry = order.fire(due_elsewhere).new_entry
    assert entry is not None
    assert entry.report_id == f"expiry:{(at(1) + WEEK).isoformat()}"


def test_expiry_that_fires_again_does_nothing() -> None:
    order = Order(STORE)
    order.receive(report("r1", "Pending payment", C.PENDING, 1))
    order.fire(at(1) + WEEK)
    expired = order.now
    assert order.fire(at(1) + WEEK) == Decision(expired, None, (), Keep())


def test_expiry_after_confirmation_does_nothing() -> None:
    order = Order(STORE)
    order.receive(report("r1", "Pending payment", C.PENDING, 1))
    order.receive(report("r2", "Accepted", C.CONFIRMED, 2))
    confirmed = order.now
    assert order.fire(at(1) + WEEK) == Decision(confirmed, None, (), Keep())


def test_stale_expiry_of_a_restarted_deadline_does_nothing() -> None:
    order = Order(STORE)
    order.receive(report("r1", "Pending payment", C.PENDING, 1))
    order.receive(report("r2", "Pending payment", C.PENDING, 5))
    assert order.fire(at(1) + WEEK).events == ()
    assert order.now.category is C.PENDING


def test_ok_that_happened_before_the_deadline_confirms_an_expired_order() -> None:
    order = Order(STORE)
    order.receive(report("r1", "Pending payment", C.PENDING, 1))
    order.fire(at(1) + WEEK)
    late = order.receive(report("r2", "Accepted", C.CONFIRMED, 2))
    assert types(late) == ["order.confirmed"]
    assert (order.now.status, order.now.has_ok) == ("Expired", True)
