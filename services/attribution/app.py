"""Composition root of the attribution service."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from orderflow.services.attribution import events, handlers
from orderflow.services.attribution.http_api import AttributionApi
from orderflow.services.attribution.settings import AttributionSettings
from orderflow.shared import topics
from orderflow.shared.service import Components, Runtime

NAME = "attribution"
MIGRATIONS = Path(__file__).parent / "migrations"
SETTINGS = AttributionSettings


def build(runtime: Runtime) -> Components:
    settings = runtime.settings
    assert isinstance(settings, AttributionSettings)
    api = AttributionApi(runtime.pool, runtime.tenants, settings, runtime.relay.wake)
    tenants = runtime.tenants
    return Components(
        handlers={
            topics.ORDER_REPORTS: partial(handlers.on_order_reported, tenants=tenants),
            topics.TOUCHPOINTS_RECORDED: partial(handlers.on_touchpoint, tenants=tenants),
            topics.ORDERS_LIFECYCLE: partial(handlers.on_lifecycle, tenants=tenants),
        },
        routes=api.routes(),
        topics=events.EVENTS.written(),
    )
