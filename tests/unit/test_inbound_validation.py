"""Inbound reports and touchpoints (CONTRACTS §3.1, §3.2): what is accepted, what is rejected
and with which path, and which reports are one report."""

from __future__ import annotations

import copy
import json
import traceback
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from orderflow.services.ingest.reports import (
    FieldError,
    OrderReport,
    ReportRejected,
    Touchpoint,
    error_path,
    parse_report_batch,
    parse_report_record,
    parse_touchpoint_batch,
    parse_touchpoint_record,
    report_uuid,
    touchpoint_uuid,
)
from orderflow.shared.vocabulary import ContributorVia, TouchpointKind

FULL: dict[str, Any] = {
    "tenant": "acme",
    "order_id": "A-1001",
    "status": "Awaiting payment",
    "occurred_at": "2024-05-01T12:00:00+02:00",
    "report_id": "rep-1",
    "source": "web",
    "amount": "59.90",
    "currency": "EUR",
    "customer": {"id": "cust-7", "email": "ada@example.test", "name": "Ada Lovelace"},
    "items": [
        {
            "sku": "MUG",
            "name": "Blue mug",
            "quantity": 2,
            "unit_price": "19.95",
            "category": "kitchen",
            "offer_id": "offer-1",
        },
        {"sku": "TEA", "quantity": 1, "unit_price": "20.00"},
    ],
    "offer_id": "offer-9",
    "payment": {"system": "stripe", "transaction_id": "tx_1", "fee": "1.20", "currency": "EUR"},
    "contributors": [{"member_id": "m-12", "via": "affiliation"}],
    "metadata": {"campaign": "spring", "nested": {"n": 1}},
}
MINIMAL: dict[str, Any] = {
    "tenant": "acme",
    "order_id": "A-1001",
    "status": "OK",
    "occurred_at": "2024-05-01T10:00:00Z",
}
TOUCHPOINT: dict[str, Any] = {
    "tenant": "acme",
    "touchpoint_id": "tp-1",
    "member_id": "m-12",
    "kind": "click",
    "customer_id": "cust-7",
    "occurred_at": "2024-05-01T10:00:00Z",
    "order_id": "A-1001",
}
DROP = object()


