"""The FTP drop: a CSV uploaded with ftplib ends in ingest's stored reports and on
ingest.reports.v1, and in done/ with its result and error file; each login is confined to
its own tenant's folder."""

from __future__ import annotations

import asyncio
import ftplib
import io
import json
from pathlib import Path

import asyncpg
import pytest

from orderflow.shared import topics
from orderflow.shared.ftp_drop import serving
from orderflow.shared.tenants import load_tenants
from tests.cli_support import cli_env, orderflow
from tests.harness import TopicReader, eventually, of_type, running, tenant_env, write_tenants

pytestmark = pytest.mark.integration
FTP_PASSWORD = "shop-ftp-password-0123"
CSV = (
    "order_id,status,occurred_at,amount,currency,items\n"
    'f-1,OK,2026-12-01T10:00:00+00:00,10.00,EUR,"[{""sku"": ""s"", ""quantity"": 1, ""unit_price"": ""10.00""}]"\n'
    "f-2,Pending,2026-12-01T10:00:00+00:00,,,\n"
    "f-3,OK,not-a-time,,,\n"
)


def _tenants(directory: Path) -> Path:
    write_tenants(directory)
    (directory / "shop.yaml").write_text(
        "tenant: shop\napi_keys: ['${SHOP_KEY}']\nimport: {ftp_password: '${SHOP_FTP}'}\n"
    )
    other = directory / "other.yaml"  # a second login, so its folder exists beside shop's
    other.write_text(other.read_text() + "import: {ftp_password: '${SHOP_FTP}'}\n")
    return directory


def _login(port: int, user: str, password: str) -> ftplib.FTP:
    client = ftplib.FTP()
    client.connect("127.0.0.1", port, timeout=10)
    client.login(user, password)
    return client


def _upload(port: int) -> list[str]:
    with _login(port, "shop", FTP_PASSWORD) as client:
        client.cwd("incoming")
        client.storbinary("STOR orders.csv", io.BytesIO(CSV.encode()))
        client.cwd("/")
        return sorted(client.nlst())


def _result_over_ftp(port: int) -> dict[str, int]:
    lines: list[str] = []
    with _login(port, "shop", FTP_PASSWORD) as client:
        client.retrlines("RETR done/orders.result.json", lines.append)
    return dict(json.loads("".join(lines)))


def _refused(port: int, user: str, password: str) -> bool:
    try:
        _login(port, user, password).quit()
    except ftplib.error_perm as exc:
        return str(exc).startswith("530")
    return False


def _escape(port: int) -> list[str]:
    with _login(port, "shop", FTP_PASSWORD) as client:
        client.cwd("/..")  # the root of a login is its tenant's folder: no way above it
        with pytest.raises(ftplib.error_perm, match=r"^550"):
            client.cwd("../other")
        return sorted(client.nlst())


async def test_an_uploaded_csv_is_imported_and_moved_to_done_with_its_result(
    stack_env: dict[str, str], db: asyncpg.Connection, tmp_path: Path
) -> None:
    tenants_dir, root = _tenants(tmp_path / "tenants"), tmp_path / "import"
    secrets = {"SHOP_FTP": FTP_PASSWORD}
    registry = load_tenants(tenants_dir, {**tenant_env(), **secrets})
    async with (
        running("ingest", stack_env, tenants_dir, secrets, import_dir=str(root), import_poll_s=0.2),
        running("status-tracker", stack_env, tenants_dir, secrets) as tracker,
        TopicReader(stack_env, topics.ORDER_REPORTS) as reader,
    ):
        with serving(registry, root, 0, auth_failed_delay_s=0) as port:
            assert await asyncio.to_thread(_upload, port) == ["done", "incoming"]
            result_file = root / "shop" / "done" / "orders.result.json"

            async def imported() -> bool:
                return result_file.exists()

            await eventually(imported, "the upload to be imported", timeout=30)
            assert await asyncio.to_thread(_result_over_ftp, port) == {
                "rows": 3, "accepted": 2, "duplicates": 0, "rejected": 1,
            }  # fmt: skip
            assert await asyncio.to_thread(_refused, port, "shop", "wrong-password")
            assert await asyncio.to_thread(_refused, port, "store", "")  # no FTP password
            assert (root / "other" / "incoming").is_dir()
            assert await asyncio.to_thread(_escape, port) == ["done", "incoming", "processing"]
        events = await reader.read_until(lambda es: len(of_type(es, "order.reported")) >= 2)
        base = f"http://127.0.0.1:{tracker.settings.http_port}"
        env = cli_env(stack_env, tenants_dir, **secrets)

        async def in_read_api() -> bool:
            shown = await orderflow("orders", "show", "shop", "f-1", "--url", base, env=env)
            return shown.returncode == 0 and "confirmed" in shown.stdout

        await eventually(in_read_api, "the imported order in the orders read API", timeout=30)
    assert sorted(str(e.order_id) for e in of_type(events, "order.reported")) == ["f-1", "f-2"]
    stored = await db.fetch("SELECT order_id, channel FROM ingest.reports ORDER BY order_id")
    assert [(r["order_id"], r["channel"]) for r in stored] == [("f-1", "ftp"), ("f-2", "ftp")]
    done = root / "shop" / "done"
    errors = (done / "orders.errors.csv").read_text().splitlines()
    assert errors[0] == "line,path,message" and errors[1].startswith("4,occurred_at,")
    assert (done / "orders.csv").read_text() == CSV
    assert list((root / "shop" / "incoming").iterdir()) == []
