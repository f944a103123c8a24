"""A running service picks up a changed tenant file without a restart, and refuses a bad one
keeping the configuration it had."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from orderflow.shared import metrics
from tests.harness import eventually, report, running, tenant_env, write_tenants

pytestmark = pytest.mark.integration
NEWCO_KEY = "newco-key-0123456789"


async def test_ingest_takes_a_new_tenant_and_keeps_it_when_its_file_turns_bad(
    stack_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {**tenant_env(), "NEWCO_KEY": NEWCO_KEY}.items():
        monkeypatch.setenv(name, value)
    tenants_dir = write_tenants(tmp_path / "tenants")
    async with running("ingest", stack_env, tenants_dir, tenants_reload_s=0.2) as ingest:
        base = f"http://127.0.0.1:{ingest.settings.http_port}"
        async with httpx.AsyncClient(base_url=base) as client:

            async def post(order_id: str) -> int:
                body = report(order_id, "Pending", "2026-12-01T10:00:00+00:00", tenant="newco")
                answer = await client.post(
                    "/v1/orders", json=body, headers={"Authorization": f"Bearer {NEWCO_KEY}"}
                )
                return answer.status_code

            assert await post("n-0") == 401  # not a tenant yet
            (tenants_dir / "newco.yaml").write_text("tenant: newco\napi_keys: ['${NEWCO_KEY}']\n")

            async def accepted() -> bool:
                return await post("n-1") == 202

            await eventually(accepted, "the new tenant to be loaded", timeout=20)
            partial = metrics.TENANT_RELOADS.labels("partial")
            before = partial._value.get()
            (tenants_dir / "newco.yaml").write_text(
                "tenant: newco\napi_keys: ['${NEWCO_KEY}']\nstatus_profile: nonsense\n"
            )

            async def refused_logged() -> bool:
                return bool(partial._value.get() > before)

            await eventually(refused_logged, "the bad file to be refused", timeout=20)
            assert await post("n-2") == 202  # the old configuration is kept
