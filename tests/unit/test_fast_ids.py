"""The fast ways ids and events are made give exactly what the slow ways gave.

Report ids, event ids and the events' bytes are fixed forever (a resent report must be
recognised, a replayed event absorbed), so each shortcut is checked against the library
call it replaces, over arbitrary input.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orderflow.services.ingest import domain
from orderflow.services.ingest.reports import (
    _ID_NAMESPACE,
    OrderReport,
    _json_strings,
    identity_key,
    parse_report,
    parse_report_batch,
    report_id,
    report_uuid,
)
from orderflow.shared.envelope import EVENT_NAMESPACE, Envelope, joined_objects, stable_id
from orderflow.shared.ids import uuid5_text
from orderflow.shared.tenants import TenantConfig
from orderflow.shared.vocabulary import Category
from tests.unit.test_accepted_reports_flow import orders

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@given(st.uuids(), st.text())
def test_uuid5_text_is_the_standard_uuid5(namespace: uuid.UUID, name: str) -> None:
    assert uuid5_text(namespace, name) == str(uuid.uuid5(namespace, name))


@given(st.lists(st.text(), min_size=1, max_size=7))
def test_json_strings_is_json_dumps_of_the_list(parts: list[str]) -> None:
    assert _json_strings(*parts) == json.dumps(parts)


@given(st.lists(st.text(min_size=1), min_size=1, max_size=4))
def test_stable_id_is_uuid5_of_the_joined_parts(parts: list[str]) -> None:
    assert stable_id(*parts) == str(uuid.uuid5(EVENT_NAMESPACE, "\x1f".join(parts)))


FULL_REPORT: dict[str, Any] = {
    "tenant": "acme",
    "order_id": "o-ü-1",
    "status": "Paid \u2713",
    "occurred_at": "2026-11-30T12:00:00.123+02:00",
    "source": "shop",
    "amount": "19.90",
    "currency": "EUR",
    "customer": {"id": "c-1", "email": "a@b.test"},
    "items": [{"sku": "s", "quantity": 2, "unit_price": "9.95"}],
    "metadata": {"nested": [1, {"a": None}], "text": 'quote " and \\'},
}


@given(st.sampled_from([None, "r-1", 'r "2"']), st.sampled_from([None, *Category]))
def test_report_ids_and_the_reported_event_are_what_validation_would_build(
    upstream_id: str | None, category: Category | None
) -> None:
    body = {**FULL_REPORT, **({"report_id": upstream_id} if upstream_id else {})}
    [report] = parse_report_batch(body, NOW)
    if upstream_id is None:
        instant = report.occurred_at.astimezone(UTC).isoformat(timespec="microseconds")
        parts = ["report", "acme", "shop", "o-ü-1", "Paid \u2713", instant]
    else:
        parts = ["report", "acme", "shop", upstream_id]
    assert identity_key(report) == json.dumps(parts)
    assert report_id(report) == str(uuid.uuid5(_ID_NAMESPACE, json.dumps(parts)))
    assert report_uuid(report) == uuid.UUID(report_id(report))

    event = domain.reported_event(report, report_id(report), category, NOW + timedelta(seconds=1))
    validated = Envelope.model_validate(event.model_dump(by_alias=True))
    assert event == validated
    assert event.to_bytes() == validated.to_bytes()
    assert Envelope.from_bytes(event.to_bytes()) == validated


def reference_reported_event(
    report: OrderReport, rid: str, category: Category | None, received_at: datetime
) -> Envelope:
    """How ingest built the event before it was serialised once: the format to keep."""
    data: dict[str, Any] = report.model_dump(mode="json", exclude={"tenant", "order_id"})
    data.update(
        report_id=rid,
        upstream_report_id=report.report_id,
        category=category.value if category else None,
        received_at=received_at.isoformat(),
    )
    return Envelope(
        event_id=stable_id(rid, "order.reported", ""),
        type="order.reported",
        tenant=report.tenant,
        order_id=report.order_id,
        occurred_at=report.occurred_at,
        produced_at=received_at,
        causation_id=rid,
        correlation_id=rid,
        schema_="orderflow.order.reported/1",
        data=data,
    )


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(orders(), st.sampled_from([None, *Category]))
def test_the_encoded_reported_event_is_the_reported_event(
    order: tuple[TenantConfig, list[dict[str, Any]], dict[str, Any]], category: Category | None
) -> None:
    """What ingest writes to the outbox (serialised once) parses to `reported_event`'s
    envelope, for any report the accept boundary lets through."""
    for body in order[1]:
        [report] = parse_report_batch(body, NOW)
        rid = report_id(report)
        encoded = domain.reported_record(report, rid, category, NOW)
        expected = reference_reported_event(report, rid, category, NOW)
        assert domain.reported_event(report, rid, category, NOW) == expected
        assert Envelope.from_bytes(encoded.to_bytes()) == Envelope.from_bytes(expected.to_bytes())
        assert json.loads(encoded.to_bytes()) == json.loads(expected.to_bytes())
        fields = (encoded.event_id, encoded.type, encoded.tenant, encoded.order_id)
        assert fields == (expected.event_id, expected.type, expected.tenant, expected.order_id)
        assert encoded.causation_id == expected.causation_id


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(orders(), st.sampled_from([None, *Category]))
def test_what_an_import_prepares_from_one_encoding_is_what_the_slow_ways_build(
    order: tuple[TenantConfig, list[dict[str, Any]], dict[str, Any]], category: Category | None
) -> None:
    """The import encodes each report once while judging it (`parse_report`); its raw JSON,
    its event's `data` (cut out of that encoding, never dumped again) and the event are
    what the model, the reference and `reported_record` without the encoding give."""
    for body in order[1]:
        report, encoded = parse_report(body, NOW)
        assert encoded == report.model_dump_json().encode()
        data = domain.data_of(report, encoded)
        assert data is not None, "the cut must apply to every valid report"
        assert data == report.model_dump_json(exclude={"tenant", "order_id", "report_id"}).encode()
        prepared = domain.Prepared()
        prepared.add(report, category, NOW, encoded)
        rid = report_id(report)
        # Read back as `orderflow replay reports` does, the raw JSON with its nulls gives the
        # report the former raw JSON (nulls left out) gave.
        replayed, former = (
            OrderReport.model_validate(json.loads(raw), context={"now": NOW})
            for raw in (prepared.raw[0], report.model_dump_json(exclude_none=True))
        )
        assert replayed == former
        assert prepared.event(0) == domain.reported_record(report, rid, category, NOW)
        expected = reference_reported_event(report, rid, category, NOW)
        assert Envelope.from_bytes(prepared.event(0).to_bytes()) == expected


def test_the_full_report_travels_encoded_as_sent() -> None:
    [report] = parse_report_batch(FULL_REPORT, NOW)
    encoded = domain.reported_record(report, report_id(report), Category.CONFIRMED, NOW)
    expected = reference_reported_event(report, report_id(report), Category.CONFIRMED, NOW)
    assert Envelope.from_bytes(encoded.to_bytes()) == expected
    assert json.loads(encoded.to_bytes())["data"]["metadata"] == FULL_REPORT["metadata"]


@pytest.mark.parametrize(
    ("first", "then", "joined"),
    [
        (b'{"a":1}', b'{"b":[2]}', b'{"a":1,"b":[2]}'),
        (b"{}", b'{"b":2}', b'{"b":2}'),
        (b'{"a":1}', b"{}", b'{"a":1}'),
    ],
)
def test_joined_objects(first: bytes, then: bytes, joined: bytes) -> None:
    assert joined_objects(first, then) == joined
    assert json.loads(joined) == {**json.loads(first), **json.loads(then)}


def test_joined_objects_takes_only_objects() -> None:
    with pytest.raises(ValueError, match="two encoded JSON objects"):
        joined_objects(b"[1]", b'{"a":1}')
