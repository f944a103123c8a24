"""A Kafka report's future bound is judged at its receipt (the record's time), not at replay."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import ConsumerRecord

from orderflow.services.ingest.handlers import parse_records
from orderflow.services.ingest.reports import parse_report_record
from orderflow.shared.errors import Rejected
from orderflow.shared.tenants import TenantRegistry, load_tenants


def record(received: datetime, occurred: datetime) -> ConsumerRecord[bytes, bytes]:
    value = json.dumps(
        {"tenant": "shop", "order_id": "1", "status": "OK", "occurred_at": occurred.isoformat()}
    ).encode()
    return ConsumerRecord(
        topic="orders.inbound.v1",
        partition=0,
        offset=0,
        timestamp=int(received.timestamp() * 1000),
        timestamp_type=0,
        key=b"shop:1",
        value=value,
        checksum=None,
        serialized_key_size=6,
        serialized_value_size=len(value),
        headers=(),
    )


@pytest.fixture
def tenants(tmp_path: Path) -> TenantRegistry:
    (tmp_path / "shop.yaml").write_text("tenant: shop\napi_keys: ['shop-key-0123456789']\n")
    return load_tenants(tmp_path, {})


def test_a_report_from_the_future_when_received_stays_refused_when_replayed_later(
    tenants: TenantRegistry,
) -> None:
    received = datetime.now(UTC) - timedelta(days=3)
    late = record(received, received + timedelta(days=2))  # in the past now, not at receipt
    with pytest.raises(Rejected, match="24 hours after the time it is received"):
        parse_records([late], parse_report_record, "invalid_report", tenants)


def test_a_report_inside_the_window_at_receipt_is_accepted(tenants: TenantRegistry) -> None:
    received = datetime.now(UTC) - timedelta(days=3)
    ok = record(received, received + timedelta(hours=23))
    assert [
        r.order_id for r in parse_records([ok], parse_report_record, "invalid_report", tenants)
    ] == ["1"]


def test_a_record_without_a_time_is_judged_by_our_clock(tenants: TenantRegistry) -> None:
    unstamped = record(datetime.now(UTC), datetime.now(UTC) - timedelta(hours=1))
    unstamped.timestamp = -1
    assert len(parse_records([unstamped], parse_report_record, "invalid_report", tenants)) == 1
