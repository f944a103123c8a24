"""How the relay hands a batch of outbox rows to Kafka, straight to the broker's aiokafka producer.

`broker.publish` runs FastStream's publish middleware for every record (a command object, the
OpenTelemetry middleware's context juggling, two spans, a metric): more than half of the
relay's time when profiled. The relay needs none of it beyond the headers it writes, so it
builds them itself and sends through the same producer (acks=all, linger, idempotence and
security exactly as `make_broker` configured them):

- `correlation_id` = the row's event id (CONTRACTS §5 additions), and FastStream's
  `content-type` (empty for raw bytes), as `broker.publish` wrote them;
- the W3C `traceparent`/`tracestate` of the row's cause, stored in its headers: unchanged when
  no tracer provider is installed (what FastStream's middleware also sent then), else the
  context of a PRODUCER span `<topic> publish`, child of the cause, as the middleware's was.

`publish` sends a batch and sorts the outcome: sent, parked (`can_never_publish`), or retry.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    CorruptRecordException,
    InvalidTopicError,
    MessageSizeTooLargeError,
    RecordTooLargeError,
)
from faststream.kafka import KafkaBroker

from orderflow.shared import tracing
from orderflow.shared.outbox import OutboxRow
from orderflow.shared.settings import KafkaSettings

Headers = list[tuple[str, bytes]]


def broker_producer(broker: KafkaBroker) -> AIOKafkaProducer:
    """The aiokafka producer a started FastStream broker publishes through.

    FastStream 0.7.8 exposes it only as a private attribute (hence the ignore); this is the
    one place that reads it, so an upgrade that moves it breaks here and in the relay tests.
    """
    private = broker.config.producer._producer  # type: ignore[attr-defined]  # FastStream 0.7.8 private
    producer: AIOKafkaProducer = private.producer
    return producer


class RecordSender:
    """Sends rows without awaiting their acknowledgement: `send` returns the delivery future."""

    def __init__(
        self,
        broker: KafkaBroker,
        kafka: KafkaSettings,
        producer_of: Callable[[KafkaBroker], AIOKafkaProducer] = broker_producer,
    ) -> None:
        self._broker = broker
        self._producer_of = producer_of
        self._topics: dict[str, str] = {}
        self._kafka = kafka

    async def send(self, row: OutboxRow, sdk: bool | None = None) -> asyncio.Future[object]:
        """Appends the record to its partition's batch; raises if refused before sending.
        `sdk`: `tracing.sdk_installed()`, asked once for a batch."""
        topic = self._topics.get(row.topic)
        if topic is None:
            topic = self._topics[row.topic] = self._kafka.topic(row.topic)
        future: asyncio.Future[object] = await self._producer_of(self._broker).send(
            topic, value=row.value, key=row.key, headers=headers(topic, row, sdk)
        )
        return future


def headers(topic: str, row: OutboxRow, sdk: bool | None = None) -> Headers:
    out: Headers = [("content-type", b""), ("correlation_id", row.event_id.encode())]
    for name, value in tracing.producing(topic, row.event_id, row.headers, sdk).items():
        out.append((name, value.encode()))
    return out


async def publish(sender: RecordSender, rows: list[OutboxRow]) -> Published:
    """Send every row and wait for every acknowledgement.

    Every row is appended to its partition's batch before any acknowledgement is awaited
    (`RecordSender`); the producer appends in order and keeps one batch in flight per
    partition, so the order of rows with one key survives. A row refused before sending
    holds back the rest of its key in this batch: they are neither sent nor marked.
    """
    pending: list[tuple[OutboxRow, asyncio.Future[object]]] = []
    parked: list[tuple[OutboxRow, BaseException]] = []
    held: set[tuple[str, bytes | None]] = set()
    retry: BaseException | None = None
    sdk = tracing.sdk_installed()
    for row in rows:
        if (row.topic, row.key) in held:
            continue
        try:
            pending.append((row, await sender.send(row, sdk)))
        except Exception as exc:  # refused before sending, e.g. a record over the size limit
            held.add((row.topic, row.key))
            if can_never_publish(exc):
                parked.append((row, exc))
            else:
                retry = retry or exc
    results = await asyncio.gather(*(f for _, f in pending), return_exceptions=True)
    sent = []
    for (row, _), result in zip(pending, results, strict=True):
        if not isinstance(result, BaseException):
            sent.append(row.id)
        elif can_never_publish(result):
            parked.append((row, result))
        else:
            retry = retry or result
    return Published(sent, parked, retry)


@dataclass
class Published:
    sent: list[int]
    parked: list[tuple[OutboxRow, BaseException]]
    retry: BaseException | None  # the first failure that may pass: the batch goes again


# What no retry can fix: the record itself is refused (too large, malformed, bad topic name).
# Everything else, the broker's UnknownError and a missing topic included, is retried.
_NEVER = (MessageSizeTooLargeError, RecordTooLargeError, InvalidTopicError, CorruptRecordException)


def can_never_publish(exc: BaseException) -> bool:
    return isinstance(exc, _NEVER)
