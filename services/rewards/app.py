"""Composition root of the rewards service."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from orderflow.services.rewards import (
    customer_handlers,
    customers_parts,
    events,
    handlers,
    messages,
)
from orderflow.services.rewards.domain import Programme
from orderflow.services.rewards.http_api import RewardsApi
from orderflow.services.rewards.settings import RewardsSettings
from orderflow.services.rewards.timers import ApprovalTimers
from orderflow.shared import topics
from orderflow.shared.service import Components, Runtime
from orderflow.shared.tenants import TenantRegistry

NAME = "rewards"
MIGRATIONS = Path(__file__).parent / "migrations"
SETTINGS = RewardsSettings


def programmes(tenants: TenantRegistry) -> dict[str, Programme]:
    return {name: Programme.of(tenants.get(name)) for name in tenants.tenants()}


def build(runtime: Runtime) -> Components:
    settings = runtime.settings
    assert isinstance(settings, RewardsSettings)
    by_tenant = programmes(runtime.tenants)
    timers = ApprovalTimers(
        runtime.pool,
        settings.timer_poll_interval_s,
        settings.timer_batch_size,
        runtime.relay.wake,
    )
    api = RewardsApi(runtime.pool, runtime.tenants, settings.page_max)
    customers = customers_parts.build(runtime)  # CONTRACTS §11
    return Components(
        handlers={
            topics.ORDERS_LIFECYCLE: customer_handlers.chain(
                partial(handlers.on_orders, programmes=by_tenant, fact_of=messages.lifecycle_fact),
                customers.on_lifecycle,
            ),
            topics.ORDERS_ATTRIBUTION: partial(
                handlers.on_orders, programmes=by_tenant, fact_of=messages.attribution_fact
            ),
            topics.REWARDS_MEMBER_FACTS: partial(handlers.on_member_facts, programmes=by_tenant),
        },
        routes=api.routes() + customers.routes,
        loops=[timers.run, *customers.loops],
        topics=events.EVENTS.written(),
    )
