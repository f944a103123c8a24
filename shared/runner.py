"""The consumer runner: records in, one database transaction per partition batch, offsets after.

Guarantees (each proved on the real broker in tests/integration):
- Offsets are committed only after the database transaction that took the records' effect
  committed, and only for the partition that was processed. A crash before the database
  commit redelivers; a crash after it redelivers into the inbox, which says "seen".
- Each record runs in its own savepoint: a record that can never succeed (`Rejected`, or an
  unexpected error seen `poison_max_attempts` times) is rolled back alone, written to
  `<service>.dlq.v1` through the outbox in the same transaction, and the partition moves on.
- Transient failures (database or broker down) roll the whole batch back and retry it with
  backoff, forever: nothing is skipped.
- Partitions are handled concurrently, each strictly in offset order, so one key's records
  are applied in order.
"""

from __future__ import annotations

import asyncio
import base64
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg
import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import KafkaError

from orderflow.shared import metrics, outbox
from orderflow.shared.envelope import new_event, utcnow
from orderflow.shared.errors import Rejected, is_transient
from orderflow.shared.logging import get_logger
from orderflow.shared.topics import dead_letter_topic

log = get_logger(__name__)

Handler = Callable[[asyncpg.Connection, ConsumerRecord[bytes, bytes]], Awaitable[None]]


class _RetryBatch(Exception):
    """An unexpected error below its attempt limit: roll back and try the batch again."""


@dataclass
class _Failure:
    attempts: int = 0
    first_failed_at: datetime = field(default_factory=utcnow)


class _WaitForInFlight(ConsumerRebalanceListener):
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
        consumer: AIOKafkaConsumer,
        topic_of: Callable[[str], str],
        handlers: dict[str, Handler],
        pool: asyncpg.Pool,
        after_commit: Callable[[], None],
        max_attempts: int = 3,
        backoff_max_s: float = 5.0,
    ) -> None:
        self._service = service
        self._consumer = consumer
        self._handlers = {topic_of(name): handler for name, handler in handlers.items()}
        self._logical = {topic_of(name): name for name in handlers}
        self._pool = pool
        self._after_commit = after_commit
        self._max_attempts = max_attempts
        self._backoff_max_s = backoff_max_s
        self._failures: dict[tuple[str, int, int], _Failure] = {}
        self._in_flight = asyncio.Lock()
        self._stopping = asyncio.Event()
        self.started = False

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        self._consumer.subscribe(list(self._handlers), listener=_WaitForInFlight(self._in_flight))
        await self._consumer.start()
        self.started = True
        try:
            while not self._stopping.is_set():
                batches = await self._consumer.getmany(timeout_ms=200)
                if batches:
                    async with self._in_flight:
                        await asyncio.gather(
                            *(self._run_partition(tp, recs) for tp, recs in batches.items())
                        )
        finally:
            await self._consumer.stop()

    async def _run_partition(
        self, tp: TopicPartition, records: list[ConsumerRecord[bytes, bytes]]
    ) -> None:
        attempt = 0
        while True:
            try:
                with metrics.HANDLE_SECONDS.labels(self._service).time():
                    await self._handle_batch(records)
                break
            except Exception as exc:
                if not (is_transient(exc) or isinstance(exc, _RetryBatch)):
                    raise
                attempt += 1
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
                if self._stopping.is_set():
                    return  # not committed: the records are redelivered after restart
                await asyncio.sleep(
                    min(self._backoff_max_s, 0.1 * 2**attempt) * random.uniform(0.5, 1.0)
                )
        self._after_commit()
        await self._commit_offset(tp, records[-1].offset + 1)

    async def _handle_batch(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            for record in records:
                await self._handle_one(conn, record)

    async def _handle_one(
        self, conn: asyncpg.Connection, record: ConsumerRecord[bytes, bytes]
    ) -> None:
        topic = self._logical[record.topic]
        structlog.contextvars.bind_contextvars(
            topic=topic, partition=record.partition, offset=record.offset
        )
        try:
            async with conn.transaction():
                await self._handlers[record.topic](conn, record)
            metrics.MESSAGES.labels(self._service, topic, "processed").inc()
        except Rejected as exc:
            await self._dead_letter(conn, record, exc.error_type, exc.reason, 1, utcnow())
        except Exception as exc:
            if is_transient(exc):
                raise
            failure = self._failures.setdefault(
                (record.topic, record.partition, record.offset), _Failure()
            )
            failure.attempts += 1
            log.exception("handler_failed", attempts=failure.attempts)
            if failure.attempts < self._max_attempts:
                raise _RetryBatch(str(exc)) from exc
            await self._dead_letter(
                conn,
                record,
                type(exc).__name__,
                str(exc),
                failure.attempts,
                failure.first_failed_at,
            )
        finally:
            structlog.contextvars.unbind_contextvars(
                "topic", "partition", "offset", "tenant", "order_id", "event_id"
            )

    async def _dead_letter(
        self,
        conn: asyncpg.Connection,
        record: ConsumerRecord[bytes, bytes],
        error_type: str,
        error: str,
        attempts: int,
        first_failed_at: datetime,
    ) -> None:
        topic = self._logical[record.topic]
        key = record.key.decode(errors="replace") if record.key else ""
        tenant = key.split(":", 1)[0] if ":" in key else "unknown"
        position = f"{topic}:{record.partition}:{record.offset}"
        event = new_event(
            type="dead_letter",
            tenant=tenant,
            order_id=None,
            occurred_at=utcnow(),
            causation_id=position,
            correlation_id=position,
            data={
                "topic": topic,
                "partition": record.partition,
                "offset": record.offset,
                "key": key,
                "value": base64.b64encode(record.value or b"").decode(),
                "error_type": error_type,
                "error": error,
                "attempts": attempts,
                "first_failed_at": first_failed_at.isoformat(),
            },
        )
        await outbox.enqueue(conn, dead_letter_topic(self._service), event, key=record.key)
        self._failures.pop((record.topic, record.partition, record.offset), None)
        metrics.MESSAGES.labels(self._service, topic, "dead_lettered").inc()
        log.warning("dead_lettered", error_type=error_type, error=error, attempts=attempts)

    async def _commit_offset(self, tp: TopicPartition, offset: int) -> None:
        started = time.monotonic()
        try:
            await self._consumer.commit({tp: offset})
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
