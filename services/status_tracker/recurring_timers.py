"""The durable timer of recurring charges: publish each `recurring.charge_due` as it falls due.

The timer is the row's `due_at` (migration 0004), written with the state that set it. A
poll costs one probe of the partial index when nothing is due, and the loop then sleeps
until the earliest due time, at most `interval_s` (a timer set meanwhile by another
replica is seen at the next poll; one set here wakes the loop at once). Due rows are
claimed in batches with `FOR UPDATE SKIP LOCKED`, and firing clears `due_at` and enqueues
the event in the same transaction: with several replicas, and across a SIGKILL (the
transaction rolls back, the row stays due), each charge is published once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime

import asyncpg

from orderflow.services.status_tracker import recurring_handlers, recurring_store
from orderflow.services.status_tracker.recurring_state import Policy
from orderflow.shared.envelope import utcnow
from orderflow.shared.logging import get_logger
from orderflow.shared.polling import earliest_in, poll_due

log = get_logger(__name__)


class RecurringTimers:
    def __init__(
        self,
        pool: asyncpg.Pool,
        policies: Mapping[str, Policy],
        interval_s: float,
        batch_size: int,
        committed: Callable[[], None],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._pool, self._policies, self._clock = pool, policies, clock
        self._interval_s, self._batch_size, self._committed = interval_s, batch_size, committed
        self._wait_s = interval_s
        self._woken = asyncio.Event()

    def wake(self) -> None:
        """A timer was set due now (an activate): look at once instead of at the next poll."""
        self._woken.set()

    async def run(self, stopping: asyncio.Event) -> None:
        earliest = earliest_in(self._pool, "recurring_orders", "due_at")
        await poll_due(
            "recurring_timers", self.fire_due, self._interval_s, stopping, earliest, self._idle
        )

    async def _idle(self, stopping: asyncio.Event) -> None:
        self._woken.clear()
        waits = [asyncio.ensure_future(stopping.wait()), asyncio.ensure_future(self._woken.wait())]
        _, pending = await asyncio.wait(waits, timeout=self._wait_s, return_when="FIRST_COMPLETED")
        for task in pending:
            task.cancel()

    async def fire_due(self) -> int:
        """Fire one batch of due charges; 0 when none is due (then `_wait_s` is set)."""
        now = self._clock()
        async with self._pool.acquire() as conn:
            due = await recurring_store.next_due(conn)
            if due is None or due > now:
                wait = self._interval_s if due is None else (due - now).total_seconds()
                self._wait_s = min(self._interval_s, max(wait, 0.0))
                return 0
            async with conn.transaction():
                fired = await recurring_handlers.fire_due(
                    conn, now, self._batch_size, self._policies
                )
        self._wait_s = self._interval_s  # none fired: another replica holds the due rows
        if fired:
            log.info("recurring_charges_due", count=fired)
            self._committed()
        return fired
