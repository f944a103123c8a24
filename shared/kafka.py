"""Kafka clients built from settings, with the guarantees we rely on.

Services talk to Kafka through one FastStream `KafkaBroker` each (`make_broker`): its
producer publishes the outbox (acks=all) and its one batch subscriber feeds the runner.
The raw aiokafka clients remain for the benchmark's no-database ceiling and for tests.

aiokafka keeps at most one batch in flight per partition, so records of one key are
written in the order they were sent, with or without the idempotent producer.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeAlias

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.message import StreamMessage
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from orderflow.shared.settings import KafkaSettings

Record: TypeAlias = ConsumerRecord[bytes, bytes]
OnBatch = Callable[[Sequence[Record], AIOKafkaConsumer], Awaitable[None]]


PRODUCER_BATCH_BYTES = 512 * 1024


def make_broker(settings: KafkaSettings, client_id: str, graceful_timeout_s: float) -> KafkaBroker:
    """One broker per service: its producer waits for every in-sync replica, creates no topic."""
    return KafkaBroker(
        settings.bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=settings.enable_idempotence,
        linger_ms=2,
        # A relay batch (2000 envelopes of ~1 KiB over 6 partitions) is one record batch a partition
        # (aiokafka's 16 KiB made a produce request of every 16 records: the broker's and
        # the relay's time went into requests, not records). Below the 1 MiB a broker takes.
        max_batch_size=PRODUCER_BATCH_BYTES,
        request_timeout_ms=15000,
        allow_auto_create_topics=False,
        security=_security(settings),
        graceful_timeout=graceful_timeout_s,
        middlewares=[KafkaTelemetryMiddleware()],
        # The runner logs every outcome itself; FastStream's own lines are warnings and up.
        logger=logging.getLogger("faststream"),
        log_level=logging.DEBUG,
    )


def _security(settings: KafkaSettings) -> BaseSecurity | None:
    options = settings.client_options()
    context = options.get("ssl_context")
    if not settings.security_protocol.startswith("SASL"):
        return BaseSecurity(ssl_context=context) if context is not None else None
    user = settings.sasl_username or ""
    password = settings.sasl_password.get_secret_value() if settings.sasl_password else ""
    kind = {"SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}.get(
        settings.sasl_mechanism or "PLAIN", SASLPlaintext
    )
    return kind(user, password, ssl_context=context)


async def _raw(msg: StreamMessage[Any]) -> Any:
    """Pass-through decoder: poison bytes must reach the runner, not die in JSON decoding."""
    return msg.body


async def _safe_headers(
    message: tuple[Record, ...], original: Callable[[tuple[Record, ...]], Awaitable[Any]]
) -> Any:
    """FastStream decodes every header as UTF-8; a record with a broken header still counts."""
    try:
        return await original(message)
    except UnicodeDecodeError:
        return await original(tuple(_strip_bad_headers(r) for r in message))


def _strip_bad_headers(record: Record) -> Record:
    kept = []
    for name, value in record.headers:
        try:
            value.decode()
        except UnicodeDecodeError:
            continue
        kept.append((name, value))
    return dataclasses.replace(record, headers=tuple(kept))


def subscribe_batches(
    broker: KafkaBroker,
    settings: KafkaSettings,
    *,
    topics: list[str],
    group: str,
    max_records: int,
    listener: Any,
    on_batch: OnBatch,
) -> None:
    """The service's one batch subscriber: offsets are the runner's business (MANUAL)."""
    subscriber = broker.subscriber(
        *topics,
        batch=True,
        group_id=settings.topic(group),
        ack_policy=AckPolicy.MANUAL,
        auto_offset_reset="earliest",
        max_records=max_records,
        batch_timeout_ms=200,
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        session_timeout_ms=10000,
        heartbeat_interval_ms=1000,
        listener=listener,
        decoder=_raw,
        parser=_safe_headers,
        title=f"{group}/batches",
        description="Every record of the service's input topics, one partition batch at a time",
    )

    @subscriber
    async def handle(body: list[bytes], msg: KafkaMessage) -> None:
        await on_batch(msg.raw_message, msg.consumer)


def make_producer(settings: KafkaSettings, client_id: str) -> AIOKafkaProducer:
    return AIOKafkaProducer(
        client_id=client_id,
        acks="all",
        enable_idempotence=settings.enable_idempotence,
        linger_ms=2,
        request_timeout_ms=15000,
        **settings.client_options(),
    )


def make_consumer(
    settings: KafkaSettings, group_id: str, client_id: str, max_records: int
) -> AIOKafkaConsumer:
    # Offsets are committed after the work is done, never automatically.
    return AIOKafkaConsumer(
        client_id=client_id,
        group_id=settings.topic(group_id),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=max_records,
        fetch_max_wait_ms=settings.fetch_max_wait_ms,
        session_timeout_ms=10000,
        heartbeat_interval_ms=1000,
        isolation_level="read_uncommitted",
        **settings.client_options(),
    )
