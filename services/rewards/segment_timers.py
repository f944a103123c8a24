"""The durable segment timer loop: a customer leaves `recent` on day 91 without a new order.

A customer's timer is `customers.segments_due_at`, the next instant a time condition of the
tenant's segments can change their membership, written in the transaction that changed
their statistics or membership, so it survives restarts. Firing runs under the customer's
lock, re-checks the due time and writes the next one with the moves: a timer fires once,
even with several replicas. No nightly scan: only customers whose time came are read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import asyncpg

from orderflow.services.rewards import customer_handlers, customer_store
from orderflow.services.rewards.customer_handlers import Segments
from orderflow.shared.envelope import utcnow
from orderflow.shared.logging import get_logger
from orderflow.shared.polling import earliest_in, poll_due

log = get_logger(__name__)


class SegmentTimers:
    def __init__(
        self,
        pool: asyncpg.Pool,
        segments: Segments,
        interval_s: float,
        batch_size: int,
        committed: Callable[[], None],
    ) -> None:
        self._pool, self._segments = pool, segments
        self._interval_s, self._batch_size, self._committed = interval_s, batch_size, committed

    async def run(self, stopping: asyncio.Event) -> None:
        earliest = earliest_in(self._pool, "customers", "segments_due_at")
        await poll_due("segment_timers", self.fire_due, self._interval_s, stopping, earliest)

    async def fire_due(self, now: datetime | None = None) -> int:
        """Evaluate every customer due at `now` (default: the clock), a batch per transaction."""
        now = now or utcnow()
        async with self._pool.acquire() as conn:
            keys = await customer_store.due(conn, now, self._batch_size)
            if not keys:
                return 0
            async with conn.transaction():
                fired = await customer_handlers.fire_due(conn, keys, self._segments, now)
        if fired:
            log.info("segment_timers_fired", count=fired)
            self._committed()
        return fired
