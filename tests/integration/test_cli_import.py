"""`orderflow import orders`: a file's valid rows go through ingest's own path (same ids, same
store, same events on ingest.reports.v1); bad rows go to `<stem>.errors.csv`; a second import
adds nothing."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import asyncpg
import httpx
import pytest

from orderflow.shared import topics
from tests.cli_support import cli_env, orderflow
from tests.harness import TEST_KEYS, TopicReader, of_type, running, write_tenants

pytestmark = pytest.mark.integration
AT = "2026-12-01T10:00:00+00:00"
HEADER = [
    "order_id",
    "status",
    "occurred_at",
    "amount",
    "currency",
    "customer",
    "items",
    "shipping",
    "metadata",
    "tenant",
]
ITEMS = json.dumps([{"sku": "s-1", "quantity": 2, "unit_price": "5.00"}])
ROWS = [
    [
        "i-1",
        "OK",
        AT,
        "10.00",
        "EUR",
        json.dumps({"id": "c-1", "email": "a@example.com"}),
        ITEMS,
        json.dumps({"carrier": "dhl"}),
        json.dumps({"k": "v"}),
        "",
    ],
    ["i-2", "Pending", AT, "", "", "", "", "", "", "shop"],
    ["i-3", "OK", AT, "-1", "EUR", "", "", "", "", ""],  # line 4: a negative amount
    ["i-4", "OK", AT, "", "", "", "[{bad json", "", "", ""],  # line 5: not JSON
    ["i-5", "OK", AT, "", "", "", "", "", "", "store"],  # line 6: another tenant
    ["i-1", "OK", AT, "10.00", "EUR", "", ITEMS, "", "", ""],  # the same report as line 2
]


def _write_csv(path: Path) -> Path:
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        writer.writerows(ROWS)
    return path


async def test_import_stores_valid_rows_as_ingest_does_and_writes_the_errors_file(
    stack_env: dict[str, str], db: asyncpg.Connection, tmp_path: Path
) -> None:
    tenants_dir = write_tenants(tmp_path / "tenants")
    source = _write_csv(tmp_path / "orders.csv")
    env = cli_env(stack_env, tenants_dir)
    async with running("ingest", stack_env, tenants_dir) as ingest:
        first = await orderflow("import", "orders", str(source), "--tenant", "shop", env=env)
        assert first.returncode == 1, first.stderr
        assert "rows=6 accepted=2 duplicates=1 rejected=3" in first.stdout
        async with TopicReader(stack_env, topics.ORDER_REPORTS) as reader:
            events = await reader.read_until(lambda es: len(of_type(es, "order.reported")) >= 2)
            events = of_type(await reader.settle(1.5), "order.reported")
        assert sorted(str(e.order_id) for e in events) == ["i-1", "i-2"]
        assert next(e for e in events if e.order_id == "i-1").data["items"][0]["sku"] == "s-1"

        # The same report over HTTP is a duplicate of the imported one: same identity, same store.
        base = f"http://127.0.0.1:{ingest.settings.http_port}"
        async with httpx.AsyncClient(base_url=base) as client:
            answer = await client.post(
                "/v1/orders",
                json={"tenant": "shop", "order_id": "i-2", "status": "Pending", "occurred_at": AT},
                headers={"Authorization": f"Bearer {TEST_KEYS['shop']}"},
            )
        assert answer.status_code == 202 and answer.json()["duplicates"] == 1
        assert answer.json()["accepted"] == [
            str(events[[e.order_id for e in events].index("i-2")].data["report_id"])
        ]

        again = await orderflow(
            "import", "orders", str(source), "--tenant", "shop", "--workers", "2", env=env
        )
        assert "rows=6 accepted=0 duplicates=3 rejected=3" in again.stdout
    stored = await db.fetch("SELECT order_id, channel FROM ingest.reports ORDER BY order_id")
    assert [(r["order_id"], r["channel"]) for r in stored] == [("i-1", "import"), ("i-2", "import")]
    with (tmp_path / "orders.errors.csv").open() as errors_csv:
        errors = list(csv.reader(errors_csv))
    assert errors[0] == ["line", "path", "message"]
    assert {(line, path) for line, path, _ in errors[1:]} == {
        ("4", "amount"),
        ("5", "items"),
        ("6", "tenant"),
    }


async def test_a_clean_jsonl_import_exits_0_and_an_unknown_tenant_2(
    stack_env: dict[str, str], db: asyncpg.Connection, tmp_path: Path
) -> None:
    tenants_dir = write_tenants(tmp_path / "tenants")
    source = tmp_path / "orders.jsonl"
    lines = [{"order_id": f"j-{n}", "status": "Pending", "occurred_at": AT} for n in range(3)]
    source.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    env = cli_env(stack_env, tenants_dir)
    async with running("ingest", stack_env, tenants_dir):
        done = await orderflow("import", "orders", str(source), "--tenant", "shop", env=env)
        unknown = await orderflow("import", "orders", str(source), "--tenant", "nobody", env=env)
    assert done.returncode == 0 and "rows=3 accepted=3 duplicates=0 rejected=0" in done.stdout
    assert not (tmp_path / "orders.errors.csv").exists()
    assert unknown.returncode == 2 and "nobody" in unknown.stderr
    assert await db.fetchval("SELECT count(*) FROM ingest.reports WHERE order_id LIKE 'j-%'") == 3