def changed(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(base)
    for name, value in changes.items():
        if value is DROP:
            body.pop(name)
        else:
            body[name] = value
    return body


def item(**changes: Any) -> dict[str, Any]:
    return changed({"sku": "MUG", "quantity": 1, "unit_price": "1.00"}, **changes)


def rejection(body: object, parse: Any = parse_report_batch) -> list[FieldError]:
    with pytest.raises(ReportRejected) as caught:
        parse(body)
    return caught.value.errors


def record(body: object) -> bytes:
    return json.dumps(body).encode()


def test_full_report_round_trips_unchanged() -> None:
    [report] = parse_report_batch(copy.deepcopy(FULL))
    assert report.model_dump(mode="json", exclude_none=True) == FULL
    assert report.amount == Decimal("59.90")
    assert report.contributors is not None
    assert report.contributors[0].via is ContributorVia.AFFILIATION


def test_minimal_report_defaults_source_to_api() -> None:
    [report] = parse_report_batch(MINIMAL)
    assert report.source == "api"
    assert report.amount is None and report.items is None


def test_status_is_kept_exactly_as_received() -> None:
    [report] = parse_report_batch(changed(MINIMAL, status="  awaiting PAYMENT "))
    assert report.status == "  awaiting PAYMENT "


def test_occurred_at_keeps_its_offset() -> None:
    [report] = parse_report_batch(changed(MINIMAL, occurred_at="2024-05-01T12:00:00.5+02:00"))
    assert report.occurred_at.utcoffset() == timedelta(hours=2)
    assert report.occurred_at.microsecond == 500_000


def test_report_survives_python_round_trip() -> None:
    [report] = parse_report_batch(copy.deepcopy(FULL))
    assert OrderReport.model_validate(report.model_dump()) == report


TOO_BIG_METADATA = {"blob": "x" * (16 * 1024)}

REPORT_REJECTIONS: list[tuple[dict[str, Any], str, str]] = [
    (changed(MINIMAL, tenant=DROP), "tenant", "field required"),
    (changed(MINIMAL, tenant="ACME"), "tenant", "a-z"),
    (changed(MINIMAL, tenant="-acme"), "tenant", "a-z"),
    (changed(MINIMAL, tenant="a" * 65), "tenant", "1-64"),
    (changed(MINIMAL, tenant=None), "tenant", "valid string"),
    (changed(MINIMAL, order_id=DROP), "order_id", "field required"),
    (changed(MINIMAL, order_id=""), "order_id", "at least 1"),
    (changed(MINIMAL, order_id="x" * 129), "order_id", "at most 128"),
    (changed(MINIMAL, order_id=1001), "order_id", "valid string"),
    (changed(MINIMAL, status=DROP), "status", "field required"),
    (changed(MINIMAL, status=""), "status", "at least 1"),
    (changed(MINIMAL, status="x" * 65), "status", "at most 64"),
    (changed(MINIMAL, occurred_at=DROP), "occurred_at", "field required"),
    (changed(MINIMAL, occurred_at="2024-01-01"), "occurred_at", "RFC 3339"),
    (changed(MINIMAL, occurred_at="2024-01-01T10:00:00"), "occurred_at", "offset"),
    (changed(MINIMAL, occurred_at="01/05/2024 10:00 +02:00"), "occurred_at", "RFC 3339"),
    (changed(MINIMAL, occurred_at="2024-13-01T10:00:00Z"), "occurred_at", "month"),
    (changed(MINIMAL, occurred_at=1714557600), "occurred_at", "RFC 3339"),
    (changed(MINIMAL, report_id=""), "report_id", "at least 1"),
    (changed(MINIMAL, report_id="r" * 129), "report_id", "at most 128"),
    (changed(MINIMAL, source=""), "source", "at least 1"),
    (changed(MINIMAL, source="s" * 65), "source", "at most 64"),
    (changed(MINIMAL, amount=10.5, currency="EUR"), "amount", "decimal string"),
    (changed(MINIMAL, amount=10, currency="EUR"), "amount", "decimal string"),
    (changed(MINIMAL, amount="-1.00", currency="EUR"), "amount", ">= 0"),
    (changed(MINIMAL, amount="1e3", currency="EUR"), "amount", "decimal string"),
    (changed(MINIMAL, amount="NaN", currency="EUR"), "amount", "decimal string"),
    (changed(MINIMAL, amount=" 1.00", currency="EUR"), "amount", "decimal string"),
    (changed(MINIMAL, amount="10.5", currency="JPY"), "amount", "JPY allows 0"),
    (changed(MINIMAL, amount="1.234", currency="EUR"), "amount", "EUR allows 2"),
    (changed(MINIMAL, amount="1.2345", currency="KWD"), "amount", "KWD allows 3"),
    (changed(MINIMAL, amount="1.00"), "currency", "field required when amount is given"),
    (changed(MINIMAL, currency="EUR"), "amount", "field required when currency is given"),
    (changed(MINIMAL, amount="1.00", currency="eur"), "currency", "pattern"),
    (changed(MINIMAL, amount="1.00", currency="EURO"), "currency", "pattern"),
    (changed(MINIMAL, customer={}), "customer.id", "field required"),
    (changed(MINIMAL, customer={"id": ""}), "customer.id", "at least 1"),
    (changed(MINIMAL, customer={"id": "c", "phone": "1"}), "customer.phone", "Extra inputs"),
    (changed(MINIMAL, customer={"id": "c", "email": 5}), "customer.email", "valid string"),
    (changed(MINIMAL, customer="cust-7"), "customer", "valid dictionary"),
    (
        changed(MINIMAL, items=[item(), item(), item(quantity=0)]),
        "items[2].quantity",
        "greater than or equal to 1",
    ),
    (changed(MINIMAL, items=[item(quantity="2")]), "items[0].quantity", "valid integer"),
    (changed(MINIMAL, items=[item(quantity=1.5)]), "items[0].quantity", "valid integer"),
    (changed(MINIMAL, items=[item(quantity=True)]), "items[0].quantity", "valid integer"),
    (changed(MINIMAL, items=[item(sku=DROP)]), "items[0].sku", "field required"),
    (changed(MINIMAL, items=[item(unit_price=1.0)]), "items[0].unit_price", "decimal string"),
    (changed(MINIMAL, items=[item(unit_price="-0.01")]), "items[0].unit_price", ">= 0"),
    (changed(MINIMAL, items=[item(colour="blue")]), "items[0].colour", "Extra inputs"),
    (changed(MINIMAL, items=[item()] * 501), "items", "at most 500"),
    (changed(MINIMAL, offer_id=9), "offer_id", "valid string"),
    (changed(MINIMAL, payment={}), "payment.system", "field required"),
    (changed(MINIMAL, payment={"system": "s", "fee": "-1"}), "payment.fee", ">= 0"),
    (changed(MINIMAL, payment={"system": "s", "fee": 0.3}), "payment.fee", "decimal string"),
    (changed(MINIMAL, payment={"system": "s", "currency": "usd"}), "payment.currency", "pattern"),
    (
        changed(MINIMAL, contributors=[{"member_id": "m", "via": "email"}]),
        "contributors[0].via",
        "affiliation",
    ),
    (changed(MINIMAL, contributors=[{"via": "coupon"}]), "contributors[0].member_id", "required"),
    (changed(MINIMAL, metadata=TOO_BIG_METADATA), "metadata", "at most 16384"),
    (changed(MINIMAL, metadata=["a"]), "metadata", "valid dictionary"),
    (changed(MINIMAL, courier="express"), "courier", "Extra inputs"),
]


@pytest.mark.parametrize(("body", "path", "message"), REPORT_REJECTIONS)
def test_report_breaking_a_rule_is_rejected_at_its_path(
    body: dict[str, Any], path: str, message: str
) -> None:
    errors = rejection(body)
    assert [e.path for e in errors] == [path]
    assert message in errors[0].message


@pytest.mark.parametrize(
    ("amount", "currency"),
    [("10", "JPY"), ("1.234", "KWD"), ("1.2345", "CLF"), ("59.9", "EUR"), ("0", "EUR")],
)
def test_amount_within_its_currency_minor_units_is_accepted(amount: str, currency: str) -> None:
    [report] = parse_report_batch(changed(MINIMAL, amount=amount, currency=currency))
    assert report.amount == Decimal(amount)
    assert report.model_dump(mode="json")["amount"] == amount


def test_metadata_of_exactly_16_kib_is_accepted() -> None:
    padding = 16 * 1024 - len('{"blob":""}')
    [report] = parse_report_batch(changed(MINIMAL, metadata={"blob": "x" * padding}))
    assert report.metadata is not None


def test_all_bad_fields_of_one_report_are_named_together() -> None:
    body = changed(MINIMAL, status=DROP, amount=1.5, currency="EUR", items=[item(quantity=0)])
    paths = {e.path for e in rejection(body)}
    assert paths == {"status", "amount", "items[0].quantity"}


def test_batch_names_every_bad_element_and_only_those() -> None:
    body = [changed(MINIMAL, status=DROP), MINIMAL, changed(MINIMAL, items=[item(quantity=0)])]
    errors = rejection(body)
    assert errors[0] == FieldError("[0].status", "field required")
    assert [e.path for e in errors] == ["[0].status", "[2].items[0].quantity"]


def test_batch_of_valid_reports_parses_in_order() -> None:
    body = [changed(MINIMAL, order_id=f"o-{i}") for i in range(1000)]
    assert [r.order_id for r in parse_report_batch(body)] == [f"o-{i}" for i in range(1000)]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [([MINIMAL] * 1001, "got 1001"), ([], "got 0"), ("OK", "got neither"), (None, "got neither")],
)
def test_body_that_is_not_one_object_or_1_to_1000_is_rejected(body: object, fragment: str) -> None:
    [error] = rejection(body)
    assert error.path == ""
    assert "1 to 1000" in error.message and fragment in error.message


