"""The durable approval timer loop.

A timer is a line's `approve_due_at`, written in the same transaction as the accrual that
set it, so it survives restarts. Firing runs under the order's lock, re-checks the due time,
and clears it in the transaction that appends the approval: a timer fires once, even with
several replicas, and a reversal that committed first has already cancelled it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

import asyncpg

from orderflow.services.rewards import store
from orderflow.services.rewards.handlers import fire_approval
from orderflow.shared.envelope import utcnow
from orderflow.shared.logging import get_logger
from orderflow.shared.polling import earliest_in, poll_due

log = get_logger(__name__)


class ApprovalTimers:
    def __init__(
        self,
        pool: asyncpg.Pool,
        interval_s: float,
        batch_size: int,
        committed: Callable[[], None],
    ) -> None:
        self._pool, self._interval_s = pool, interval_s
        self._batch_size, self._committed = batch_size, committed

    async def run(self, stopping: asyncio.Event) -> None:
        earliest = earliest_in(self._pool, "lines", "approve_due_at")
        await poll_due("approval_timers", self.fire_due, self._interval_s, stopping, earliest)

    async def fire_due(self, now: datetime | None = None) -> int:
        """Fire every timer due at `now` (default: the clock); returns how many fired."""
        now = now or utcnow()
        async with self._pool.acquire() as conn:
            due = await store.due_approvals(conn, now, self._batch_size)
        fired = 0
        for tenant, order_id, line_id, due_at in due:
            async with self._pool.acquire() as conn, conn.transaction():
                fired += await fire_approval(conn, tenant, order_id, line_id, due_at, now)
        if fired:
            log.info("approval_timers_fired", count=fired)
            self._committed()
        return fired
