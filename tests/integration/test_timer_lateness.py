"""The timer loops' lateness gauge on the real Postgres: how long the earliest due timer has
waited, while a loop cannot fire it, and 0 once it fired and only future timers are left."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from prometheus_client import REGISTRY

from orderflow.shared.polling import earliest_in, poll_due
from tests.harness import eventually

pytestmark = pytest.mark.integration
LOOP = "lateness_test_timers"


def lateness() -> float | None:
    return REGISTRY.get_sample_value("orderflow_timer_lateness_seconds", {"timer": LOOP})


async def test_the_gauge_shows_the_earliest_due_timer_until_the_loop_fires_it(
    stack_env: dict[str, str],
) -> None:
    pool = await asyncpg.create_pool(stack_env["DATABASE_URL"], min_size=1, max_size=2)
    assert pool is not None
    stopping, can_fire = asyncio.Event(), asyncio.Event()

    async def fire_due() -> int:
        """A loop that fires nothing until it is let (a stuck loop), then all that is due."""
        if not can_fire.is_set():
            return 0
        done: str = await pool.execute("DELETE FROM lateness_timers WHERE due_at <= now()")
        return int(done.split()[-1])

    try:
        await pool.execute("CREATE TABLE lateness_timers (due_at timestamptz)")
        await pool.execute(
            "INSERT INTO lateness_timers VALUES (now() - interval '1 hour'),"
            " (now() - interval '1 minute'), (now() + interval '1 hour'), (NULL)"
        )
        earliest = earliest_in(pool, "lateness_timers", "due_at")
        loop = asyncio.create_task(poll_due(LOOP, fire_due, 0.05, stopping, earliest))

        async def behind() -> bool:
            return (lateness() or 0.0) >= 3600.0

        await eventually(behind, "the gauge to show the hour-old timer", 10)
        stuck = lateness()
        can_fire.set()

        async def caught_up() -> bool:
            return lateness() == 0.0

        await eventually(caught_up, "the gauge to fall to 0 once the due timers fired", 10)
        stopping.set()
        await asyncio.wait_for(loop, 5)
        left = await pool.fetchval("SELECT count(*) FROM lateness_timers WHERE due_at IS NOT NULL")
    finally:
        stopping.set()
        await pool.close()
    assert stuck is not None and 3600.0 <= stuck < 3660.0, "the earliest, not the latest, timer"
    assert left == 1, "the future timer is not due: it neither fired nor counts as late"
