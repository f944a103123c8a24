"""Inbound payment reports (CONTRACTS §8): every rule, the field it names, and identity."""

from __future__ import annotations

import traceback
from typing import Any

import pytest

from orderflow.services.ingest.payments import (
    PaymentReport,
    PaymentSource,
    PaymentStatus,
    parse_payment_batch,
    parse_payment_record,
    payment_uuid,
    reported_event,
)
from orderflow.services.ingest.reports import ReportRejected

BASE: dict[str, Any] = {
    "tenant": "acme",
    "order_id": "A-1",
    "payment_id": "inv-1",
    "status": "succeeded",
    "occurred_at": "2024-05-01T12:00:00+02:00",
    "amount": "59.90",
    "currency": "EUR",
    "payment_system": "acme-pay",
}


def paths(body: object) -> list[str]:
    with pytest.raises(ReportRejected) as raised:
        parse_payment_batch(body)
    return [e.path for e in raised.value.errors]


def test_a_full_payment_is_accepted_with_exact_money() -> None:
    full = {**BASE, "fee": "1.20", "one_click": True, "share_percent": "33.33"}
    full |= {"comment": "please gift wrap", "recurring_order_id": "rec-1"}
    [parsed] = parse_payment_batch(full)
    assert parsed.status is PaymentStatus.SUCCEEDED
    assert (str(parsed.amount), str(parsed.fee), str(parsed.share_percent)) == (
        "59.90",
        "1.20",
        "33.33",
    )


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"payment_id": ""}, "payment_id"),
        ({"payment_id": "x" * 129}, "payment_id"),
        ({"status": "paid"}, "status"),
        ({"occurred_at": "2024-05-01 12:00"}, "occurred_at"),
        ({"occurred_at": "1999-12-31T23:00:00Z"}, "occurred_at"),
        ({"amount": 59.9}, "amount"),
        ({"amount": "-1.00"}, "amount"),
        ({"amount": "1000000000000000"}, "amount"),  # 10^15
        ({"amount": "1.001"}, "amount"),  # EUR has 2 minor digits
        ({"currency": "XYZ"}, "currency"),
        ({"fee": "-0.10"}, "fee"),
        ({"fee": "0.101"}, "fee"),
        ({"payment_system": ""}, "payment_system"),
        ({"payment_system": "x" * 65}, "payment_system"),
        ({"one_click": "yes"}, "one_click"),
        ({"share_percent": "100.01"}, "share_percent"),
        ({"share_percent": "-1"}, "share_percent"),
        ({"refunded_amount": "1.00"}, "refunded_amount"),  # status succeeded
        ({"status": "refunded", "refunded_amount": "60.00"}, "refunded_amount"),  # > amount
        ({"status": "refunded", "refunded_amount": "1.005"}, "refunded_amount"),
        ({"error_code": "card_declined"}, "error_code"),  # status succeeded
        ({"status": "failed", "error_code": ""}, "error_code"),
        ({"status": "failed", "error_code": "x" * 65}, "error_code"),
        ({"comment": "x" * 1001}, "comment"),
        ({"comment": "a\x00b"}, "comment"),
        ({"recurring_order_id": ""}, "recurring_order_id"),
        ({"tenant": "Acme"}, "tenant"),
        ({"order_id": ""}, "order_id"),
        ({"source": "api"}, "source"),  # not a §8 field
    ],
)
def test_each_rule_names_its_field(change: dict[str, Any], path: str) -> None:
    assert paths({**BASE, **change}) == [path]


@pytest.mark.parametrize(
    "field",
    [
        "tenant",
        "order_id",
        "payment_id",
        "status",
        "occurred_at",
        "amount",
        "currency",
        "payment_system",
    ],
)
def test_required_fields_are_named(field: str) -> None:
    body = {k: v for k, v in BASE.items() if k != field}
    assert paths(body) == [field]


def test_allowed_companions_are_accepted() -> None:
    [refund] = parse_payment_batch({**BASE, "status": "refunded", "refunded_amount": "59.90"})
    [failed] = parse_payment_batch({**BASE, "status": "failed", "error_code": "card_declined"})
    [bare_refund] = parse_payment_batch({**BASE, "status": "refunded"})
    [yen] = parse_payment_batch({**BASE, "amount": "500", "currency": "JPY", "fee": "5"})
    assert (str(refund.refunded_amount), failed.error_code) == ("59.90", "card_declined")
    assert bare_refund.refunded_amount is None, "default: what was left"
    assert (str(yen.amount), str(yen.fee)) == ("500", "5")
    assert paths({**BASE, "currency": "JPY", "amount": "500", "fee": "0.5"}) == ["fee"]


def test_a_batch_names_every_bad_report_and_is_rejected_whole() -> None:
    batch = [BASE, {**BASE, "amount": "x"}, BASE, {**BASE, "status": "nope", "fee": "-1"}]
    assert paths(batch) == ["[1].amount", "[3].status", "[3].fee"]
    assert paths([]) == [""] and paths([BASE] * 1001) == [""]


def test_the_comment_is_personal_data_and_never_shown() -> None:
    secret = "ring me at +44 20 7946 0958"
    [parsed] = parse_payment_batch({**BASE, "comment": secret})
    assert secret not in repr(parsed) and secret not in str(parsed)
    with pytest.raises(ReportRejected) as raised:
        parse_payment_batch({**BASE, "comment": secret, "amount": "bad"})
    shown = "".join(traceback.format_exception(raised.value)) + str(raised.value)
    assert secret not in shown


def test_identity_is_tenant_payment_status_and_instant() -> None:
    [a] = parse_payment_batch(BASE)
    [same_instant] = parse_payment_batch({**BASE, "occurred_at": "2024-05-01T10:00:00Z"})
    [other_amount] = parse_payment_batch({**BASE, "amount": "1.00", "order_id": "A-2"})
    [refunded] = parse_payment_batch({**BASE, "status": "refunded"})
    [later] = parse_payment_batch({**BASE, "occurred_at": "2024-05-01T12:00:01+02:00"})
    [other_tenant] = parse_payment_batch({**BASE, "tenant": "brand"})
    assert payment_uuid(a) == payment_uuid(same_instant) == payment_uuid(other_amount)
    distinct = {payment_uuid(p) for p in (a, refunded, later, other_tenant)}
    assert len(distinct) == 4


def test_a_record_key_must_name_the_body_tenant_and_order() -> None:
    value = PaymentReport.model_validate(BASE).model_dump_json().encode()
    assert parse_payment_record(b"acme:A-1", value).payment_id == "inv-1"
    for key, path in ((b"acme:A-2", "order_id"), (b"brand:A-1", "tenant"), (None, "key")):
        with pytest.raises(ReportRejected) as raised:
            parse_payment_record(key, value)
        assert [e.path for e in raised.value.errors] == [path]
    with pytest.raises(ReportRejected):
        parse_payment_record(b"acme:A-1", b"{not json")


def test_the_event_carries_the_report_as_decimal_strings() -> None:
    [parsed] = parse_payment_batch({**BASE, "fee": "1.20"})
    received = parsed.occurred_at
    event = reported_event(parsed, "rid", PaymentSource.STRIPE, received)
    assert (event.type, event.order_id, event.causation_id) == ("payment.reported", "A-1", "rid")
    assert event.data["amount"] == "59.90" and event.data["fee"] == "1.20"
    assert event.data["source"] == "stripe" and event.data["tenant"] == "acme"
    assert "share_percent" not in event.data, "absent optionals are omitted"
