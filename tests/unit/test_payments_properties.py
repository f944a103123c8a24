"""Whatever order payment facts arrive in, the order's payments and money end up the same."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from orderflow.services.status_tracker.payments import PaymentReport, PaymentStatus
from orderflow.services.status_tracker.payments_decisions import Fact, PaymentFacts, record
from orderflow.services.status_tracker.payments_ledger import OrderTerms, ReportRefund
from tests.unit.payment_facts import T0

AMOUNTS = [Decimal(v) for v in ("0.00", "10.00", "33.33", "50.00", "100.00")]


@st.composite
def payment_facts(draw: st.DrawFn) -> list[Fact]:
    """Reports of up to three payments (each with one amount and currency, as upstream sends
    them), and refunds carried by status reports; one report per identity, as ingest keeps."""
    money = {
        pid: (draw(st.sampled_from(AMOUNTS)), draw(st.sampled_from(["EUR", "EUR", "USD"])))
        for pid in ("p1", "p2", "p3")
    }
    specs = draw(
        st.lists(
            st.tuples(
                st.sampled_from(sorted(money)),
                st.sampled_from(list(PaymentStatus)),
                st.integers(0, 3),  # few instants, so occurred_at often collides
                st.none() | st.sampled_from(AMOUNTS),
            ),
            min_size=1,
            max_size=9,
            unique_by=lambda spec: (spec[0], spec[1], spec[2]),
        )
    )
    facts: list[Fact] = [
        PaymentReport(
            report_id=f"{pid}:{status}:{h}",
            payment_id=pid,
            status=status,
            occurred_at=T0 + timedelta(hours=h),
            received_at=T0,
            amount=money[pid][0],
            currency=money[pid][1],
            payment_system=f"psp-{pid}",
            refunded_amount=refunded if status is PaymentStatus.REFUNDED else None,
        )
        for pid, status, h, refunded in specs
    ]
    refunds = draw(
        st.lists(st.tuples(st.integers(0, 3), st.none() | st.sampled_from(AMOUNTS)), max_size=3)
    )
    facts += [
        ReportRefund(f"r{i}", T0 + timedelta(hours=h), amount)
        for i, (h, amount) in enumerate(refunds)
    ]
    return facts


def settled(facts: list[Fact], terms: OrderTerms) -> tuple[object, ...]:
    known = PaymentFacts()
    refunded_in_events = Decimal(0)
    for fact in facts:
        recorded = record(known, terms, fact)
        known = recorded.facts
        refunded_in_events += sum(
            (
                Decimal(str(e.data["refund_amount"]))
                for e in recorded.events
                if e.type == "order.refunded"
            ),
            Decimal(0),
        )
    ledger = known.ledger(terms)
    if terms.currency is not None:
        # The refunds announced one by one add up to the order's refunded total.
        assert refunded_in_events == ledger.refunded_amount
    states = {p.payment_id: (p.state, p.succeeded, p.refunds) for p in ledger.payments}
    return states, ledger.paid_amount, ledger.refunded_amount, ledger.covered_by, ledger.currency


TERMS = st.sampled_from(
    [OrderTerms(), OrderTerms(Decimal("100.00"), "EUR"), OrderTerms(Decimal("60.00"), "USD")]
)


@given(payment_facts(), TERMS, st.randoms(use_true_random=False))
@settings(max_examples=300, deadline=None)
def test_any_arrival_order_gives_the_same_payments_and_paid_amount(
    facts: list[Fact], terms: OrderTerms, random: object
) -> None:
    shuffled = list(facts)
    random.shuffle(shuffled)  # type: ignore[attr-defined]
    assert settled(shuffled, terms) == settled(facts, terms)


@given(payment_facts(), TERMS)
@settings(max_examples=200, deadline=None)
def test_redelivered_facts_change_nothing(facts: list[Fact], terms: OrderTerms) -> None:
    assert settled(facts + facts, terms) == settled(facts, terms)


@given(payment_facts(), TERMS)
@settings(max_examples=200, deadline=None)
def test_money_stays_within_bounds(facts: list[Fact], terms: OrderTerms) -> None:
    known = PaymentFacts()
    for fact in facts:
        known = record(known, terms, fact).facts
    ledger = known.ledger(terms)
    assert ledger.paid_amount >= 0
    assert all(p.refunded <= p.state.amount for p in ledger.payments)
    if terms.amount is not None:
        assert 0 <= ledger.refunded_amount <= terms.amount
