"""Orders read-model tests: reports and credits fed straight to the tracker's handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from orderflow.services.status_tracker import credit_handlers, handlers
from orderflow.shared.cli import SERVICES
from orderflow.shared.envelope import Envelope, new_event
from tests.batch_support import connect_service, records
from tests.harness import running
from tests.infra import Infra, fresh_environment

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
handle_reports = partial(handlers.on_order_reported, rules={})


def reported(
    order_id: str,
    status: str,
    category: str | None,
    hours: float,
    tenant: str = "shop",
    **data: Any,
) -> Envelope:
    """An `order.reported` as ingest publishes it; received a day after it happened."""
    report_id = data.pop("report_id", f"{order_id}:{status}:{hours}")
    received = data.pop("received_at", T0 + timedelta(days=1, hours=hours))
    return new_event(
        type="order.reported",
        tenant=tenant,
        order_id=order_id,
        occurred_at=T0 + timedelta(hours=hours),
        causation_id=report_id,
        correlation_id=report_id,
        data={
            "report_id": report_id,
            "status": status,
            "category": category,
            "source": "api",
            "received_at": received.isoformat(),
            **data,
        },
    )


def credited(
    order_id: str, member_id: str, via: str, hours: float, *, voided: bool = False,
    confirmed: bool = False, tenant: str = "shop",
) -> Envelope:  # fmt: skip
    kind = "order.attribution_voided" if voided else "order.attributed"
    data: dict[str, Any] = {"member_id": member_id, "via": via, "model": "explicit"}
    data.update({"reason": "reassigned"} if voided else {"confirmed": confirmed})
    return new_event(
        type=kind, tenant=tenant, order_id=order_id, occurred_at=T0 + timedelta(hours=hours),
        causation_id="c", correlation_id="c", data=data,
        discriminator=f"{kind}:{order_id}:{member_id}:{hours}:{confirmed}",
    )  # fmt: skip


def _batch(topic: str, events: Sequence[Envelope]) -> Any:
    return records(topic, [(f"{e.tenant}:{e.order_id}".encode(), e.to_bytes()) for e in events])


async def handled(conn: asyncpg.Connection, events: Sequence[Envelope]) -> None:
    """Reports, in one transaction, as the runner hands one partition's batch over."""
    async with conn.transaction():
        await handle_reports(conn, _batch("ingest.reports.v1", events))


async def credits_handled(conn: asyncpg.Connection, events: Sequence[Envelope]) -> None:
    async with conn.transaction():
        await credit_handlers.on_attribution(conn, _batch("orders.attribution.v1", events))


KEYS = {
    "all": "shop-key-0123456789",
    "read": "shop-read-0123456789",
    "touch": "shop-touch-0123456789",
    "store": "store-key-0123456789",
}
TENANTS = {
    "shop": "tenant: shop\nstatus_profile: loyalty\napi_keys: ['shop-key-0123456789',"
    " {key: 'shop-read-0123456789', scopes: ['orders:read']},"
    " {key: 'shop-touch-0123456789', scopes: ['touchpoints:write']}]\n",
    "store": "tenant: store\nstatus_profile: store\napi_keys: ['store-key-0123456789']\n",
}


@dataclass
class Stack:
    """A running status-tracker, a connection to its schema and an HTTP client to it."""

    env: dict[str, str]
    conn: asyncpg.Connection
    client: httpx.AsyncClient

    def auth(self, key: str = "all") -> dict[str, str]:
        return {"Authorization": f"Bearer {KEYS[key]}"}

    async def get(self, path: str, key: str = "all", **params: Any) -> httpx.Response:
        return await self.client.get(path, params=params, headers=self.auth(key))


@asynccontextmanager
async def orders_stack(infra: Infra, tenants: Path) -> AsyncIterator[Stack]:
    """A fresh database and topics, the tenants above, the tracker running on them."""
    for name, text in TENANTS.items():
        (tenants / f"{name}.yaml").write_text(text)
    async with fresh_environment(infra, tuple(SERVICES)) as env:
        conn = await connect_service(env, "status-tracker")
        try:
            async with running("status-tracker", env, tenants) as service:
                base = f"http://127.0.0.1:{service.settings.http_port}"
                async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                    yield Stack(env, conn, client)
        finally:
            await conn.close()
