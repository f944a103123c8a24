"""What customers and segments add to the rewards service: one step, routes, loops.

Kept apart from app.py so the composition root gains three lines: the orders.lifecycle.v1
step (after the commission step, in its transaction), the §11 routes, and two loops (the
rebuild at start, the durable segment timers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial

from starlette.routing import BaseRoute

from orderflow.services.rewards import customer_handlers
from orderflow.services.rewards.customers_api import CustomersApi
from orderflow.services.rewards.segment_rebuild import SegmentRebuild
from orderflow.services.rewards.segment_timers import SegmentTimers
from orderflow.services.rewards.settings import RewardsSettings
from orderflow.shared.runner import Handler
from orderflow.shared.service import Runtime


@dataclass(frozen=True)
class CustomerParts:
    on_lifecycle: Handler
    routes: list[BaseRoute]
    loops: list[Callable[[asyncio.Event], Awaitable[None]]]


def build(runtime: Runtime) -> CustomerParts:
    settings = runtime.settings
    assert isinstance(settings, RewardsSettings)
    tenants = runtime.tenants
    segments = {name: tenants.get(name).segments for name in tenants.tenants()}
    timers = SegmentTimers(
        runtime.pool,
        segments,
        settings.timer_poll_interval_s,
        settings.timer_batch_size,
        runtime.relay.wake,
    )
    reload_s = settings.tenants_reload_s
    rebuild = SegmentRebuild(runtime.pool, tenants, segments, runtime.relay.wake, reload_s)
    return CustomerParts(
        on_lifecycle=partial(customer_handlers.on_confirmed, segments=segments),
        routes=CustomersApi(runtime.pool, tenants, segments).routes(),
        loops=[rebuild.run, timers.run],
    )
