"""What the notifier's tests share: a tenant, a webhook receiver, envelopes, database reads."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from orderflow.shared.envelope import Envelope, new_event

HOOK_SECRET = "hook-secret-0123456789"
START = datetime(2026, 1, 1, 10, tzinfo=UTC)
CUSTOMER_NAME = "Zoé Quill"

STORE_TENANT = """\
tenant: store
status_profile: store
language: {language}
api_keys: ['${{STORE_KEY}}']
expiry: {{pending_payment: 2s}}
notifications:
  email: {{from: "orders@store.test", merchant: "owner@store.test",
          members: {{m-1: "ambassador@members.test"}}}}
  webhook: {{url: "http://127.0.0.1:{hook_port}/hooks", secret: "{secret}",
            allow_private_network: true}}
  rules:
    - on: order.status_changed
      to: [customer, merchant]
      channels: [email, in_app]
    - on: reward.granted
      to: [member]
      channels: [in_app, webhook, email]
    - on: commission.accrued
      to: [member]
      channels: [in_app, webhook]
    - on: order.confirmed
      to: [member]
      channels: [in_app]
"""
OTHER_TENANT = "tenant: other\nstatus_profile: affiliate\napi_keys: ['${OTHER_KEY}']\n"


def write_notifier_tenants(directory: Path, hook_port: int, language: str = "en") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    text = STORE_TENANT.format(language=language, hook_port=hook_port, secret=HOOK_SECRET)
    (directory / "store.yaml").write_text(text)
    (directory / "other.yaml").write_text(OTHER_TENANT)
    return directory


def customer_email(customer_id: str) -> str:
    return f"{customer_id}@customers.test"


def reported(order_id: str, customer_id: str, tenant: str = "store") -> Envelope:
    """ingest's internal `order.reported`, carrying the customer's contact."""
    customer = {"id": customer_id, "email": customer_email(customer_id), "name": CUSTOMER_NAME}
    return new_event(
        type="order.reported",
        tenant=tenant,
        order_id=order_id,
        occurred_at=START,
        causation_id=f"report:{order_id}",
        correlation_id=f"report:{order_id}",
        data={"report_id": f"r-{order_id}", "status": "Received", "customer": customer},
    )


def status_changed(
    order_id: str, customer_id: str, status: str, category: str, step: int = 0
) -> Envelope:
    return new_event(
        type="order.status_changed",
        tenant="store",
        order_id=order_id,
        occurred_at=START + timedelta(minutes=step),
        causation_id=f"cause:{order_id}:{step}",
        correlation_id=f"report:{order_id}",
        data={
            "status": status,
            "category": category,
            "has_ok": category == "confirmed",
            "previous_status": None,
            "previous_category": None,
            "amount": "42.00",
            "currency": "EUR",
            "customer_id": customer_id,
            "offer_id": None,
            "items": [],
        },
    )


def order_event(type_: str, order_id: str, customer_id: str = "", step: int = 0) -> Envelope:
    """A lifecycle event other than a status change (`order.confirmed`, `order.reversed`)."""
    base = status_changed(order_id, customer_id, "Accepted", "confirmed", step)
    return new_event(
        type=type_,
        tenant=base.tenant,
        order_id=order_id,
        occurred_at=base.occurred_at,
        causation_id=f"cause:{type_}:{order_id}:{step}",
        correlation_id=base.correlation_id,
        data=dict(base.data),
    )


def member_event(
    type_: str, member_id: str, data: dict[str, Any], order_id: str, generation: int = 0
) -> Envelope:
    """A reward, commission or attribution event; a new `generation` is a new event id."""
    again = f":{generation}" if generation else ""
    return new_event(
        type=type_,
        tenant="store",
        order_id=order_id,
        occurred_at=START,
        causation_id=f"cause:{type_}:{member_id}:{order_id}{again}",
        correlation_id=f"report:{order_id}",
        data={"member_id": member_id, **data},
    )


@dataclass
class HookReceiver:
    """A real HTTP server: answers `fail_first` requests with 503, then 200 and records."""

    fail_first: int = 0
    retry_after: str | None = None
    status_when_failing: int = 503
    respond_after_s: float = 0.0  # recorded, then a slow answer: a sender may die meanwhile
    attempts: int = 0
    accepted: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    _server: asyncio.Server | None = None

    async def start(self, port: int) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readline()  # request line
            headers: dict[str, str] = {}
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.attempts += 1
            if self.attempts <= self.fail_first:
                extra = f"Retry-After: {self.retry_after}\r\n" if self.retry_after else ""
                status = f"{self.status_when_failing} Failing"
            else:
                self.accepted.append((headers, body))
                extra, status = "", "200 OK"
                await asyncio.sleep(self.respond_after_s)
            writer.write(
                f"HTTP/1.1 {status}\r\n{extra}Content-Length: 0\r\nConnection: close\r\n\r\n".encode()
            )
            await writer.drain()
        finally:
            writer.close()

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.accepted]


async def notifications(env: dict[str, str]) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(env["DATABASE_URL"])
    try:
        return list(await conn.fetch("SELECT * FROM notifier.notifications"))
    finally:
        await conn.close()


async def count_status(env: dict[str, str], status: str) -> int:
    return sum(1 for row in await notifications(env) if row["status"] == status)
