"""A local receiver for the notifier's webhooks, so the demo tenants' webhook channel delivers.

The example tenants name `hooks.*.test` URLs, which cannot resolve; the demo copies point
at this receiver instead (demo/tenants.py), which answers 204 to every POST and keeps the
request. `webhook_lines` shows what arrived for an order and whether its signature holds.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SIGNATURE_HEADER = "X-Orderflow-Signature"


@dataclass(frozen=True)
class Delivery:
    signature: str
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        payload: dict[str, Any] = json.loads(self.body)
        return payload


class WebhookReceiver:
    """An HTTP server on a free local port, on its own thread while the block runs."""

    def __init__(self) -> None:
        self._deliveries: list[Delivery] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hooks"

    def keep(self, delivery: Delivery) -> None:
        with self._lock:
            self._deliveries.append(delivery)

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(receiver: WebhookReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            receiver.keep(Delivery(self.headers.get(SIGNATURE_HEADER, ""), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the demo prints what arrived itself."""

    return Handler


def signature_holds(secret: str, header: str, body: bytes) -> bool:
    """The notifier's scheme (docs/notifier.md): `t=<unix>,v1=<HMAC-SHA256 of "<t>.<body>">`.
    The demo checks the MAC only; a real receiver also rejects old timestamps."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    signed = f"{parts.get('t', '')}.".encode() + body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


def webhook_lines(
    receiver: WebhookReceiver, tenant: str, order_id: str, secrets: Mapping[str, str]
) -> list[str]:
    """The webhooks about `order_id` that reached the receiver, in arrival order.
    `secrets` maps a tenant to its webhook signing secret."""
    lines = [f"  webhooks (POST {receiver.url})"]
    for delivery in receiver.deliveries:
        payload = delivery.payload
        if (payload.get("tenant"), payload.get("order_id")) != (tenant, order_id):
            continue
        recipient = payload.get("recipient") or {}
        ok = signature_holds(secrets.get(tenant, ""), delivery.signature, delivery.body)
        who = f"{recipient.get('role', '')}:{recipient.get('id', '')}"
        verdict = "signature ok" if ok else "BAD SIGNATURE"
        lines.append(f"    to {who:<22} {payload.get('subject', '')}  ({verdict})")
    if len(lines) == 1:
        lines.append("    (none)")
    return lines
