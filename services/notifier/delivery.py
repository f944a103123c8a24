"""The durable delivery loop: lease due notifications, send after commit, record the result.

Exactly once per notification, with one window: a row is leased (attempts + 1, and
`next_attempt_at` pushed a lease ahead) in one transaction, sent outside any transaction,
and its result recorded in another, together with the notification.sent/failed outbox
row (and, for in_app, the inbox message itself, so in_app has no window at all). A crash
after sending and before recording hands the row back when the lease ends and it is sent
again: the webhook repeats the same `X-Orderflow-Event-Id` and the e-mail the same
Message-ID, so receivers can drop it. Recording checks the attempt number, so a sender
whose lease ran out can never overwrite a newer attempt's result.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import asyncpg
import structlog

from orderflow.services.notifier import inbox_store, store
from orderflow.services.notifier.dispatch import Dispatcher
from orderflow.services.notifier.messages import outcome_event
from orderflow.services.notifier.retry import (
    MarkFailed,
    MarkSent,
    Outcome,
    RetryAt,
    RetryPolicy,
    Transient,
    next_step,
)
from orderflow.services.notifier.store import Due
from orderflow.services.notifier.templates import Rendered
from orderflow.shared import metrics, outbox, topics
from orderflow.shared.envelope import record_key, utcnow
from orderflow.shared.errors import is_transient
from orderflow.shared.logging import get_logger

log = get_logger(__name__)


@dataclass(frozen=True)
class LoopSettings:
    batch_size: int = 50
    lease: timedelta = timedelta(seconds=60)
    poll_interval_s: float = 0.5


class DeliveryLoop:
    def __init__(
        self,
        pool: asyncpg.Pool,
        dispatcher: Dispatcher,
        policy: RetryPolicy,
        settings: LoopSettings,
        committed: Callable[[], None],
    ) -> None:
        self._pool, self._dispatcher, self._policy = pool, dispatcher, policy
        self._settings, self._committed = settings, committed

    async def run(self, stopping: asyncio.Event) -> None:
        await self._dispatcher.open()
        try:
            while not stopping.is_set():
                if await self._round() == 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stopping.wait(), self._settings.poll_interval_s)
        finally:
            await self._dispatcher.close()

    async def _round(self) -> int:
        try:
            return await self.deliver_due()
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning("delivery_retrying", error_type=type(exc).__name__)
            return 0

    async def deliver_due(self) -> int:
        """One round: every due notification (up to a batch) gets one attempt."""
        async with self._pool.acquire() as conn, conn.transaction():
            due = await store.lease_due(
                conn, utcnow(), self._settings.batch_size, self._settings.lease
            )
        if due:
            await asyncio.gather(*(self._deliver(d) for d in due))
            self._committed()
        return len(due)

    async def _deliver(self, due: Due) -> None:
        structlog.contextvars.bind_contextvars(
            tenant=due.cause.tenant,
            order_id=due.cause.order_id,
            notification_id=due.notification_id,
            channel=due.channel,
            role=due.recipient.role,
        )
        now = utcnow()
        try:
            outcome, rendered = await self._dispatcher.attempt(due, now)
        except Exception as exc:
            if is_transient(exc):
                raise  # the database: the lease hands the row back later
            # The type only: a message or traceback could quote an address or a name.
            log.error("delivery_error", error_type=type(exc).__name__)
            outcome, rendered = Transient(f"internal_{type(exc).__name__}"), None
        await self._record(due, outcome, rendered, utcnow())

    async def _record(
        self, due: Due, outcome: Outcome, rendered: Rendered | None, now: datetime
    ) -> None:
        step = next_step(outcome, due.attempts, now, self._policy, random.random())
        sent, error = isinstance(step, MarkSent), None
        async with self._pool.acquire() as conn, conn.transaction():
            if isinstance(step, RetryAt):
                await store.retry_at(conn, due, step.at, step.reason)
            else:
                error = step.reason if isinstance(step, MarkFailed) else None
                if not await store.finish(conn, due, "sent" if sent else "failed", now, error):
                    log.warning("notification_lease_lost", attempts=due.attempts)
                    return
                if sent and due.channel == "in_app" and rendered is not None:
                    await inbox_store.insert(conn, due, rendered)
                await _enqueue_outcome(conn, due, sent, now, error)
        if isinstance(step, RetryAt):
            metrics.NOTIFICATIONS.labels(due.cause.tenant, due.channel, "retried").inc()
            log.info("notification_retry", attempts=due.attempts, reason=step.reason)
            return
        metrics.NOTIFICATIONS.labels(
            due.cause.tenant, due.channel, "sent" if sent else "failed"
        ).inc()
        log.info(
            "notification_sent" if sent else "notification_failed",
            attempts=due.attempts,
            error=error,
        )


async def _enqueue_outcome(
    conn: asyncpg.Connection, due: Due, sent: bool, now: datetime, error: str | None
) -> None:
    cause = due.cause
    event = outcome_event(
        sent=sent,
        notification_id=due.notification_id,
        tenant=cause.tenant,
        order_id=cause.order_id,
        cause_event_id=cause.event_id,
        correlation_id=cause.correlation_id,
        recipient=due.recipient,
        channel=due.channel,
        template=due.template,
        attempts=due.attempts,
        now=now,
        error=error,
    )
    # Keyed by the order; a notification about no order by its recipient (a member).
    key = None if cause.order_id is not None else record_key(cause.tenant, due.recipient.id)
    await outbox.enqueue(conn, topics.NOTIFICATIONS, event, key=key)
