"""Platform payloads -> payment reports (CONTRACTS §8), on the real fixture files of
tests/fixtures (SOURCES.md); Stripe's events are composed from its official envelope and
object fixtures, as in test_webhook_adapters.py."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from orderflow.services.ingest.payments import PaymentReport, PaymentStatus, payment_uuid
from orderflow.services.ingest.reports import ReportRejected
from orderflow.services.ingest.webhooks import shopify, stripe, woocommerce
from orderflow.services.ingest.webhooks.common import Ignored, Mapped, Outcome, Paid
from orderflow.shared.vocabulary import Category

FIXTURES = Path(__file__).parents[1] / "fixtures"
S = PaymentStatus
PI = "pi_1PgafyB7WZ01zgkWSjxsAJo3"
CHARGE = "ch_1PgafuB7WZ01zgkWXYmPNZs8"
SHOPIFY_ORDER_ID = "820982911946154508"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_bytes(), parse_float=Decimal)


def stripe_event(event_type: str, object_file: str, **changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = load("stripe_fixture_event_envelope.json")
    obj = load(f"stripe_fixture_object_{object_file}.json") | changes
    event.update(type=event_type, data={"object": obj})
    return event


def payments(outcome: Outcome) -> tuple[PaymentReport, ...]:
    assert isinstance(outcome, Mapped | Paid), outcome
    return outcome.payments


def summary(payment: PaymentReport) -> tuple[str, str, S, str, str | None]:
    refunded = None if payment.refunded_amount is None else str(payment.refunded_amount)
    return payment.order_id, payment.payment_id, payment.status, str(payment.amount), refunded


# --- Stripe ---


@pytest.mark.parametrize(
    ("event_type", "obj", "status", "order_and_payment", "amount"),
    [
        ("charge.succeeded", "charge", S.SUCCEEDED, CHARGE, "1.00"),
        ("charge.failed", "charge", S.FAILED, CHARGE, "1.00"),
        ("charge.refunded", "charge", S.REFUNDED, CHARGE, "1.00"),
        ("payment_intent.succeeded", "payment_intent", S.SUCCEEDED, PI, "10.99"),
        ("payment_intent.payment_failed", "payment_intent", S.FAILED, PI, "10.99"),
        ("payment_intent.processing", "payment_intent", S.PROCESSING, PI, "10.99"),
    ],
)
def test_stripe_money_events_report_one_payment_of_the_same_order(
    event_type: str, obj: str, status: S, order_and_payment: str, amount: str
) -> None:
    [payment] = payments(stripe.adapt("acme", stripe_event(event_type, obj)))
    assert summary(payment) == (order_and_payment, order_and_payment, status, amount, None)
    assert (payment.currency, payment.payment_system, payment.tenant) == ("USD", "stripe", "acme")
    assert payment.occurred_at.isoformat() == "2009-02-13T23:31:30+00:00"  # the event's time


@pytest.mark.parametrize(
    ("event_type", "obj"),
    [
        ("payment_intent.canceled", "payment_intent"),
        ("checkout.session.completed", "checkout_session"),
        ("charge.dispute.created", "dispute"),
        ("invoice.paid", "invoice"),
    ],
)
def test_stripe_events_that_move_no_money_of_their_own_report_no_payment(
    event_type: str, obj: str
) -> None:
    assert payments(stripe.adapt("acme", stripe_event(event_type, obj))) == ()


def test_a_charge_and_its_payment_intent_are_one_payment() -> None:
    [by_charge] = payments(
        stripe.adapt("acme", stripe_event("charge.succeeded", "charge", payment_intent=PI))
    )
    [by_intent] = payments(
        stripe.adapt("acme", stripe_event("payment_intent.succeeded", "payment_intent"))
    )
    assert by_charge.payment_id == by_intent.payment_id == by_charge.order_id == PI


def test_stripe_partial_refund_names_this_refund_and_keeps_the_order_confirmed() -> None:
    event = stripe_event("charge.refunded", "charge", amount=10000, amount_refunded=3000)
    first = stripe.adapt("acme", event)
    event["data"]["previous_attributes"] = {"amount_refunded": 1000}
    second = stripe.adapt("acme", event)
    assert isinstance(first, Mapped) and first.category is Category.CONFIRMED
    assert summary(first.payments[0])[2:] == (S.REFUNDED, "100.00", "30.00"), "the first refund"
    assert summary(payments(second)[0])[2:] == (S.REFUNDED, "100.00", "20.00"), "30 - 10 before"


def test_stripe_full_refund_is_what_was_left_and_refunds_the_order() -> None:
    event = stripe_event("charge.refunded", "charge", amount=10000, amount_refunded=10000)
    event["data"]["previous_attributes"] = {"amount_refunded": 3000}
    result = stripe.adapt("acme", event)
    assert isinstance(result, Mapped) and result.category is Category.REFUNDED
    assert result.payments[0].refunded_amount is None, "default: what was left (§8)"


def test_stripe_failed_charge_carries_its_error_code() -> None:
    event = stripe_event("charge.failed", "charge", failure_code="card_declined")
    [payment] = payments(stripe.adapt("acme", event))
    assert payment.error_code == "card_declined"


def test_stripe_partial_capture_reports_the_amount_received() -> None:
    event = stripe_event("payment_intent.succeeded", "payment_intent", amount_received=500)
    assert payments(stripe.adapt("acme", event))[0].amount == Decimal("5.00")


# --- Shopify ---


def test_shopify_refund_sample_is_a_refund_payment_per_refund_transaction() -> None:
    result = shopify.adapt("acme", load("shopify_refunds_create.json"), "refunds/create", "wh-1")
    assert isinstance(result, Paid)
    assert [summary(p) for p in result.payments] == [
        (SHOPIFY_ORDER_ID, "#9999.", S.REFUNDED, "75.00", "75.00"),
        (SHOPIFY_ORDER_ID, "#9999.", S.REFUNDED, "10.00", "10.00"),
    ]
    # The transactions leave `currency` out; the refund's own shop money names it.
    assert {(p.currency, p.payment_system) for p in result.payments} == {("USD", "bogus")}
    assert [p.occurred_at.isoformat() for p in result.payments] == [
        "2019-12-31T19:00:00-05:00",
        "2020-01-01T19:00:00-05:00",
    ]


def test_shopify_refund_is_the_same_report_whatever_delivery_or_topic_brought_it() -> None:
    body = load("shopify_refunds_create.json")
    by_refund = payments(shopify.adapt("acme", body, "refunds/create", "wh-1", "ev-1"))
    again = payments(shopify.adapt("acme", dict(body, note=None), None, "wh-2", "ev-2"))
    # That topic's body is the transaction alone, which then names its currency.
    tx = body["transactions"][0] | {"currency": "USD"}
    [by_transaction] = payments(shopify.adapt("acme", tx, "order_transactions/create", "wh-3"))
    assert [payment_uuid(p) for p in by_refund] == [payment_uuid(p) for p in again]
    assert payment_uuid(by_transaction) == payment_uuid(by_refund[0])


@pytest.mark.parametrize(
    ("kind", "tx_status", "status"),
    [
        ("sale", "success", S.SUCCEEDED),
        ("capture", "success", S.SUCCEEDED),
        ("sale", "pending", S.PENDING),
        ("sale", "failure", S.FAILED),
        ("sale", "error", S.FAILED),
    ],
)
def test_shopify_transactions_that_take_money_are_payments(
    kind: str, tx_status: str, status: S
) -> None:
    tx = load("shopify_refunds_create.json")["transactions"][0]
    tx |= {"kind": kind, "status": tx_status, "currency": "EUR", "error_code": "card_declined"}
    [payment] = payments(shopify.adapt("acme", tx, "order_transactions/create", "wh-1"))
    assert summary(payment) == (SHOPIFY_ORDER_ID, "#9999.", status, "75.00", None)
    assert payment.error_code == ("card_declined" if status is S.FAILED else None)


@pytest.mark.parametrize(
    ("kind", "tx_status"),
    [("authorization", "success"), ("void", "success"), ("refund", "failure")],
)
def test_shopify_transactions_that_move_no_money_are_ignored(kind: str, tx_status: str) -> None:
    tx = load("shopify_refunds_create.json")["transactions"][0] | {
        "kind": kind,
        "status": tx_status,
    }
    assert isinstance(shopify.adapt("acme", tx, "order_transactions/create", "wh-1"), Ignored)


def test_shopify_transaction_without_a_currency_anywhere_names_the_field() -> None:
    tx = load("shopify_refunds_create.json")["transactions"][0] | {"kind": "sale"}
    with pytest.raises(ReportRejected) as raised:
        shopify.adapt("acme", tx, "order_transactions/create", "wh-1")
    assert [e.path for e in raised.value.errors] == ["payment.currency"]


# --- WooCommerce ---


def test_woocommerce_paid_order_reports_its_payment_dated_when_paid() -> None:
    for name in ("woocommerce_order_created.json", "woocommerce_order_updated.json"):
        [payment] = payments(woocommerce.adapt("acme", load(name), "order", "updated"))
        assert summary(payment) == ("727", "727", S.SUCCEEDED, "29.35", None)
        assert (payment.currency, payment.payment_system) == ("USD", "bacs")
        assert payment.occurred_at.isoformat() == "2017-03-22T19:28:08+00:00"


def test_woocommerce_refunds_are_a_report_each_and_the_same_at_every_delivery() -> None:
    body = load("woocommerce_order_updated.json")
    body["refunds"] = [{"id": 731, "reason": "", "total": "-5.35"}]
    first = payments(woocommerce.adapt("acme", body, "order", "updated"))
    body |= {"date_modified_gmt": "2017-03-23T10:00:00"}
    body["refunds"].insert(0, {"id": 732, "reason": "", "total": "-10.00"})
    later = payments(woocommerce.adapt("acme", body, "order", "updated"))
    assert [summary(p) for p in later] == [
        ("727", "727", S.SUCCEEDED, "29.35", None),
        ("727", "727:refund:732", S.REFUNDED, "10.00", "10.00"),
        ("727", "727:refund:731", S.REFUNDED, "5.35", "5.35"),
    ]
    assert {payment_uuid(p) for p in first} < {payment_uuid(p) for p in later}, "no repeats"


def test_woocommerce_unpaid_order_reports_no_payment() -> None:
    body = load("woocommerce_order_created.json") | {"date_paid_gmt": None, "status": "pending"}
    assert payments(woocommerce.adapt("acme", body, "order", "created")) == ()
