"""The loop behind every durable timer: fire what is due, wait, repeat, until stopped.

A transient failure (database down) is logged and tried again at the next tick; anything
else ends the loop, which stops the service so the orchestrator restarts it. After a round,
at most once a second, the loop reports how late its earliest due timer is
(`orderflow_timer_lateness_seconds`): firing keeps it near 0, a loop that falls behind, or
fires nothing while timers are due, lets it grow.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from datetime import datetime

import asyncpg

from orderflow.shared import metrics
from orderflow.shared.envelope import utcnow
from orderflow.shared.errors import is_transient
from orderflow.shared.logging import get_logger

log = get_logger(__name__)


Earliest = Callable[[], Awaitable[datetime | None]]
LATENESS_EVERY_S = 1.0


async def earliest(conn: asyncpg.Connection, table: str, column: str) -> datetime | None:
    """The earliest time set in a timer column: one probe of its partial index."""
    due: datetime | None = await conn.fetchval(
        f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL ORDER BY {column} LIMIT 1"
    )
    return due


def earliest_in(pool: asyncpg.Pool, table: str, column: str) -> Earliest:
    """`earliest` of the column, each time on a connection of the pool."""

    async def probe() -> datetime | None:
        async with pool.acquire() as conn:
            return await earliest(conn, table, column)

    return probe


def lateness_s(earliest: datetime | None, now: datetime) -> float:
    """How long the earliest timer has been due at `now`; 0 when none is set or due yet."""
    return 0.0 if earliest is None else max(0.0, (now - earliest).total_seconds())


async def poll_due(
    name: str,
    fire_due: Callable[[], Awaitable[int]],
    interval_s: float,
    stopping: asyncio.Event,
    earliest: Earliest,
    idle: Callable[[asyncio.Event], Awaitable[None]] | None = None,
) -> None:
    """Call `fire_due` until `stopping`; wait `interval_s` only when nothing was due (or
    `idle(stopping)`, a wait of the caller's own that returns early when `stopping` is set).
    `earliest` gives the loop's earliest timer, for the lateness gauge."""
    reported = -LATENESS_EVERY_S
    while not stopping.is_set():
        fired = 0
        try:
            fired = await fire_due()
            metrics.TIMERS_FIRED.labels(name).inc(fired)
            if (clock := time.monotonic()) - reported >= LATENESS_EVERY_S:
                reported = clock
                late = lateness_s(await earliest(), utcnow())
                metrics.TIMER_LATENESS.labels(name).set(late)
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning(f"{name}_retrying", error_type=type(exc).__name__, error=str(exc))
        if fired == 0 and idle is not None:
            await idle(stopping)
        elif fired == 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), interval_s)
