"""Composition root of the ingest service."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from orderflow.services.ingest import events, handlers, import_drop, payment_handlers
from orderflow.services.ingest.http_api import IngestApi
from orderflow.services.ingest.settings import IngestSettings
from orderflow.services.ingest.tracking_api import TrackingApi
from orderflow.services.ingest.webhooks.routes import WebhookApi
from orderflow.shared import topics
from orderflow.shared.service import Components, Loop, Runtime

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
    tracking = TrackingApi(runtime.pool, runtime.tenants, settings, runtime.relay.wake)
    return Components(
        handlers={
            topics.ORDERS_INBOUND: partial(handlers.on_order_reports, tenants=runtime.tenants),
            topics.TOUCHPOINTS_INBOUND: partial(handlers.on_touchpoints, tenants=runtime.tenants),
            topics.PAYMENTS_INBOUND: partial(
                payment_handlers.on_payment_records, tenants=runtime.tenants
            ),
        },
        routes=[*api.routes(), *webhooks.routes(), *tracking.routes()],
        loops=[_import_drop(runtime, settings)],
        topics=events.EVENTS.written(),
    )


def _import_drop(runtime: Runtime, settings: IngestSettings) -> Loop:
    """The FTP drop's watcher (import_drop.py)."""
    return partial(
        import_drop.watch,
        pool=runtime.pool,
        tenants=runtime.tenants,
        root=Path(settings.import_dir),
        poll_s=settings.import_poll_s,
    )
