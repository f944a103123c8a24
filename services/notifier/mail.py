"""E-mail over real SMTP (aiosmtplib): composing the message and classifying what the server says.

The Message-ID is derived from the notification id, so a message re-sent after a crash
between sending and recording carries the same id, and mail systems that deduplicate on
it (and every mail client's threading) see one message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

import aiosmtplib

from orderflow.services.notifier.retry import (
    Delivered,
    Outcome,
    Transient,
    classify_smtp_code,
)
from orderflow.services.notifier.store import Due
from orderflow.services.notifier.templates import Rendered

NOTIFICATION_HEADER = "X-Orderflow-Notification-Id"
# Ids only, never personal data: what the message is about and for whom, for filtering.
ORDER_HEADER = "X-Orderflow-Order-Id"
RECIPIENT_HEADER = "X-Orderflow-Recipient"


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    security: str = "plain"  # plain, starttls or tls
    username: str | None = None
    password: str | None = None
    validate_certs: bool = True
    timeout_s: float = 10.0


def message_id(notification_id: str, sender: str) -> str:
    return f"<{notification_id}@{sender.rpartition('@')[2]}>"


def compose(sender: str, to: str, rendered: Rendered, due: Due, now: datetime) -> EmailMessage:
    notification_id = due.notification_id
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(notification_id, sender)
    message[NOTIFICATION_HEADER] = notification_id
    message[RECIPIENT_HEADER] = f"{due.recipient.role}:{due.recipient.id}"
    if due.cause.order_id is not None:
        message[ORDER_HEADER] = due.cause.order_id
    message["Content-Language"] = rendered.language
    message.set_content(rendered.text)
    if rendered.html is not None:
        message.add_alternative(rendered.html, subtype="html")
    return message


class Mailer:
    def __init__(self, config: SmtpConfig) -> None:
        self._config = config

    async def send(self, message: EmailMessage) -> Outcome:
        """Deliver to the SMTP server; never raises. Reasons carry codes, never the server's
        text, which often quotes the recipient's address."""
        config = self._config
        try:
            await aiosmtplib.send(
                message,
                hostname=config.host,
                port=config.port,
                username=config.username,
                password=config.password,
                use_tls=config.security == "tls",
                start_tls=config.security == "starttls",
                validate_certs=config.validate_certs,
                timeout=config.timeout_s,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            return classify_smtp_code(max((r.code for r in exc.recipients), default=550))
        except aiosmtplib.SMTPResponseException as exc:
            return classify_smtp_code(exc.code)
        except (aiosmtplib.SMTPException, OSError) as exc:
            return Transient(f"smtp_{type(exc).__name__}")
        return Delivered()
