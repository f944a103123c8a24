"""How the relay hands a batch of outbox rows to Kafka: whole record batches, one a partition.

`broker.publish` runs FastStream's publish middleware for every record, and even the broker's
aiokafka `producer.send` costs ~20 µs a record (partitioner, a future, the accumulator). The
relay needs none of that per record: it routes each row to its partition itself
(`shared/partitioner.py`: the default partitioner's murmur2 choice, so every key stays on its
partition), fills one `BatchBuilder` per partition and hands it over with `send_batch`
(one future a batch), through the same producer (acks=all, linger, idempotence and security
exactly as `make_broker` configured them). Each record carries the headers
`broker.publish` wrote:

- `correlation_id` = the row's event id (CONTRACTS §5 additions), and FastStream's
  `content-type` (empty for raw bytes);
- the W3C `traceparent`/`tracestate` of the row's cause, stored in its headers: unchanged when
  no tracer provider is installed (what FastStream's middleware also sent then), else the
  context of a PRODUCER span `<topic> publish`, child of the cause, as the middleware's was.

`publish` sends a batch of rows and sorts the outcome: sent, parked (`can_never_publish`), or
retry. The partitions are sent concurrently; within one, record batches go one after the
other, each once the previous one is acknowledged, so a failure stops that partition there.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    CorruptRecordException,
    InvalidTopicError,
    MessageSizeTooLargeError,
    RecordTooLargeError,
)
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from faststream.kafka import KafkaBroker

from orderflow.shared import tracing
from orderflow.shared.outbox import OutboxRow
from orderflow.shared.partitioner import partition_of
from orderflow.shared.settings import KafkaSettings

Headers = list[tuple[str, bytes]]
_estimate = DefaultRecordBatchBuilder.estimate_size_in_bytes


def broker_producer(broker: KafkaBroker) -> AIOKafkaProducer:
    """The aiokafka producer a started FastStream broker publishes through.

    FastStream 0.7.8 exposes it only as a private attribute; this is the
    one place that reads it, so an upgrade that moves it breaks here and in the relay tests.
    """
    # Typed as FastStream's producer protocol, which does not name the wrapper's field:
    # read through Any on purpose, here only.
    holder: Any = broker.config.producer
    private = holder._producer
    producer: AIOKafkaProducer = private.producer
    return producer


class BatchSender:
    """The broker's producer as the relay uses it: a topic's partitions, record batches,
    and what `producer.send` would refuse before sending (a record over `max_request_size`)."""

    def __init__(
        self,
        broker: KafkaBroker,
        kafka: KafkaSettings,
        producer_of: Callable[[KafkaBroker], AIOKafkaProducer] = broker_producer,
    ) -> None:
        self._broker = broker
        self._producer_of = producer_of
        self._kafka = kafka

    def topic(self, name: str) -> str:
        return self._kafka.topic(name)

    async def partitions(self, topic: str) -> list[int]:
        """As the producer's partitioner gets them (its metadata's set, in that set's order)."""
        return list(await self._producer_of(self._broker).partitions_for(topic))

    def batch(self) -> Any:
        """An empty `aiokafka.producer.message_accumulator.BatchBuilder` (`append` -> None
        once full; its first record always fits)."""
        return self._producer_of(self._broker).create_batch()

    def max_request_size(self) -> int:
        """The producer's limit on one record, which `producer.send` checks before sending."""
        limit: int = self._producer_of(self._broker)._max_request_size
        return limit

    async def send(self, batch: Any, topic: str, partition: int) -> asyncio.Future[object]:
        """Queues the batch (after the partition's previous one left); returns its future."""
        future: asyncio.Future[object] = await self._producer_of(self._broker).send_batch(
            batch, topic, partition=partition
        )
        return future


def headers(topic: str, row: OutboxRow, sdk: bool | None = None) -> Headers:
    out: Headers = [("content-type", b""), ("correlation_id", row.event_id.encode())]
    if row.headers is None and sdk is False:
        return out  # no cause's context to pass along, no span to make
    for name, value in tracing.producing(topic, row.event_id, row.headers, sdk).items():
        out.append((name, value.encode()))
    return out