def test_batch_element_that_is_not_an_object_is_named() -> None:
    assert rejection([MINIMAL, "x"]) == [FieldError("[1]", "must be a JSON object")]


def test_rejection_reads_as_path_and_message() -> None:
    with pytest.raises(ReportRejected) as caught:
        parse_report_batch([changed(MINIMAL, status=DROP)])
    assert str(caught.value) == "[0].status: field required"
    assert caught.value.to_body() == {
        "errors": [{"path": "[0].status", "message": "field required"}]
    }


def test_error_path_formats_fields_and_indices() -> None:
    assert error_path(("items", 2, "quantity")) == "items[2].quantity"
    assert error_path((3, "order_id")) == "[3].order_id"
    assert error_path(()) == ""


# --- personal data


def test_customer_email_and_name_are_not_in_repr() -> None:
    [report] = parse_report_batch(copy.deepcopy(FULL))
    for text in (repr(report), str(report), repr(report.customer)):
        assert "ada@example.test" not in text and "Ada Lovelace" not in text
    assert "cust-7" in repr(report)


def test_rejection_does_not_carry_personal_data() -> None:
    # The customer object itself is invalid, so a validator would quote it as the bad input.
    customer = {"email": "ada@example.test", "name": "Ada Lovelace"}
    with pytest.raises(ReportRejected) as caught:
        parse_report_batch(changed(FULL, customer=customer))
    printed = "".join(traceback.format_exception(caught.value)) + repr(caught.value.errors)
    assert "customer.id: field required" in printed
    assert "ada@example.test" not in printed and "Ada Lovelace" not in printed


