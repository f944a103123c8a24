"""Webhook delivery: the notification as JSON, signed, with an event id stable across attempts."""

from __future__ import annotations

import json
from datetime import datetime

import httpx

from orderflow.services.notifier.destinations import (
    REFUSED_REASON,
    DestinationRefused,
    PublicOnlyBackend,
    PublicOnlyTransport,
)
from orderflow.services.notifier.retry import Outcome, Permanent, Transient, classify_http
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
    """Posts to public addresses only (destinations.py), or anywhere for a tenant that
    allows its private network. Never follows a redirect, which could lead anywhere."""

    def __init__(self, timeout_s: float, backend: PublicOnlyBackend | None = None) -> None:
        self._timeout_s = timeout_s
        self._backend = backend or PublicOnlyBackend()
        self._public: httpx.AsyncClient | None = None
        self._any: httpx.AsyncClient | None = None

    async def open(self) -> None:
        self._public = self._client(PublicOnlyTransport(self._backend))
        self._any = self._client(None)

    def _client(self, transport: httpx.AsyncBaseTransport | None) -> httpx.AsyncClient:
        # No proxy from the environment: the address checked is the address connected to.
        return httpx.AsyncClient(
            transport=transport, timeout=self._timeout_s, follow_redirects=False, trust_env=False
        )

    async def close(self) -> None:
        for client in (self._public, self._any):
            if client is not None:
                await client.aclose()
        self._public = self._any = None

    async def send(
        self,
        url: str,
        secret: str,
        event_id: str,
        content: bytes,
        now: datetime,
        allow_private_network: bool = False,
    ) -> Outcome:
        """POST once; never raises. Each attempt is signed with its own timestamp. A URL that
        resolves to a non-public address fails for good (the tenant must fix its URL)."""
        client = self._any if allow_private_network else self._public
        assert client is not None, "open() first"
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            EVENT_ID_HEADER: event_id,
            SIGNATURE_HEADER: sign(secret, int(now.timestamp()), content),
        }
        try:
            response = await client.post(url, content=content, headers=headers)
        except DestinationRefused:
            return Permanent(REFUSED_REASON)
        except httpx.TimeoutException:
            return Transient("timeout")
        except httpx.HTTPError as exc:
            return Transient(f"http_{type(exc).__name__}")
        return classify_http(response.status_code, response.headers.get("retry-after"), now)
