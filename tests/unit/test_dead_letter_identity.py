"""A dead letter is the record, not only its position (CONTRACTS §5, `dead_letter`)."""

from __future__ import annotations

from aiokafka import ConsumerRecord

from orderflow.shared.dead_letters import identity


def record(offset: int, value: bytes, timestamp: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic="t.orders.inbound.v1",
        partition=2,
        offset=offset,
        timestamp=timestamp,
        timestamp_type=0,
        key=b"shop:1",
        value=value,
        checksum=None,
        serialized_key_size=6,
        serialized_value_size=len(value),
        headers=(),
    )


def test_a_redelivered_record_is_the_same_dead_letter() -> None:
    first = record(7, b"{not json", 1_700_000_000_000)
    assert identity("orders.inbound.v1", first) == identity("orders.inbound.v1", first)


def test_a_new_record_at_an_offset_seen_before_is_a_new_dead_letter() -> None:
    # The broker restarted empty: offset 7 again, a different record.
    before = record(7, b"{not json", 1_700_000_000_000)
    assert identity("orders.inbound.v1", before) != identity(
        "orders.inbound.v1", record(7, b"{other poison", 1_700_000_000_000)
    )
    assert identity("orders.inbound.v1", before) != identity(
        "orders.inbound.v1", record(7, b"{not json", 1_700_000_999_000)
    )
