"""Composition root of the ingest service."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from orderflow.services.ingest import events, handlers, payment_handlers
from orderflow.services.ingest.http_api import IngestApi
from orderflow.services.ingest.settings import IngestSettings
from orderflow.services.ingest.webhooks.routes import WebhookApi
from orderflow.shared import topics
from orderflow.shared.service import Components, Runtime

NAME = "ingest"
MIGRATIONS = Path(__file__).parent / "migrations"
SETTINGS = IngestSettings


def build(runtime: Runtime) -> Components:
    settings = runtime.settings
    assert isinstance(settings, IngestSettings)
    api = IngestApi(runtime.pool, runtime.tenants, settings, runtime.relay.wake)
    webhooks = WebhookApi(
        runtime.pool, runtime.tenants, settings, runtime.relay.wake, buckets=api.buckets
    )
    return Components(
        handlers={
            topics.ORDERS_INBOUND: partial(handlers.on_order_reports, tenants=runtime.tenants),
            topics.TOUCHPOINTS_INBOUND: partial(handlers.on_touchpoints, tenants=runtime.tenants),
            topics.PAYMENTS_INBOUND: partial(
                payment_handlers.on_payment_records, tenants=runtime.tenants
            ),
        },
        routes=[*api.routes(), *webhooks.routes()],
        topics=events.EVENTS.written(),
    )
