"""Platform payloads -> (report, category), on the real fixture files of tests/fixtures (copied from their sources, see SOURCES.md)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from orderflow.services.ingest.reports import ReportRejected, report_uuid
from orderflow.services.ingest.webhooks import shopify, stripe, woocommerce
from orderflow.services.ingest.webhooks.common import Ignored, Mapped, Outcome
from orderflow.shared.vocabulary import Category

FIXTURES = Path(__file__).parents[1] / "fixtures"
SHOPIFY_ORDER_FILES = [
    ("shopify_orders_create.json", "orders/create"),
    ("shopify_orders_paid.json", "orders/paid"),
    ("shopify_orders_updated.json", "orders/updated"),
    ("shopify_orders_cancelled.json", "orders/cancelled"),
]
SHOPIFY_ORDER_ID = "820982911946154508"  # > 2^53: a double would change its last digits
WEBHOOK_ID = "545ebdd4-b7be-4d3d-b14e-54aa78e0e0f9"


def load(name: str) -> Any:
    # As the route decodes a body: floats become Decimal, integers stay exact.
    return json.loads((FIXTURES / name).read_bytes(), parse_float=Decimal)


def mapped(outcome: Outcome) -> Mapped:
    assert isinstance(outcome, Mapped), outcome
    return outcome


def rejected_paths(call: Any) -> list[str]:
    with pytest.raises(ReportRejected) as caught:
        call()
    return [e.path for e in caught.value.errors]


# --- Shopify ---


def shopify_order(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = load("shopify_orders_paid.json")
    body.update(changes)
    return body


@pytest.mark.parametrize(("name", "topic"), SHOPIFY_ORDER_FILES)
def test_shopify_order_samples_map_to_a_cancelled_report(name: str, topic: str) -> None:
    # Shopify publishes one sample for every order topic: voided and cancelled.
    result = mapped(shopify.adapt("acme", load(name), topic, WEBHOOK_ID))
    report = result.report
    assert (report.status, result.category) == ("cancelled", Category.CANCELLED)
    assert report.order_id == SHOPIFY_ORDER_ID
    assert report.occurred_at == datetime.fromisoformat("2021-12-31T19:00:00-05:00")
    assert report.occurred_at.utcoffset() is not None
    assert (report.amount, report.currency) == (Decimal("404.95"), "USD")
    assert (report.source, report.report_id, report.tenant) == ("shopify", WEBHOOK_ID, "acme")
    assert report.customer is not None and report.customer.id == "115310627314723954"
    assert (report.customer.email, report.customer.name) == ("john@example.com", "John Smith")
    assert report.items is not None
    assert [(i.sku, i.quantity, i.unit_price) for i in report.items] == [
        ("SKU2006-001", 1, Decimal("89.99")),
        ("LENS-PROTECT-2YR", 1, Decimal("19.99")),
        ("CASE-LEATHER-PREM", 1, Decimal("24.99")),
        ("SKU2006-020", 1, Decimal("159.99")),
        ("SKU2006-035", 1, Decimal("119.99")),
    ]


@pytest.mark.parametrize(
    ("financial_status", "category"),
    [
        ("pending", Category.PENDING),
        ("authorized", Category.PENDING),
        ("partially_paid", Category.PENDING),
        ("paid", Category.CONFIRMED),
        ("partially_refunded", Category.CONFIRMED),  # the refund is a payment report
        ("refunded", Category.REFUNDED),
        ("voided", Category.CANCELLED),
        ("expired", Category.EXPIRED),
    ],
)
def test_shopify_financial_status_is_the_status_and_decides_the_category(
    financial_status: str, category: Category
) -> None:
    body = shopify_order(financial_status=financial_status, cancelled_at=None)
    result = mapped(shopify.adapt("acme", body, "orders/updated", WEBHOOK_ID))
    assert (result.report.status, result.category) == (financial_status, category)
    assert result.report.occurred_at == datetime.fromisoformat(body["updated_at"])


@pytest.mark.parametrize(
    ("financial_status", "category"),
    [("refunded", Category.REFUNDED), ("partially_refunded", Category.CONFIRMED)],
)
def test_shopify_cancelled_order_that_was_refunded_reports_the_refund(
    financial_status: str, category: Category
) -> None:
    body = shopify_order(financial_status=financial_status)
    result = mapped(shopify.adapt("acme", body, "orders/cancelled", WEBHOOK_ID))
    assert (result.report.status, result.category) == (financial_status, category)


def test_shopify_unknown_financial_status_is_kept_and_left_unmapped() -> None:
    body = shopify_order(financial_status="Something New", cancelled_at=None)
    result = mapped(shopify.adapt("acme", body, "orders/updated", WEBHOOK_ID))
    assert (result.report.status, result.category) == ("Something New", None)


def test_shopify_order_without_delivery_id_falls_back_to_the_contracts_identity() -> None:
    result = mapped(shopify.adapt("acme", shopify_order(), None, None))
    assert result.report.report_id is None
    assert result.report.status == "cancelled"


EVENT_ID = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"


def older_api_shape(body: dict[str, Any]) -> dict[str, Any]:
    """The same order as another subscription's API version writes it: fields renamed,
    dropped and added, an id as a string."""
    body = {k: v for k, v in body.items() if k not in ("customer", "line_items", "name")}
    body["id"] = str(body["id"])
    body["total_price_set"] = {
        "shop_money": {"amount": body["total_price"], "currency_code": "USD"}
    }
    return body


def test_shopify_redelivery_with_another_shape_is_the_same_report_by_its_event_id() -> None:
    first = mapped(shopify.adapt("acme", shopify_order(), "orders/paid", WEBHOOK_ID, EVENT_ID))
    again = mapped(
        shopify.adapt("acme", older_api_shape(shopify_order()), "orders/paid", "wh-other", EVENT_ID)
    )
    assert first.report != again.report, "the two bodies differ"
    assert first.report.report_id == again.report.report_id
    assert report_uuid(first.report) == report_uuid(again.report)  # the stored primary key


def test_shopify_other_events_and_other_topics_of_one_event_stay_reports_of_their_own() -> None:
    body = shopify_order()
    ids = {
        report_uuid(mapped(shopify.adapt("acme", body, topic, WEBHOOK_ID, event)).report)
        for topic, event in [
            ("orders/paid", EVENT_ID),
            ("orders/paid", "another-event"),
            ("orders/updated", EVENT_ID),
        ]
    }
    assert len(ids) == 3


def test_shopify_without_an_event_id_is_named_by_its_webhook_id_as_before() -> None:
    for event in (None, "", "  "):
        result = mapped(shopify.adapt("acme", shopify_order(), "orders/paid", WEBHOOK_ID, event))
        assert result.report.report_id == WEBHOOK_ID


def test_shopify_line_without_sku_is_named_by_its_exact_product_id() -> None:
    body = shopify_order()
    body["line_items"][0]["sku"] = None
    result = mapped(shopify.adapt("acme", body, "orders/paid", WEBHOOK_ID))
    assert result.report.items is not None
    assert result.report.items[0].sku == "788032119674292922"


def test_shopify_refund_that_paid_nothing_back_is_ignored() -> None:
    body = load("shopify_refunds_create.json")
    for tx in body["transactions"]:
        tx["status"] = "failure"
    assert isinstance(shopify.adapt("acme", body, "refunds/create", WEBHOOK_ID), Ignored)


@pytest.mark.parametrize("topic", ["products/update", "orders/edited", "orders/delete"])
def test_shopify_topics_without_an_order_status_are_ignored(topic: str) -> None:
    outcome = shopify.adapt("acme", shopify_order(), topic, WEBHOOK_ID)
    assert isinstance(outcome, Ignored) and topic in outcome.reason


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"financial_status": None, "cancelled_at": None}, "financial_status"),
        ({"id": None}, "id"),
        ({"total_price": "a lot"}, "total_price"),
        ({"updated_at": None, "created_at": None, "cancelled_at": None}, "created_at"),
    ],
)
def test_shopify_order_that_cannot_be_mapped_names_the_field(
    changes: dict[str, Any], path: str
) -> None:
    body = shopify_order(**changes)
    assert rejected_paths(lambda: shopify.adapt("acme", body, "orders/paid", WEBHOOK_ID)) == [path]


def test_shopify_bad_line_item_names_its_index() -> None:
    body = shopify_order()
    body["line_items"][3]["price"] = "free"
    paths = rejected_paths(lambda: shopify.adapt("acme", body, "orders/paid", WEBHOOK_ID))
    assert paths == ["line_items[3].price"]


def test_mapped_report_keeps_personal_data_out_of_its_repr() -> None:
    result = shopify.adapt("acme", shopify_order(), "orders/paid", WEBHOOK_ID)
    assert "john@example.com" not in repr(result) and "John Smith" not in repr(result)


# --- Stripe ---
# Stripe publishes no sample per event type (SOURCES.md §2): only its official `event`
# envelope (a plan.created) and one official fixture per resource. So each event below is
# composed: the envelope fixture with `type` set and an object fixture as `data.object`.
# The objects' states do not match the event types (the charge is not refunded); the
# adapter decides from the type, which is what these tests exercise.


def stripe_event(event_type: str, object_file: str, **object_changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = load("stripe_fixture_event_envelope.json")
    obj = load(f"stripe_fixture_object_{object_file}.json")
    obj.update(object_changes)
    event.update(type=event_type, data={"object": obj})
    return event


PI = "pi_1PgafyB7WZ01zgkWSjxsAJo3"
CHARGE = "ch_1PgafuB7WZ01zgkWXYmPNZs8"
INVOICE = "in_1Pgc6tB7WZ01zgkWu9fdqL6I"


@pytest.mark.parametrize(
    ("event_type", "object_file", "order_id", "category", "amount"),
    [
        ("checkout.session.completed", "checkout_session", PI, Category.PENDING, None),
        ("payment_intent.succeeded", "payment_intent", PI, Category.CONFIRMED, "10.99"),
        ("payment_intent.payment_failed", "payment_intent", PI, Category.DECLINED, "10.99"),
        ("payment_intent.canceled", "payment_intent", PI, Category.CANCELLED, "10.99"),
        ("charge.succeeded", "charge", CHARGE, Category.CONFIRMED, "1.00"),
        ("charge.refunded", "charge", CHARGE, Category.REFUNDED, "1.00"),
        ("charge.dispute.created", "dispute", CHARGE, Category.CHARGEBACK, None),
        ("invoice.paid", "invoice", INVOICE, Category.CONFIRMED, "10.00"),
        ("invoice.payment_failed", "invoice", INVOICE, Category.DECLINED, "10.00"),
    ],
)
def test_stripe_event_type_is_the_status_and_decides_the_category(
    event_type: str, object_file: str, order_id: str, category: Category, amount: str | None
) -> None:
    result = mapped(stripe.adapt("acme", stripe_event(event_type, object_file)))
    report = result.report
    assert (report.status, result.category, report.order_id) == (event_type, category, order_id)
    assert report.report_id == "evt_1Pgc76B7WZ01zgkWwyRHS12y"
    assert report.occurred_at == datetime.fromisoformat("2009-02-13T23:31:30+00:00")
    assert report.amount == (None if amount is None else Decimal(amount))
    assert report.currency == (None if amount is None else "USD")
    assert report.source == "stripe"


def test_stripe_session_and_its_payment_intent_are_one_order() -> None:
    session = mapped(
        stripe.adapt("acme", stripe_event("checkout.session.completed", "checkout_session"))
    )
    intent = mapped(
        stripe.adapt("acme", stripe_event("payment_intent.succeeded", "payment_intent"))
    )
    assert session.report.order_id == intent.report.order_id == PI


def test_stripe_paid_checkout_is_confirmed_and_carries_its_customer() -> None:
    event = stripe_event(
        "checkout.session.completed",
        "checkout_session",
        payment_status="paid",
        amount_total=2500,
        currency="eur",
        customer="cus_9",
    )
    result = mapped(stripe.adapt("acme", event))
    assert result.category is Category.CONFIRMED
    assert (result.report.amount, result.report.currency) == (Decimal("25.00"), "EUR")
    assert result.report.customer is not None
    assert (result.report.customer.id, result.report.customer.email) == (
        "cus_9",
        "example@example.com",
    )


@pytest.mark.parametrize(
    ("currency", "minor", "amount"),
    [("jpy", 500, "500"), ("kwd", 1230, "1.230"), ("isk", 50000, "500"), ("usd", 5, "0.05")],
)
def test_stripe_minor_units_become_exact_decimal_amounts(
    currency: str, minor: int, amount: str
) -> None:
    event = stripe_event(
        "payment_intent.succeeded", "payment_intent", amount=minor, currency=currency
    )
    report = mapped(stripe.adapt("acme", event)).report
    assert format(report.amount, "f") == amount and report.currency == currency.upper()


def test_stripe_expanded_links_name_the_same_order_and_customer() -> None:
    event = stripe_event(
        "charge.refunded", "charge", payment_intent={"id": PI}, customer={"id": "cus_1"}
    )
    report = mapped(stripe.adapt("acme", event)).report
    assert report.order_id == PI
    assert report.customer is not None and report.customer.id == "cus_1"


@pytest.mark.parametrize(
    "event",
    [
        pytest.param(load("stripe_fixture_event_envelope.json"), id="plan.created-as-published"),
        pytest.param(stripe_event("refund.created", "refund"), id="refund.created"),
        pytest.param(stripe_event("customer.created", "charge"), id="customer.created"),
    ],
)
def test_stripe_types_without_an_order_status_are_ignored(event: dict[str, Any]) -> None:
    outcome = stripe.adapt("acme", event)
    assert isinstance(outcome, Ignored) and event["type"] in outcome.reason


def test_stripe_event_whose_object_does_not_fit_its_type_names_the_field() -> None:
    event = stripe_event("charge.refunded", "invoice")
    assert rejected_paths(lambda: stripe.adapt("acme", event)) == ["data.object.object"]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"created": "yesterday"}, "created"),
        ({"id": None}, "id"),
        ({"type": None}, "type"),
        ({"data": {}}, "data.object"),
    ],
)
def test_stripe_event_that_cannot_be_mapped_names_the_field(
    change: dict[str, Any], path: str
) -> None:
    event = stripe_event("payment_intent.succeeded", "payment_intent")
    event.update(change)
    assert rejected_paths(lambda: stripe.adapt("acme", event)) == [path]


def test_stripe_amount_written_as_a_float_is_refused() -> None:
    event = stripe_event("payment_intent.succeeded", "payment_intent", amount=Decimal("10.99"))
    assert rejected_paths(lambda: stripe.adapt("acme", event)) == ["data.object.amount"]


# --- WooCommerce ---


def test_woocommerce_created_sample_is_a_paid_processing_order() -> None:
    result = mapped(woocommerce.adapt("acme", load("woocommerce_order_created.json")))
    report = result.report
    assert (report.status, result.category) == ("processing", Category.CONFIRMED)
    assert (report.order_id, report.source) == ("727", "woocommerce")
    assert report.occurred_at == datetime.fromisoformat("2017-03-22T19:28:08+00:00")
    assert (report.amount, report.currency) == (Decimal("29.35"), "USD")
    assert report.report_id == "727:2017-03-22T19:28:08:processing"
    assert report.customer is None, "customer_id 0 is a guest: there is no customer id"
    assert report.items is not None
    assert [(i.sku, i.quantity, i.unit_price) for i in report.items] == [
        ("93", 2, Decimal("3")),  # no SKU, no variation: the product id
        ("Bar3", 1, Decimal("12")),
    ]
    assert report.payment is not None and report.payment.system == "bacs"


def test_woocommerce_updated_sample_is_completed_and_still_confirmed() -> None:
    result = mapped(
        woocommerce.adapt("acme", load("woocommerce_order_updated.json"), "order", "updated")
    )
    assert (result.report.status, result.category) == ("completed", Category.CONFIRMED)
    assert result.report.occurred_at == datetime.fromisoformat("2017-03-22T19:30:35+00:00")
    assert result.report.report_id == "727:2017-03-22T19:30:35:completed"


def test_woocommerce_same_order_state_from_two_webhooks_is_one_report() -> None:
    body = load("woocommerce_order_created.json")
    created = mapped(woocommerce.adapt("acme", body, "order", "created"))
    updated = mapped(woocommerce.adapt("acme", body, "order", "updated"))
    assert created.report.report_id == updated.report.report_id


@pytest.mark.parametrize(
    ("status", "category"),
    [
        ("pending", Category.PENDING),
        ("on-hold", Category.PENDING),
        ("checkout-draft", Category.PENDING),
        ("processing", Category.CONFIRMED),
        ("completed", Category.CONFIRMED),
        ("cancelled", Category.CANCELLED),
        ("failed", Category.DECLINED),
        ("refunded", Category.REFUNDED),
        ("trash", None),
        ("shipped-by-plugin", None),
    ],
)
def test_woocommerce_status_is_kept_and_decides_the_category(
    status: str, category: Category | None
) -> None:
    body = load("woocommerce_order_created.json")
    body["status"] = status
    result = mapped(woocommerce.adapt("acme", body))
    assert (result.report.status, result.category) == (status, category)


def test_woocommerce_registered_customer_is_named() -> None:
    body = load("woocommerce_order_created.json")
    body["customer_id"] = 42
    customer = mapped(woocommerce.adapt("acme", body)).report.customer
    assert customer is not None
    assert (customer.id, customer.email, customer.name) == (
        "42",
        "john.doe@example.com",
        "John Doe",
    )


def test_woocommerce_price_written_as_a_json_number_stays_exact() -> None:
    body = json.loads(
        (FIXTURES / "woocommerce_order_created.json")
        .read_text()
        .replace('"price": 3', '"price": 16.6666666667'),
        parse_float=Decimal,
    )
    items = mapped(woocommerce.adapt("acme", body)).report.items
    assert items is not None and items[0].unit_price == Decimal("16.6666666667")


@pytest.mark.parametrize(("resource", "event"), [("order", "deleted"), ("product", "updated")])
def test_woocommerce_deliveries_without_an_order_status_are_ignored(
    resource: str, event: str
) -> None:
    outcome = woocommerce.adapt("acme", {"id": 727}, resource, event)
    assert isinstance(outcome, Ignored)


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"status": None}, "status"),
        ({"id": None}, "id"),
        ({"date_modified_gmt": "22/03/2017"}, "date_modified_gmt"),
        ({"total": 29.35}, "total"),
    ],
)
def test_woocommerce_order_that_cannot_be_mapped_names_the_field(
    change: dict[str, Any], path: str
) -> None:
    body = load("woocommerce_order_created.json")
    body.update(change)
    assert rejected_paths(lambda: woocommerce.adapt("acme", body)) == [path]


def test_a_payload_that_is_not_an_object_is_refused() -> None:
    for adapt in (
        lambda: shopify.adapt("acme", [], None, None),
        lambda: stripe.adapt("acme", "evt"),
        lambda: woocommerce.adapt("acme", 727),
    ):
        assert rejected_paths(adapt) == [""]
