"""The consumer runner: FastStream delivers batches, the runner decides what is committed.

FastStream hosts the consumer (one batch subscriber per service over all its topics, with
`AckPolicy.MANUAL` and a pass-through decoder, see `shared/kafka.py`); the runner never calls
`ack()`/`nack()` and never lets an exception escape, because FastStream would log it and
move on. What the runner guarantees (each proved on the real broker in tests/integration):

- A partition's records are handled as one batch in one database transaction, by a
  set-based handler (`Handler`: all records of one topic-partition, in offset order).
- Offsets are committed only after that transaction committed, and only for that partition
  (`consumer.commit({tp: offset})`). A crash before the database commit redelivers; a crash
  after it redelivers into the inbox, which says "seen".
- A batch that fails for a reason other than infrastructure is replayed record by record,
  each in its own savepoint: a record that can never succeed (`Rejected`, or an unexpected
  error seen `poison_max_attempts` times) is rolled back alone and written to
  `<service>.dlq.v1` through the outbox, and the rest of the batch commits.
- Transient failures (database or broker down) roll the partition's batch back, seek the
  partition back to its first record and retry it after a backoff: nothing is skipped.
- Partitions are handled concurrently, each strictly in offset order, so one key's records
  are applied in order. A rebalance waits for the batch in flight.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeAlias

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError

from orderflow.shared import dead_letters, metrics, tracing
from orderflow.shared.envelope import utcnow
from orderflow.shared.errors import Rejected, is_transient
from orderflow.shared.logging import get_logger

log = get_logger(__name__)

Record: TypeAlias = ConsumerRecord[bytes, bytes]
# A set-based handler: every record of one topic-partition batch, in offset order, inside the
# runner's transaction. It may be called again with one record at a time to isolate a failure.
Handler = Callable[[asyncpg.Connection, Sequence[Record]], Awaitable[None]]


class _RetryBatch(Exception):
    """An unexpected error below its attempt limit: roll back and try the batch again."""


@dataclass
class _Failure:
    attempts: int = 0
    first_failed_at: datetime = field(default_factory=utcnow)


class WaitForInFlight(ConsumerRebalanceListener):
    """Before partitions are taken away, let the batch in flight commit (DB and offsets)."""

    def __init__(self, lock: asyncio.Lock) -> None:
        self._lock = lock

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        async with self._lock:
            pass

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        return None


class ConsumerRunner:
    def __init__(
        self,
        *,
        service: str,
        topic_of: Callable[[str], str],
        handlers: dict[str, Handler],
        pool: asyncpg.Pool,
        after_commit: Callable[[], None],
        max_attempts: int = 3,
        backoff_max_s: float = 5.0,
    ) -> None:
        self._service = service
        self._handlers = {topic_of(name): handler for name, handler in handlers.items()}
        self._logical = {topic_of(name): name for name in handlers}
        self._pool = pool
        self._after_commit = after_commit
        self._max_attempts = max_attempts
        self._backoff_max_s = backoff_max_s
        self._failures: dict[tuple[str, int, int], _Failure] = {}
        self._attempts: dict[TopicPartition, int] = {}
        self.in_flight = asyncio.Lock()
        self._stopping = asyncio.Event()

    @property
    def topics(self) -> list[str]:
        """The physical topic names this runner consumes."""
        return list(self._handlers)

    def listener(self) -> ConsumerRebalanceListener:
        return WaitForInFlight(self.in_flight)

    def stop(self) -> None:
        self._stopping.set()

    async def on_batch(self, records: Sequence[Record], consumer: AIOKafkaConsumer) -> None:
        """One fetch, flattened across partitions by FastStream: handle each partition."""
        by_partition: dict[TopicPartition, list[Record]] = {}
        for record in records:
            by_partition.setdefault(TopicPartition(record.topic, record.partition), []).append(
                record
            )
        async with self.in_flight:
            await asyncio.gather(
                *(self._run_partition(consumer, tp, recs) for tp, recs in by_partition.items())
            )

    async def _run_partition(
        self, consumer: AIOKafkaConsumer, tp: TopicPartition, records: list[Record]
    ) -> None:
        logical = self._logical[tp.topic]
        metrics.BATCH_RECORDS.labels(self._service, logical).observe(len(records))
        try:
            with metrics.HANDLE_SECONDS.labels(self._service).time():
                await self._handle_batch(logical, records)
        except Exception as exc:
            await self._retry_later(consumer, tp, records, exc)
            return
        self._attempts.pop(tp, None)
        self._after_commit()
        await self._commit_offset(consumer, tp, records[-1].offset + 1)
        highwater = consumer.highwater(tp)
        if highwater is not None:
            metrics.CONSUMER_LAG.labels(self._service, logical, str(tp.partition)).set(
                max(0, highwater - records[-1].offset - 1)
            )

    async def _retry_later(
        self,
        consumer: AIOKafkaConsumer,
        tp: TopicPartition,
        records: list[Record],
        exc: Exception,
    ) -> None:
        """Nothing of the batch committed: rewind the partition so the next fetch redelivers."""
        if not (is_transient(exc) or isinstance(exc, _RetryBatch)):
            log.exception("batch_failed_unexpectedly", topic=tp.topic, partition=tp.partition)
        attempt = self._attempts[tp] = self._attempts.get(tp, 0) + 1
        metrics.RETRIES.labels(self._service, type(exc).__name__).inc()
        log.warning(
            "batch_retry",
            topic=tp.topic,
            partition=tp.partition,
            first_offset=records[0].offset,
            attempt=attempt,
            error_type=type(exc).__name__,
            error=str(exc),
        )
        try:
            consumer.seek(tp, records[0].offset)
        except Exception as seek_error:  # partition revoked meanwhile: its new owner redelivers
            log.warning("seek_failed", error_type=type(seek_error).__name__)
        delay = min(self._backoff_max_s, 0.1 * 2**attempt) * random.uniform(0.5, 1.0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), delay)

    async def _handle_batch(self, topic: str, records: list[Record]) -> None:
        handler = self._handlers[records[0].topic]
        structlog.contextvars.bind_contextvars(
            topic=topic, partition=records[0].partition, offset=records[0].offset
        )
        try:
            with tracing.consumed(self._service, topic, records):
                await self._transact(topic, handler, records)
        finally:
            structlog.contextvars.unbind_contextvars(
                "topic", "partition", "offset", "tenant", "order_id", "event_id"
            )

    async def _transact(self, topic: str, handler: Handler, records: list[Record]) -> None:
        async with self._pool.acquire() as conn:
            try:
                async with conn.transaction():
                    await handler(conn, records)
                metrics.MESSAGES.labels(self._service, topic, "processed").inc(len(records))
            except Exception as exc:
                if is_transient(exc):
                    raise
                # Find the record(s) at fault: replay one by one, each in a savepoint.
                async with conn.transaction():
                    for record in records:
                        await self._handle_one(conn, topic, handler, record)

    async def _handle_one(
        self, conn: asyncpg.Connection, topic: str, handler: Handler, record: Record
    ) -> None:
        structlog.contextvars.bind_contextvars(offset=record.offset)
        try:
            async with conn.transaction():
                await handler(conn, [record])
            metrics.MESSAGES.labels(self._service, topic, "processed").inc()
        except Rejected as exc:
            await self._dead_letter(conn, topic, record, exc.error_type, exc.reason, _Failure(1))
        except Exception as exc:
            if is_transient(exc):
                raise
            key = (record.topic, record.partition, record.offset)
            failure = self._failures.setdefault(key, _Failure())
            failure.attempts += 1
            log.exception("handler_failed", attempts=failure.attempts)
            if failure.attempts < self._max_attempts:
                raise _RetryBatch(str(exc)) from exc
            await self._dead_letter(conn, topic, record, type(exc).__name__, str(exc), failure)

    async def _dead_letter(
        self,
        conn: asyncpg.Connection,
        topic: str,
        record: Record,
        error_type: str,
        error: str,
        failure: _Failure,
    ) -> None:
        await dead_letters.enqueue(
            conn,
            self._service,
            topic,
            record,
            error_type=error_type,
            error=error,
            attempts=failure.attempts,
            first_failed_at=failure.first_failed_at,
        )
        self._failures.pop((record.topic, record.partition, record.offset), None)
        metrics.MESSAGES.labels(self._service, topic, "dead_lettered").inc()
        log.warning("dead_lettered", error_type=error_type, error=error, attempts=failure.attempts)

    async def _commit_offset(
        self, consumer: AIOKafkaConsumer, tp: TopicPartition, offset: int
    ) -> None:
        started = time.monotonic()
        try:
            await consumer.commit({tp: offset})
        except KafkaError as exc:
            # The effects are committed in the database; a redelivery is absorbed by the inbox.
            log.warning(
                "offset_commit_failed",
                topic=tp.topic,
                partition=tp.partition,
                offset=offset,
                error_type=type(exc).__name__,
                seconds=round(time.monotonic() - started, 3),
            )