# --- identity


# uuid5 of the identity key in a fixed namespace: if this changes, every id ingest has ever
# answered with changes too, and re-sent reports stop being recognised as duplicates.
PINNED_MINIMAL_UUID = "8cd756e3-7215-5944-9d4c-af0b5a59fa45"


def uuid_of(body: dict[str, Any]) -> str:
    return str(report_uuid(parse_report_batch(body)[0]))


def test_report_uuid_is_pinned_so_resends_get_the_same_id_forever() -> None:
    assert uuid_of(MINIMAL) == uuid_of(copy.deepcopy(MINIMAL))
    assert uuid_of(MINIMAL) == PINNED_MINIMAL_UUID


def test_same_report_id_is_one_report_whatever_else_changed() -> None:
    first = changed(MINIMAL, report_id="r-1")
    later = changed(MINIMAL, report_id="r-1", status="Sent", occurred_at="2024-06-01T00:00:00Z")
    assert uuid_of(first) == uuid_of(later)


@pytest.mark.parametrize("change", [{"report_id": "r-2"}, {"source": "pos"}, {"tenant": "other"}])
def test_report_id_identity_is_scoped_by_tenant_and_source(change: dict[str, str]) -> None:
    with_id = changed(MINIMAL, report_id="r-1")
    assert uuid_of(with_id) != uuid_of(changed(with_id, **change))


def test_same_instant_with_another_offset_is_the_same_report() -> None:
    utc = changed(MINIMAL, occurred_at="2024-05-01T10:00:00Z")
    paris = changed(MINIMAL, occurred_at="2024-05-01T12:00:00+02:00")
    assert uuid_of(utc) == uuid_of(paris)


@pytest.mark.parametrize(
    "change",
    [
        {"status": "Sent"},
        {"status": "ok"},
        {"order_id": "A-1002"},
        {"source": "pos"},
        {"tenant": "other"},
        {"occurred_at": "2024-05-01T10:00:00.000001Z"},
    ],
)
def test_reports_without_report_id_differing_in_identity_are_distinct(
    change: dict[str, str],
) -> None:
    assert uuid_of(MINIMAL) != uuid_of(changed(MINIMAL, **change))


def test_fields_outside_the_identity_do_not_change_it() -> None:
    assert uuid_of(MINIMAL) == uuid_of(changed(MINIMAL, amount="1.00", currency="EUR"))


def test_touchpoint_identity_is_tenant_and_touchpoint_id() -> None:
    [tp] = parse_touchpoint_batch(TOUCHPOINT)
    [same] = parse_touchpoint_batch(changed(TOUCHPOINT, member_id="m-99", kind="coupon"))
    [other_id] = parse_touchpoint_batch(changed(TOUCHPOINT, touchpoint_id="tp-2"))
    [other_tenant] = parse_touchpoint_batch(changed(TOUCHPOINT, tenant="other"))
    assert touchpoint_uuid(tp) == touchpoint_uuid(same)
    assert len({touchpoint_uuid(tp), touchpoint_uuid(other_id), touchpoint_uuid(other_tenant)}) == 3


# --- Kafka records


def test_report_record_with_matching_key_is_parsed() -> None:
    report = parse_report_record(b"acme:A-1001", record(FULL))
    assert report.order_id == "A-1001" and report.tenant == "acme"


def test_order_id_may_contain_colons() -> None:
    body = changed(MINIMAL, order_id="shop:42")
    assert parse_report_record(b"acme:shop:42", record(body)).order_id == "shop:42"


