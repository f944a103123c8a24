"""The durable pending-payment timer loop.

The timer is the order row's `expiry_due_at`, written in the same transaction as the state
that set it, so it survives restarts. Firing runs under the order's lock and re-checks the
due time, and the fired state clears it: a timer fires once, even with several replicas,
and a confirmation that committed first has already cancelled it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg

from orderflow.services.status_tracker import store
from orderflow.services.status_tracker.domain import ExpiryRule
from orderflow.services.status_tracker.handlers import fire_expiry
from orderflow.shared.envelope import utcnow
from orderflow.shared.logging import get_logger
from orderflow.shared.polling import earliest_in, poll_due

log = get_logger(__name__)


class ExpiryTimers:
    def __init__(
        self,
        pool: asyncpg.Pool,
        rules: dict[str, ExpiryRule],
        interval_s: float,
        batch_size: int,
        committed: Callable[[], None],
    ) -> None:
        self._pool, self._rules = pool, rules
        self._interval_s, self._batch_size, self._committed = interval_s, batch_size, committed

    async def run(self, stopping: asyncio.Event) -> None:
        earliest = earliest_in(self._pool, "orders", "expiry_due_at")
        await poll_due("expiry_timers", self.fire_due, self._interval_s, stopping, earliest)

    async def fire_due(self) -> int:
        now = utcnow()
        async with self._pool.acquire() as conn:
            due = await store.due_timers(conn, now, self._batch_size)
        fired = 0
        for tenant, order_id, due_at in due:
            async with self._pool.acquire() as conn, conn.transaction():
                rule = self._rules.get(tenant, ExpiryRule())
                fired += await fire_expiry(conn, tenant, order_id, due_at, now, rule)
        if fired:
            log.info("expiry_timers_fired", count=fired)
            self._committed()
        return fired
