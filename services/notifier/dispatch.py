"""One delivery attempt of one notification: address, render, send. Never raises for the
notification's own problems: they become outcomes the retry policy decides about."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from orderflow.services.notifier import mail, store, webhook
from orderflow.services.notifier.domain import static_address
from orderflow.services.notifier.mail import Mailer
from orderflow.services.notifier.messages import Contact
from orderflow.services.notifier.retry import Delivered, Outcome, Permanent, Transient
from orderflow.services.notifier.store import Due
from orderflow.services.notifier.templates import Rendered, TemplateFailed, Templates, context
from orderflow.services.notifier.webhook import WebhookSender
from orderflow.shared.logging import get_logger
from orderflow.shared.tenants import TenantConfig, TenantRegistry, UnknownTenant

log = get_logger(__name__)


class Dispatcher:
    def __init__(
        self,
        pool: asyncpg.Pool,
        tenants: TenantRegistry,
        templates: Templates,
        mailer: Mailer,
        webhooks: WebhookSender,
    ) -> None:
        self._pool, self._tenants, self._templates = pool, tenants, templates
        self._mailer, self._webhooks = mailer, webhooks

    async def open(self) -> None:
        await self._webhooks.open()

    async def close(self) -> None:
        await self._webhooks.close()

    async def attempt(self, due: Due, now: datetime) -> tuple[Outcome, Rendered | None]:
        try:
            config = self._tenants.get(due.cause.tenant)
        except UnknownTenant:
            return Permanent("unknown_tenant"), None
        contact = await self._contact(due)
        try:
            rendered = self._render(config, due, contact)
        except TemplateFailed as exc:
            log.warning("template_failed", template=due.template, error=str(exc))
            return Permanent("template_error"), None
        if due.channel == "in_app":
            return Delivered(), rendered  # stored with the result, in one transaction
        if due.channel == "email":
            return await self._email(config, due, contact, rendered, now), rendered
        return await self._webhook(config, due, rendered, now), rendered

    async def _contact(self, due: Due) -> Contact | None:
        if due.recipient.role != "customer":
            return None
        async with self._pool.acquire() as conn:
            return await store.contact(conn, due.cause.tenant, due.recipient.id, due.cause.order_id)

    def _render(self, config: TenantConfig, due: Due, contact: Contact | None) -> Rendered:
        cause = due.cause
        values = context(
            cause.tenant,
            cause.type,
            cause.order_id,
            cause.data,
            {"role": due.recipient.role, "id": due.recipient.id},
            contact.name if contact is not None else None,
        )
        return self._templates.render(
            cause.tenant, due.template, cause.type, config.language, values
        )

    async def _email(
        self,
        config: TenantConfig,
        due: Due,
        contact: Contact | None,
        rendered: Rendered,
        now: datetime,
    ) -> Outcome:
        channel = config.notifications.email
        if channel is None:
            return Permanent("email_not_configured")
        if due.recipient.role == "customer":
            if contact is None:
                # The order's report (with the contact) may still be on its way: retry.
                return Transient("contact_unknown")
            address = contact.email
        else:
            address = static_address(channel, due.recipient)
        if address is None:
            return Permanent("no_email_address")
        try:
            message = mail.compose(channel.sender, address, rendered, due, now)
        except (ValueError, TypeError):
            return Permanent("invalid_email_address")
        return await self._mailer.send(message)

    async def _webhook(
        self, config: TenantConfig, due: Due, rendered: Rendered, now: datetime
    ) -> Outcome:
        hook = config.notifications.webhook
        if hook is None:
            return Permanent("webhook_not_configured")
        content = webhook.body(due, rendered)
        secret = hook.secret.get_secret_value()
        return await self._webhooks.send(
            hook.url, secret, due.notification_id, content, now, hook.allow_private_network
        )
