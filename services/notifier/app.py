"""Composition root of the notifier service."""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from pathlib import Path

from orderflow.services.notifier import events, handlers
from orderflow.services.notifier.delivery import DeliveryLoop, LoopSettings
from orderflow.services.notifier.dispatch import Dispatcher
from orderflow.services.notifier.domain import rules_need_members_of_orders
from orderflow.services.notifier.http_api import InboxApi
from orderflow.services.notifier.mail import Mailer, SmtpConfig
from orderflow.services.notifier.retry import RetryPolicy
from orderflow.services.notifier.settings import NotifierSettings
from orderflow.services.notifier.templates import Templates
from orderflow.services.notifier.webhook import WebhookSender
from orderflow.shared import topics
from orderflow.shared.runner import Handler
from orderflow.shared.service import Components, Runtime
from orderflow.shared.tenants import TenantRegistry

NAME = "notifier"
MIGRATIONS = Path(__file__).parent / "migrations"
SETTINGS = NotifierSettings
ATTRIBUTION_EVENTS = frozenset({"order.attributed", "order.attribution_voided"})


def needs_attribution(tenants: TenantRegistry) -> bool:
    """orders.attribution.v1 is read only when some rule asks for it: a rule on an
    attribution event, or one that tells members about an order event."""
    for name in tenants.tenants():
        rules = tenants.get(name).notifications.rules
        if rules_need_members_of_orders(rules) or any(r.on in ATTRIBUTION_EVENTS for r in rules):
            return True
    return False


def smtp_config(settings: NotifierSettings) -> SmtpConfig:
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        security=settings.smtp_security,
        username=settings.smtp_username,
        password=password,
        validate_certs=settings.smtp_validate_certs,
        timeout_s=settings.smtp_timeout_s,
    )


def delivery_loop(runtime: Runtime, settings: NotifierSettings) -> DeliveryLoop:
    dispatcher = Dispatcher(
        runtime.pool,
        runtime.tenants,
        Templates(settings.templates_dir),
        Mailer(smtp_config(settings)),
        WebhookSender(settings.webhook_timeout_s),
    )
    policy = RetryPolicy(
        settings.max_attempts,
        settings.backoff_base_s,
        settings.backoff_max_s,
        settings.retry_after_max_s,
    )
    loop_settings = LoopSettings(
        settings.delivery_batch_size,
        timedelta(seconds=settings.delivery_lease_s),
        settings.delivery_poll_interval_s,
    )
    return DeliveryLoop(runtime.pool, dispatcher, policy, loop_settings, runtime.relay.wake)


def build(runtime: Runtime) -> Components:
    settings = runtime.settings
    assert isinstance(settings, NotifierSettings)
    on_event = partial(handlers.on_event, tenants=runtime.tenants)
    consumed: dict[str, Handler] = {
        topics.ORDER_REPORTS: handlers.on_order_reported,
        topics.ORDERS_LIFECYCLE: on_event,
        topics.REWARDS: on_event,
        topics.COMMISSIONS: on_event,
        topics.RECURRING: on_event,
    }
    if needs_attribution(runtime.tenants):
        consumed[topics.ORDERS_ATTRIBUTION] = partial(
            handlers.on_attribution, tenants=runtime.tenants
        )
    return Components(
        handlers=consumed,
        routes=InboxApi(runtime.pool, runtime.tenants).routes(),
        loops=[delivery_loop(runtime, settings).run],
        topics=events.EVENTS.written(),
    )
