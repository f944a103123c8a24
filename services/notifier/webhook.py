"""Webhook delivery: the notification as JSON, signed, with an event id stable across attempts."""

from __future__ import annotations

import json
from datetime import datetime

import httpx

from orderflow.services.notifier.retry import Outcome, Transient, classify_http
from orderflow.services.notifier.signing import EVENT_ID_HEADER, SIGNATURE_HEADER, sign
from orderflow.services.notifier.store import Due
from orderflow.services.notifier.templates import Rendered

USER_AGENT = "orderflow-notifier/1"


def body(due: Due, rendered: Rendered) -> bytes:
    """The JSON posted. Built only from stored facts, so every attempt posts the same bytes."""
    cause = due.cause
    payload = {
        "id": due.notification_id,
        "tenant": cause.tenant,
        "order_id": cause.order_id,
        "recipient": {"role": due.recipient.role, "id": due.recipient.id},
        "template": rendered.template,
        "language": rendered.language,
        "subject": rendered.subject,
        "text": rendered.text,
        "event": {
            "event_id": cause.event_id,
            "type": cause.type,
            "occurred_at": cause.occurred_at.isoformat(),
            "data": dict(cause.data),
        },
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


class WebhookSender:
    def __init__(self, timeout_s: float) -> None:
        self._timeout_s = timeout_s
        self._client: httpx.AsyncClient | None = None

    async def open(self) -> None:
        self._client = httpx.AsyncClient(timeout=self._timeout_s, follow_redirects=False)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def send(
        self, url: str, secret: str, event_id: str, content: bytes, now: datetime
    ) -> Outcome:
        """POST once; never raises. Each attempt is signed with its own timestamp."""
        assert self._client is not None, "open() first"
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            EVENT_ID_HEADER: event_id,
            SIGNATURE_HEADER: sign(secret, int(now.timestamp()), content),
        }
        try:
            response = await self._client.post(url, content=content, headers=headers)
        except httpx.TimeoutException:
            return Transient("timeout")
        except httpx.HTTPError as exc:
            return Transient(f"http_{type(exc).__name__}")
        return classify_http(response.status_code, response.headers.get("retry-after"), now)
