"""Refunds take commission back pro rata (CONTRACTS §8); a reassigned sale's commission
moves to the new manager (§14). On the pure domain, through the handlers' steps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from orderflow.shared.envelope import Envelope
from orderflow.shared.vocabulary import Category
from tests.refund_support import refunded
from tests.rewards_support import attributed, lifecycle_story, voided
from tests.unit.rewards_world import World, programme

T0 = datetime(2026, 4, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
# 10 % + 0.50 of 100.00: 10.50 accrued.
SALE = lifecycle_story("aff", "o-1", ["Sale"], T0)


def world(**commission: object) -> World:
    return World(programme("aff", holding_days=10, **commission))


def later(hours: int) -> datetime:
    return T0 + hours * HOUR


def refund(hours: int, amount: str, total: str, full: bool = False, **kw: str) -> Envelope:
    return refunded("aff", "o-1", later(hours), amount, total, full=full, **kw)


def sold(w: World) -> World:
    return w.deliver_all([attributed("aff", "o-1", "m-1", T0), *SALE])


def reversals(w: World) -> list[tuple[str, str]]:
    return [(format(e.amount, "f"), e.reason) for e in w.entries() if e.kind.value == "reversed"]


def test_a_partial_refund_reverses_its_share_of_the_accrual() -> None:
    w = sold(world()).deliver_all([refund(1, "30.00", "30.00")])
    assert w.kinds("o-1") == [("accrued", "10.50"), ("reversed", "-3.15")]
    assert reversals(w) == [("-3.15", "order_partially_refunded")]


def test_the_share_is_rounded_once_half_even() -> None:
    # 10.50 * 1.00 / 100.00 = 0.105: half-even gives 0.10 (half-up would give 0.11).
    w = sold(world()).deliver_all([refund(1, "1.00", "1.00")])
    assert reversals(w) == [("-0.10", "order_partially_refunded")]


def test_a_full_refund_reverses_what_is_left() -> None:
    w = sold(world()).deliver_all(
        [refund(1, "30.00", "30.00"), refund(2, "70.00", "100.00", full=True)]
    )
    assert reversals(w) == [("-3.15", "order_partially_refunded"), ("-7.35", "order_refunded")]
    assert w.net_by_line() == {}


def test_the_reversals_never_exceed_the_accrual() -> None:
    # 0.02 accrued; each third rounds up to 0.01: the third finds nothing left.
    w = sold(world(percent="0", fixed="0.02")).deliver_all(
        [refund(1, "1.00", "1.00", order_amount="3.00"), refund(2, "1.00", "2.00", order_amount="3.00"),
         refund(3, "1.00", "3.00", order_amount="3.00")]
    )  # fmt: skip
    assert reversals(w) == [
        ("-0.01", "order_partially_refunded"),
        ("-0.01", "order_refunded"),
    ]
    assert w.net_by_line() == {}


def test_refunds_known_before_the_accrual_are_applied_when_it_accrues() -> None:
    w = world().deliver_all([*SALE, refund(1, "30.00", "30.00")])
    assert w.entries() == []
    w.deliver(attributed("aff", "o-1", "m-1", T0))
    assert w.kinds("o-1") == [("accrued", "10.50"), ("reversed", "-3.15")]


def test_the_same_refund_delivered_again_reverses_once() -> None:
    again = refund(1, "30.00", "30.00")
    w = sold(world()).deliver_all([again, again])
    assert len(reversals(w)) == 1


def test_a_reversal_after_partial_refunds_reverses_the_rest() -> None:
    chargeback = lifecycle_story("aff", "o-1", ["Sale", "Chargeback"], T0, step=2 * HOUR)
    w = world().deliver_all(
        [attributed("aff", "o-1", "m-1", T0), *chargeback[:2], refund(1, "30.00", "30.00")]
    )
    w.deliver_all(chargeback[2:])
    assert reversals(w) == [("-3.15", "order_partially_refunded"), ("-7.35", "order_chargeback")]


def test_the_refunded_status_of_a_partial_refund_report_is_not_a_whole_reversal() -> None:
    # A report "Refund" with refunded_amount 30.00 at hour 1: its status, its order.reversed
    # and its order.refunded share one upstream time; the refund comes first on the topic.
    story = lifecycle_story("aff", "o-1", ["Sale", "Refund"], T0)
    w = world().deliver_all([attributed("aff", "o-1", "m-1", T0), *story[:2]])
    w.deliver_all([refund(1, "30.00", "30.00"), *story[2:]])
    assert [e.type for e in story[2:]] == ["order.status_changed", "order.reversed"]
    assert reversals(w) == [("-3.15", "order_partially_refunded")]


def test_a_tenant_that_does_not_reverse_on_refunds_keeps_its_commission() -> None:
    w = sold(world(reverse_on=[Category.CHARGEBACK])).deliver_all([refund(1, "30.00", "30.00")])
    assert reversals(w) == []


def test_approval_approves_what_the_refunds_left() -> None:
    w = sold(world()).deliver_all([refund(1, "30.00", "30.00")])
    assert w.fire_timers(T0 + timedelta(days=11)) == 1
    assert w.kinds("o-1")[-1] == ("approved", "7.35")


def test_a_refund_after_approval_is_flagged() -> None:
    w = sold(world())
    w.fire_timers(T0 + timedelta(days=11))
    w.deliver(refund(300, "50.00", "50.00"))
    assert reversals(w) == [("-5.25", "order_partially_refunded_after_approval")]
    assert w.entries()[-1].after_approval


def test_a_reassignment_after_accrual_moves_the_commission_to_the_new_manager() -> None:
    gone = voided("aff", "o-1", "m-1", later(1))
    gone = gone.model_copy(update={"data": {**gone.data, "reason": "reassigned"}})
    w = sold(world()).deliver_all([gone, attributed("aff", "o-1", "m-2", later(1))])
    assert [(e.member_id, e.kind.value, format(e.amount, "f"), e.reason) for e in w.entries()] == [
        ("m-1", "accrued", "10.50", "order_confirmed"),
        ("m-1", "reversed", "-10.50", "sales_manager_reassigned"),
        ("m-2", "accrued", "10.50", "order_confirmed"),
    ]


def test_a_reassignment_after_a_partial_refund_moves_only_what_is_left_and_refunds_apply() -> None:
    gone = voided("aff", "o-1", "m-1", later(2))
    w = sold(world()).deliver_all(
        [refund(1, "30.00", "30.00"), gone, attributed("aff", "o-1", "m-2", later(2))]
    )
    assert [(e.member_id, format(e.amount, "f")) for e in w.entries()] == [
        ("m-1", "10.50"),
        ("m-1", "-3.15"),
        ("m-1", "-7.35"),
        ("m-2", "10.50"),
        ("m-2", "-3.15"),
    ]
