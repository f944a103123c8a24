"""How `relay_publish.publish` cuts rows into record batches and sorts the outcome, over a
producer that keeps what it was sent (aiokafka's own BatchBuilder, no broker). The real broker's
side is in tests/integration/test_relay_batches.py; what it cannot be made to do on demand
(refuse a whole batch, fail one partition) is here."""

from __future__ import annotations

import asyncio
from typing import Any, cast

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaTimeoutError, RecordTooLargeError, UnknownError
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from aiokafka.producer.message_accumulator import BatchBuilder
from faststream.kafka import KafkaBroker
from hypothesis import given
from hypothesis import strategies as st

from orderflow.shared.outbox import OutboxRow
from orderflow.shared.partitioner import murmur2, partition_of
from orderflow.shared.relay_publish import BatchSender, publish
from orderflow.shared.settings import KafkaSettings

PARTITIONS = [0, 1, 2]


class Builder:
    """aiokafka's batch builder, remembering the values appended."""

    def __init__(self, size: int) -> None:
        self._builder = BatchBuilder(size, 0)
        self.values: list[bytes] = []

    def append(self, **record: Any) -> Any:
        metadata = self._builder.append(**record)
        if metadata is not None:
            self.values.append(record["value"])
        return metadata


class Producer:
    """Acknowledges every batch unless told otherwise; records what each partition got."""

    _max_request_size = 1048576

    def __init__(self, batch_bytes: int = 16384) -> None:
        self.batch_bytes = batch_bytes
        self.batches: list[tuple[int, list[bytes]]] = []
        self.refuse: bytes | None = None  # a value whose batch is refused as too large
        self.failing: int | None = None  # a partition whose batches fail, retriably

    async def partitions_for(self, topic: str) -> set[int]:
        if topic == "unknown":
            raise KafkaTimeoutError()  # as aiokafka, when no metadata for it came in time
        return set(PARTITIONS)

    def create_batch(self) -> Builder:
        return Builder(self.batch_bytes)

    async def send_batch(self, batch: Builder, topic: str, *, partition: int) -> Any:
        done = asyncio.get_running_loop().create_future()
        if partition == self.failing:
            done.set_exception(UnknownError())
        elif self.refuse in batch.values:
            done.set_exception(RecordTooLargeError())
        else:
            self.batches.append((partition, batch.values))
            done.set_result(None)
        return done


def _sender(producer: Producer) -> BatchSender:
    fake = cast(AIOKafkaProducer, producer)  # it has the producer methods the sender uses
    return BatchSender(cast(KafkaBroker, None), KafkaSettings(), producer_of=lambda _: fake)


def _rows(keys: list[str], size: int = 10) -> list[OutboxRow]:
    return [
        OutboxRow(i, f"e-{i}", "t", k.encode(), f"{k}/{i}".encode().ljust(size))
        for i, k in enumerate(keys, 1)
    ]


def _same_partition_keys(count: int) -> list[str]:
    keys = (f"k{i}" for i in range(1000))
    return [k for k in keys if partition_of(k.encode(), PARTITIONS) == 0][:count]


@given(st.binary(max_size=64))
def test_murmur2_is_aiokafkas(key: bytes) -> None:
    assert murmur2(key) == aiokafka_murmur2(key)


async def test_a_partition_too_large_for_one_batch_goes_in_several_in_id_order() -> None:
    producer = Producer(batch_bytes=1024)
    rows = _rows(["a", "b", "c"] * 30, size=100)
    outcome = await publish(_sender(producer), rows)
    assert sorted(outcome.sent) == [r.id for r in rows] and outcome.retry is None
    for partition in PARTITIONS:
        batches = [values for p, values in producer.batches if p == partition]
        sent = [v for values in batches for v in values]
        assert sent == [
            r.value for r in rows if partition_of(r.key or b"", PARTITIONS) == partition
        ]
    assert len(producer.batches) > len({p for p, _ in producer.batches}), "more than one each"


async def test_a_batch_the_broker_refuses_goes_again_one_record_a_batch() -> None:
    a, b, c = _same_partition_keys(3)
    producer = Producer()
    rows = _rows([a, b, a, c, b, c])  # b's first row is the one the broker refuses
    producer.refuse = rows[1].value
    outcome = await publish(_sender(producer), rows)
    assert [row.id for row, _ in outcome.parked] == [2]
    assert isinstance(outcome.parked[0][1], RecordTooLargeError)
    assert sorted(outcome.sent) == [1, 3, 4, 6], "b's later row waits behind the parked one"
    assert outcome.retry is None


async def test_a_failing_partition_is_retried_and_the_others_are_sent() -> None:
    producer = Producer(batch_bytes=64)
    producer.failing = 1
    rows = _rows([f"k{i}" for i in range(30)])
    outcome = await publish(_sender(producer), rows)
    on = {
        p: {r.id for r in rows if partition_of(r.key or b"", PARTITIONS) == p} for p in PARTITIONS
    }
    assert isinstance(outcome.retry, UnknownError) and not outcome.parked
    assert set(outcome.sent) == on[0] | on[2] and on[1]


async def test_keyless_rows_share_one_partition_in_their_order() -> None:
    producer = Producer()
    rows = [OutboxRow(i, f"e-{i}", "t", None, f"v{i}".encode()) for i in range(1, 21)]
    outcome = await publish(_sender(producer), rows)
    assert sorted(outcome.sent) == list(range(1, 21)) and outcome.retry is None
    assert len({p for p, _ in producer.batches}) == 1
    assert [v for _, values in producer.batches for v in values] == [r.value for r in rows]


async def test_a_topic_without_metadata_is_retried_and_the_others_are_sent() -> None:
    producer = Producer()
    rows = _rows(["a", "b", "c"])
    rows[1] = OutboxRow(2, "e-2", "unknown", b"b", b"b/2")
    outcome = await publish(_sender(producer), rows)
    assert isinstance(outcome.retry, KafkaTimeoutError)
    assert sorted(outcome.sent) == [1, 3] and not outcome.parked
