"""`python -m bench --sales-reports`: the sales reports (CONTRACTS §9) over a big tenant.

On a throwaway embedded stack (durable Postgres) running only the status-tracker: seeds
`--sales-orders` orders (with 1-3 lines each) and `--sales-payments` payments by COPY
straight into the read model and payments table, then asks each `by` for
`--sales-requests` reports one at a time over HTTP, over a mix of periods (a year, a
quarter, a month, a week, unbounded). Prints p50/p95/max per `by` with the goal
(p95 <= 1 s) and the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
from pathlib import Path
from typing import Any

import asyncpg

from bench import sales_report_load as load
from bench.report import machine, machine_text, percentile_ms
from demo.system import running_system
from orderflow.shared.provision import password_env_var, role_name, schema_name
from orderflow.shared.settings import DatabaseSettings

GOAL_P95_MS = 1000.0
BY = ("payment_system", "offer", "offer_category", "sales_manager")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--sales-reports", action="store_true", help="only the sales-report benchmark")
    add("--sales-orders", type=int, default=1_000_000, help="orders seeded")
    add("--sales-payments", type=int, default=1_500_000, help="payments seeded")
    add("--sales-requests", type=int, default=20, help="reports asked per `by`")


async def _connect(env: dict[str, str]) -> asyncpg.Connection:
    service = "status-tracker"
    db = DatabaseSettings.model_validate(
        {
            "DATABASE_URL": env["DATABASE_URL"],
            "ORDERFLOW_DB_PASSWORD": env[password_env_var(service)],
        }
    )
    return await asyncpg.connect(
        db.dsn_for_role(role_name(service)), server_settings={"search_path": schema_name(service)}
    )


async def run(args: argparse.Namespace, say: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(
        prefix="orderflow-bench-sales-", ignore_cleanup_errors=True
    ) as tmp:
        work, key = Path(tmp), f"bench-{secrets.token_hex(16)}"
        tenants = work / "tenants"
        tenants.mkdir()
        (tenants / "bench.yaml").write_text(
            "tenant: bench\nstatus_profile: crm\napi_keys: ['${BENCH_API_KEY}']\n"
        )
        env = {"BENCH_API_KEY": key, "ORDERFLOW_TENANTS_DIR": str(tenants)}
        say(f"starting the embedded stack and the status-tracker in {work} ...")
        async with running_system(work, env, ("status-tracker",)) as system:
            conn = await _connect({**system.env})
            try:
                seconds = await load.seed(conn, args.sales_orders, args.sales_payments, say)
            finally:
                await conn.close()
            say(f"seeded in {seconds:.0f} s; asking {args.sales_requests} reports per `by` ...")
            url = system.urls["status-tracker"]
            timings = {by: await load.latencies(url, key, by, args.sales_requests) for by in BY}
    return {
        "orders": args.sales_orders,
        "payments": args.sales_payments,
        "by": {
            by: {"p50_ms": percentile_ms(t, 50), "p95_ms": percentile_ms(t, 95),
                 "max_ms": round(max(t) * 1000, 1), "requests": len(t)}
            for by, t in timings.items()
        },
    }  # fmt: skip


def text(result: dict[str, Any], info: dict[str, Any]) -> str:
    lines = [f"sales reports over {result['orders']:,} orders and {result['payments']:,} payments:"]
    for by, t in result["by"].items():
        mark = "met" if t["p95_ms"] <= GOAL_P95_MS else "MISSED"
        lines.append(
            f"  by={by:<15} p50 {t['p50_ms']:>7} ms  p95 {t['p95_ms']:>7} ms  max {t['max_ms']:>7} ms"
            f"  ({t['requests']} requests; goal p95 <= {GOAL_P95_MS:.0f} ms: {mark})"
        )
    return "\n".join([*lines, machine_text(info)])


def main(args: argparse.Namespace, say: Any) -> int:
    info = machine()
    result = asyncio.run(run(args, say))
    say(text(result, info))
    return 0
