"""The Part-2 report fields (CONTRACTS §7, §8, §10): discounts, shipping, offer names, the
payment plan, the recurring order and a refund's amount — accepted as sent, refused naming
the field."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from orderflow.services.ingest.domain import check_refunds, reported_event
from orderflow.services.ingest.events import OrderReportedData
from orderflow.services.ingest.reports import ReportRejected, parse_report_batch
from orderflow.shared.envelope import utcnow
from orderflow.shared.tenants import TenantConfig, TenantRegistry

BASE: dict[str, Any] = {
    "tenant": "acme",
    "order_id": "A-1",
    "status": "Pending",
    "occurred_at": "2024-05-01T10:00:00Z",
    "amount": "100.00",
    "currency": "EUR",
}
EXTRA: dict[str, Any] = {
    "offer_name": "Spring sale",
    "items": [{"sku": "MUG", "quantity": 2, "unit_price": "10.00", "offer_name": "Mugs"}],
    "discounts": [
        {"code": "SPRING", "kind": "coupon", "amount": "5.00"},
        {"kind": "loyalty", "amount": "1"},
    ],
    "shipping": {
        "method": "standard",
        "carrier": "DHL",
        "tracking_number": "1Z9",
        "tracking_url": "https://track.test/1Z9",
        "shipped_at": "2024-05-02T08:00:00+02:00",
        "address": {"name": "Ada Lovelace", "line1": "1 Rue", "city": "Paris", "country": "FR"},
    },
    "payment_plan": "partial",
    "recurring": {"recurring_order_id": "sub-1", "interval": "1M", "payments_total": 12},
}


def _report(**fields: Any) -> dict[str, Any]:
    return {**copy.deepcopy(BASE), **copy.deepcopy(fields)}


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def _errors(body: object) -> dict[str, str]:
    with pytest.raises(ReportRejected) as caught:
        parse_report_batch(body)
    return {e.path: e.message for e in caught.value.errors}


@pytest.fixture(scope="module")
def tenants() -> TenantRegistry:
    return TenantRegistry(
        [TenantConfig.model_validate({"tenant": "acme", "status_profile": "affiliate"})]
    )


def test_every_new_field_is_accepted_and_travels_as_sent() -> None:
    (report,) = parse_report_batch(_report(**EXTRA))
    data = reported_event(report, "rid", None, utcnow()).data
    for field in ("offer_name", "discounts", "payment_plan", "recurring"):
        assert _without_none(data[field]) == EXTRA[field]
    assert data["items"][0]["offer_name"] == "Mugs"
    assert _without_none(data["shipping"]["address"]) == EXTRA["shipping"]["address"]
    assert data["shipping"]["shipped_at"] == "2024-05-02T08:00:00+02:00"
    OrderReportedData.model_validate(data)  # the declared event shape holds them


@pytest.mark.parametrize(
    ("fields", "path", "fragment"),
    [
        ({"discounts": [{"kind": "gift", "amount": "1"}]}, "discounts[0].kind", "'coupon'"),
        ({"discounts": [{"kind": "coupon"}]}, "discounts[0].amount", "required"),
        ({"discounts": [{"kind": "coupon", "amount": 1.5}]}, "discounts[0].amount", "decimal"),
        ({"discounts": [{"kind": "coupon", "amount": "1", "x": 1}]}, "discounts[0].x", "Extra"),
        ({"shipping": {"shipped_at": "yesterday"}}, "shipping.shipped_at", "RFC 3339"),
        ({"shipping": {"carrier": ""}}, "shipping.carrier", "at least 1"),
        ({"shipping": {"address": {"zip": "75001"}}}, "shipping.address.zip", "Extra"),
        ({"shipping": {"address": {"city": 7}}}, "shipping.address.city", "string"),
        ({"offer_name": 9}, "offer_name", "string"),
        (
            {"items": [{"sku": "A", "quantity": 1, "unit_price": "1", "offer_name": 9}]},
            "items[0].offer_name",
            "string",
        ),
        ({"payment_plan": "monthly"}, "payment_plan", "'full' or 'partial'"),
        ({"recurring": {"interval": "1M"}}, "recurring.recurring_order_id", "required"),
        (
            {"recurring": {"recurring_order_id": "s", "interval": "1y"}},
            "recurring.interval",
            "<n>M",
        ),
        (
            {"recurring": {"recurring_order_id": "s", "interval": "0M"}},
            "recurring.interval",
            "1 to",
        ),
        (
            {"recurring": {"recurring_order_id": "s", "interval": "0d"}},
            "recurring.interval",
            "duration",
        ),
        (
            {"recurring": {"recurring_order_id": "s", "interval": "1M", "payments_total": 0}},
            "recurring.payments_total",
            "greater than or equal to 1",
        ),
        ({"refunded_amount": "-1"}, "refunded_amount", ">= 0"),
        ({"refunded_amount": "0"}, "refunded_amount", "> 0"),
        ({"refunded_amount": "1.001"}, "refunded_amount", "EUR allows 2 fraction digits"),
    ],
)
def test_bad_new_field_is_named(fields: dict[str, Any], path: str, fragment: str) -> None:
    errors = _errors(_report(**fields))
    assert list(errors) == [path]
    assert fragment in errors[path]


def test_day_and_month_intervals_are_accepted() -> None:
    for interval in ("30d", "12h", "1M", "120M"):
        recurring = {"recurring_order_id": "s", "interval": interval}
        (report,) = parse_report_batch(_report(recurring=recurring))
        assert report.recurring is not None and report.recurring.interval == interval


def test_address_is_not_in_any_repr() -> None:
    (report,) = parse_report_batch(_report(**EXTRA))
    assert "Ada" not in repr(report) and "Paris" not in repr(report)


def test_refunded_amount_with_a_refund_status_is_accepted(tenants: TenantRegistry) -> None:
    # acme uses the affiliate profile: Refund is refunded, Chargeback is chargeback.
    reports = parse_report_batch(
        [
            _report(status="Refund", refunded_amount="20.00"),
            _report(status="Chargeback", refunded_amount="100"),
        ]
    )
    check_refunds(tenants, reports, indexed=True)
    assert [r.refunded_amount for r in reports] == [Decimal("20.00"), Decimal("100")]


def test_refunded_amount_with_another_status_is_named(tenants: TenantRegistry) -> None:
    reports = parse_report_batch(
        [
            _report(status="Sale", refunded_amount="1.00"),
            _report(status="Refund", refunded_amount="1.00"),
            _report(status="Something new", refunded_amount="1.00"),
        ]
    )
    with pytest.raises(ReportRejected) as caught:
        check_refunds(tenants, reports, indexed=True)
    errors = {e.path: e.message for e in caught.value.errors}
    assert set(errors) == {"[0].refunded_amount", "[2].refunded_amount"}
    assert "this status is confirmed" in errors["[0].refunded_amount"]
    assert "unmapped" in errors["[2].refunded_amount"]


def test_single_report_refund_error_has_no_index(tenants: TenantRegistry) -> None:
    reports = parse_report_batch(_report(status="Sale", refunded_amount="1.00"))
    with pytest.raises(ReportRejected) as caught:
        check_refunds(tenants, reports, indexed=False)
    assert [e.path for e in caught.value.errors] == ["refunded_amount"]
