"""The relay: publishes outbox rows in id order with acks=all, then marks them sent.

Killed at any point it loses nothing: rows are marked only after the broker acknowledged
them, so a relay that dies between publish and mark sends the same rows (same event_id)
again and downstream inboxes absorb them. One relay per schema is active at a time
(a session advisory lock), because two relays sending the same key would interleave.
A resend waits for the batch in flight (`outbox.SENDING_LOCK`), so none escapes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
from faststream.kafka import KafkaBroker

from orderflow.shared import metrics, outbox
from orderflow.shared.errors import is_transient
from orderflow.shared.logging import get_logger
from orderflow.shared.relay_publish import BatchSender, Published, can_never_publish, publish
from orderflow.shared.settings import KafkaSettings, ServiceSettings

__all__ = ["OutboxRelay", "Published", "RetryPublish", "can_never_publish"]
log = get_logger(__name__)
PRUNE_EVERY_S = 600.0
FAILING_FOR_S = 10.0


class OutboxRelay:
    def __init__(
        self,
        service: str,
        dsn_connect: Any,
        broker: KafkaBroker,
        kafka: KafkaSettings,
        settings: ServiceSettings,
    ) -> None:
        self._service = service
        self._connect = dsn_connect
        self.broker = broker
        self.sender = BatchSender(broker, kafka)
        self._settings = settings
        self._wake = asyncio.Event()
        self._stopping = False
        self._last_prune = 0.0
        self._last_count = 0.0
        self._failing_since: float | None = None
        self.is_leader = False

    def wake(self) -> None:
        """Called after a handler commits: publish now rather than at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            try:
                conn: asyncpg.Connection = await self._connect()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                await self._pause(exc)
                continue
            try:
                await self._lead(conn)
            except Exception as exc:
                if not (is_transient(exc) or isinstance(exc, RetryPublish)):
                    raise
                await self._pause(exc)
            finally:
                self.is_leader = False
                with contextlib.suppress(Exception):
                    await conn.close()

    def can_publish(self) -> bool:
        """False once publishing has failed without a success for `FAILING_FOR_S` seconds."""
        since = self._failing_since
        return since is None or time.monotonic() - since < FAILING_FOR_S

    async def _pause(self, exc: BaseException) -> None:
        if self._failing_since is None:
            self._failing_since = time.monotonic()
        log.warning("relay_retrying", error_type=type(exc).__name__, error=str(exc))
        await asyncio.sleep(1.0)

    async def _lead(self, conn: asyncpg.Connection) -> None:
        lock = f"outbox-relay:{self._service}"
        while not await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", lock):
            if self._stopping:
                return
            await asyncio.sleep(1.0)
        self.is_leader = True
        while not self._stopping:
            published = await self.publish_once(conn)
            self._failing_since = None
            await self._count_pending(conn)
            if published == 0:
                await self._idle(conn)
        await self.publish_once(conn)  # drain what the last handlers committed

    async def _count_pending(self, conn: asyncpg.Connection) -> None:
        """The backlog gauge SREs alert on, refreshed at most once a second."""
        now = time.monotonic()
        if now - self._last_count < 1.0:
            return
        self._last_count = now
        pending, parked = await outbox.backlog(conn)
        metrics.OUTBOX_PENDING.labels(self._service).set(pending)
        metrics.OUTBOX_PARKED.labels(self._service).set(parked)

    async def _idle(self, conn: asyncpg.Connection) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), self._settings.relay_poll_interval_s)
        self._wake.clear()
        if time.monotonic() - self._last_prune > PRUNE_EVERY_S:
            self._last_prune = time.monotonic()
            pruned = await outbox.prune_sent(conn, self._settings.outbox_retention_hours)
            if pruned:
                log.info("outbox_pruned", rows=pruned)

    async def publish_once(self, conn: asyncpg.Connection) -> int:
        """Publish one batch of unsent rows and mark them; returns how many were published.

        Only a row the broker can never take (`can_never_publish`) is parked, with its error;
        later rows of its key wait behind it (`outbox.fetch_unsent`) until it is released.
        Any other failure leaves its rows unsent and raises, so they are tried again.
        """
        async with _sending(conn):  # a resend waits until this batch is marked
            rows = await outbox.fetch_unsent(conn, self._settings.relay_batch_size)
            if not rows:
                return 0
            outcome = await self.publish(rows)
            await outbox.mark_sent(conn, outcome.sent)
            for row, error in outcome.parked:
                await outbox.park(conn, row.id, f"{type(error).__name__}: {error}")
                log.error(
                    "outbox_row_parked",
                    outbox_id=row.id,
                    event_id=row.event_id,
                    topic=row.topic,
                    error_type=type(error).__name__,
                    error=str(error),
                )
        metrics.RELAY_PUBLISHED.labels(self._service).inc(len(outcome.sent))
        if outcome.retry is not None:
            # Whatever its type (Tansu's UnknownError while it restarts is not "retriable" to
            # aiokafka), a failure that is not can_never_publish may pass: try again later.
            raise RetryPublish(
                f"{type(outcome.retry).__name__}: {outcome.retry}"
            ) from outcome.retry
        return len(outcome.sent)

    async def publish(self, rows: list[outbox.OutboxRow]) -> Published:
        """Send every row and wait for every acknowledgement (`relay_publish.publish`)."""
        return await publish(self.sender, rows)


@contextlib.asynccontextmanager
async def _sending(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """The relay's hold on its batch, from fetching it until its rows are marked."""
    await conn.execute(f"SELECT pg_advisory_lock_shared({outbox.SENDING_LOCK})")
    try:
        yield
    finally:
        if not conn.is_closed():  # else the session, and its lock, are gone already
            await conn.execute(f"SELECT pg_advisory_unlock_shared({outbox.SENDING_LOCK})")


class RetryPublish(Exception):
    """A publish failure that may pass: the rows stay unsent and the relay tries again."""
