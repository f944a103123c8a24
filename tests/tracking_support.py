"""The order tracking tag (CONTRACTS §13) in tests: a tenant with a tag, and what it recorded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from prometheus_client import REGISTRY

from orderflow.shared.service import Service
from tests.harness import running

PK = "pk_test_shop_0123456789"


def write_tag_tenants(directory: Path, origins: list[str], status: str = "Pixel Tracked") -> Path:
    """`shop` (loyalty, with a tag from `origins`) and `other` (no tag)."""
    directory.mkdir(parents=True, exist_ok=True)
    allowed = ", ".join(f"'{o}'" for o in origins)
    (directory / "shop.yaml").write_text(
        "tenant: shop\nstatus_profile: loyalty\napi_keys: ['${SHOP_KEY}']\n"
        f"tracking: {{publishable_key: {PK}, allowed_origins: [{allowed}], status: '{status}'}}\n"
    )
    (directory / "other.yaml").write_text("tenant: other\napi_keys: ['${OTHER_KEY}']\n")
    return directory


def rejected(tenant: str, reason: str) -> float:
    labels = {"tenant": tenant, "reason": reason}
    return REGISTRY.get_sample_value("orderflow_tracking_rejected_total", labels) or 0.0


@dataclass
class Tagged:
    service: Service
    client: httpx.AsyncClient
    base: str

    @property
    def pool(self) -> asyncpg.Pool:
        assert self.service.runtime is not None
        return self.service.runtime.pool

    async def reports(self) -> list[dict[str, Any]]:
        rows = await self.pool.fetch(
            "SELECT order_id, status, source, category, channel, raw FROM reports"
            " ORDER BY received_at"
        )
        return [dict(r) for r in rows]


@asynccontextmanager
async def tagged_ingest(
    env: dict[str, str], tenants_dir: Path, **overrides: Any
) -> AsyncIterator[Tagged]:
    async with running("ingest", env, tenants_dir, **overrides) as service:
        base = f"http://127.0.0.1:{service.settings.http_port}"
        async with httpx.AsyncClient(base_url=base, timeout=30.0) as client:
            yield Tagged(service, client, base)