def record_rejection(key: bytes | None, value: bytes) -> list[FieldError]:
    with pytest.raises(ReportRejected) as caught:
        parse_report_record(key, value)
    return caught.value.errors


def test_key_tenant_must_equal_body_tenant() -> None:
    [error] = record_rejection(b"globex:A-1001", record(MINIMAL))
    assert error.path == "tenant"
    assert "'globex'" in error.message and "'acme'" in error.message


def test_key_order_id_must_equal_body_order_id() -> None:
    [error] = record_rejection(b"acme:A-9", record(MINIMAL))
    assert error.path == "order_id"
    assert "'A-9'" in error.message and "'A-1001'" in error.message


@pytest.mark.parametrize("key", [None, b"", b"acme"])
def test_missing_or_malformed_key_is_rejected(key: bytes | None) -> None:
    [error] = record_rejection(key, record(MINIMAL))
    assert error.path == "key" and "<tenant>:<order_id>" in error.message


def test_key_and_body_errors_are_reported_together() -> None:
    errors = record_rejection(None, record(changed(MINIMAL, status=DROP)))
    assert [e.path for e in errors] == ["status", "key"]


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (b"\xff\xfe{", "UTF-8"),
        (b'{"tenant": "acme",', "JSON"),
        (b"", "JSON"),
        (b"[1, 2]", "JSON object"),
        (b'"OK"', "JSON object"),
        (b"[" * 100_000, "nested"),
    ],
)
def test_undecodable_or_non_object_value_is_rejected(value: bytes, fragment: str) -> None:
    [error] = record_rejection(b"acme:A-1001", value)
    assert error.path == "" and fragment in error.message


def test_json_number_amount_in_a_record_is_rejected() -> None:
    value = b'{"tenant":"acme","order_id":"A-1001","status":"OK",' + (
        b'"occurred_at":"2024-05-01T10:00:00Z","amount":59.90,"currency":"EUR"}'
    )
    [error] = record_rejection(b"acme:A-1001", value)
    assert error.path == "amount" and "decimal string" in error.message


# --- touchpoints


def test_touchpoint_record_with_matching_key_is_parsed() -> None:
    tp = parse_touchpoint_record(b"acme:cust-7", record(TOUCHPOINT))
    assert tp == Touchpoint.model_validate(TOUCHPOINT)
    assert tp.kind is TouchpointKind.CLICK
    assert tp.occurred_at.utcoffset() == timedelta(0)


def test_touchpoint_key_customer_must_equal_body_customer() -> None:
    with pytest.raises(ReportRejected) as caught:
        parse_touchpoint_record(b"acme:cust-8", record(TOUCHPOINT))
    [error] = caught.value.errors
    assert error.path == "customer_id" and "'cust-8'" in error.message


def test_touchpoint_record_without_key_is_rejected() -> None:
    with pytest.raises(ReportRejected) as caught:
        parse_touchpoint_record(None, record(TOUCHPOINT))
    assert caught.value.errors == [FieldError("key", "field required: <tenant>:<customer_id>")]


@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        (changed(TOUCHPOINT, kind="visit"), "kind", "click"),
        (changed(TOUCHPOINT, touchpoint_id=""), "touchpoint_id", "at least 1"),
        (changed(TOUCHPOINT, member_id=DROP), "member_id", "field required"),
        (changed(TOUCHPOINT, customer_id=DROP), "customer_id", "field required"),
        (changed(TOUCHPOINT, occurred_at="2024-05-01T10:00:00"), "occurred_at", "offset"),
        (changed(TOUCHPOINT, tenant="Acme"), "tenant", "a-z"),
        (changed(TOUCHPOINT, order_id=""), "order_id", "at least 1"),
        (changed(TOUCHPOINT, channel="email"), "channel", "Extra inputs"),
    ],
)
def test_touchpoint_breaking_a_rule_is_rejected_at_its_path(
    body: dict[str, Any], path: str, message: str
) -> None:
    errors = rejection(body, parse_touchpoint_batch)
    assert [e.path for e in errors] == [path]
    assert message in errors[0].message


def test_touchpoint_batch_names_bad_elements() -> None:
    body = [TOUCHPOINT, changed(TOUCHPOINT, kind=DROP)]
    assert [e.path for e in rejection(body, parse_touchpoint_batch)] == ["[1].kind"]