@dataclass
class Published:
    sent: list[int] = field(default_factory=list)
    parked: list[tuple[OutboxRow, BaseException]] = field(default_factory=list)
    retry: BaseException | None = None  # the first failure that may pass: the batch goes again


async def publish(sender: BatchSender, rows: list[OutboxRow]) -> Published:
    """Send every row and wait for every acknowledgement.

    Rows are grouped by partition, in id order. A row refused before sending (too large) is
    parked and holds back the rest of its key in this batch: they are neither sent nor marked.
    """
    out = Published()
    lanes = await _lanes(sender, rows, out)
    sdk = tracing.sdk_installed()
    await asyncio.gather(*(_lane(sender, tp, lane, sdk, out) for tp, lane in lanes.items()))
    return out


async def _lanes(
    sender: BatchSender, rows: list[OutboxRow], out: Published
) -> dict[tuple[str, int], list[OutboxRow]]:
    """Rows by (Kafka topic, partition). Keyless rows of a topic share one random partition
    (the default partitioner picks one at random per record: they have no order to keep)."""
    lanes: dict[tuple[str, int], list[OutboxRow]] = {}
    routes: dict[str, tuple[str, list[int], int] | None] = {}
    for row in rows:
        if row.topic not in routes:
            topic = sender.topic(row.topic)
            try:
                partitions = await sender.partitions(topic)
            except Exception as exc:  # e.g. no metadata for the topic in time: try again
                out.retry = out.retry or exc
                routes[row.topic] = None
            else:
                routes[row.topic] = (topic, partitions, random.choice(partitions))
        route = routes[row.topic]
        if route is None:
            continue
        topic, partitions, keyless = route
        partition = keyless if row.key is None else partition_of(row.key, partitions)
        lanes.setdefault((topic, partition), []).append(row)
    return lanes


async def _lane(
    sender: BatchSender, tp: tuple[str, int], rows: list[OutboxRow], sdk: bool, out: Published
) -> None:
    """One partition's rows, a record batch at a time. If the broker refuses a whole batch
    as one that can never be published, its rows go again one record a batch, and so do the
    rest, so that only the record it refuses is parked."""
    topic, partition = tp
    limit = sender.max_request_size()
    held: dict[bytes | None, int] = {}  # key -> its parked row: later rows of the key wait
    at, one_by_one = 0, False
    while at < len(rows):
        batch, taken = sender.batch(), list[OutboxRow]()
        while at < len(rows) and not (one_by_one and taken):
            row = rows[at]
            at += 1
            if row.id > held.get(row.key, row.id):
                continue
            row_headers = headers(topic, row, sdk)
            size = _estimate(row.key, row.value, row_headers)
            if size > limit:  # as `producer.send` refuses it, with its message
                out.parked.append((row, _too_large(size)))
                held.setdefault(row.key, row.id)
            elif (
                batch.append(timestamp=None, key=row.key, value=row.value, headers=row_headers)
                is not None
            ):
                taken.append(row)
            else:
                at -= 1  # the batch is full: the row opens the next one
                break
        if not taken:
            continue
        try:
            await (await sender.send(batch, topic, partition))
        except Exception as exc:
            if not can_never_publish(exc):
                out.retry = out.retry or exc
                return  # this partition's later rows wait for the retry, in order
            if len(taken) > 1:
                rows, at, one_by_one = taken + rows[at:], 0, True
            else:
                out.parked.append((taken[0], exc))
                held.setdefault(taken[0].key, taken[0].id)
        else:
            out.sent.extend(row.id for row in taken)


def _too_large(size: int) -> MessageSizeTooLargeError:
    return MessageSizeTooLargeError(
        f"The message is {size} bytes when serialized which is larger than the maximum"
        " request size you have configured with the max_request_size configuration"
    )


# What no retry can fix: the record itself is refused (too large, malformed, bad topic name).
# Everything else, the broker's UnknownError and a missing topic included, is retried.
_NEVER = (MessageSizeTooLargeError, RecordTooLargeError, InvalidTopicError, CorruptRecordException)


def can_never_publish(exc: BaseException) -> bool:
    return isinstance(exc, _NEVER)
