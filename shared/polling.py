"""The loop behind every durable timer: fire what is due, wait, repeat, until stopped.

A transient failure (database down) is logged and tried again at the next tick; anything
else ends the loop, which stops the service so the orchestrator restarts it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from orderflow.shared import metrics
from orderflow.shared.errors import is_transient
from orderflow.shared.logging import get_logger

log = get_logger(__name__)


async def poll_due(
    name: str,
    fire_due: Callable[[], Awaitable[int]],
    interval_s: float,
    stopping: asyncio.Event,
    idle: Callable[[asyncio.Event], Awaitable[None]] | None = None,
) -> None:
    """Call `fire_due` until `stopping`; wait `interval_s` only when nothing was due (or
    `idle(stopping)`, a wait of the caller's own that returns early when `stopping` is set)."""
    while not stopping.is_set():
        fired = 0
        try:
            fired = await fire_due()
            metrics.TIMERS_FIRED.labels(name).inc(fired)
        except Exception as exc:
            if not is_transient(exc):
                raise
            log.warning(f"{name}_retrying", error_type=type(exc).__name__, error=str(exc))
        if fired == 0 and idle is not None:
            await idle(stopping)
        elif fired == 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), interval_s)
