"""`python -m bench --segments`: validations/s on one rewards process, and the rebuild rate.

On a throwaway embedded stack (durable Postgres) running only `rewards`, with a tenant of
CONTRACTS §11's example segments and validation rules: seeds the statistics of
`--segments-customers` customers by COPY, measures validations over HTTP (goal: >= 5,000/s
with p99 <= 10 ms), then stops the service and recomputes the tenant's membership from
scratch, as a start-up rebuild does (goal: >= 50,000 customers/s). Prints both with the goals
and the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
from pathlib import Path
from typing import Any

import asyncpg
import psutil

from bench import segments_load as load
from bench import segments_wrk
from bench.report import machine, machine_text
from demo.system import running_system
from orderflow.shared.provision import password_env_var, role_name, schema_name
from orderflow.shared.settings import DatabaseSettings
from orderflow.shared.tenants import load_tenants

GOALS = {"validations_per_s": 5000, "validation_p99_ms": 10.0, "rebuild_customers_per_s": 50000}
TENANT_YAML = """tenant: bench
status_profile: loyalty
api_keys: ['${BENCH_API_KEY}']
segments:
  - {id: loyal, when: {min_orders: 3}}
  - {id: big-spenders, when: {min_spent: {amount: "500.00", currency: EUR}}}
  - {id: recent, when: {last_purchase_within: 90d}}
validation_rules:
  - {id: min-basket, cart: {min_amount: "20.00", currency: EUR}}
  - id: shoes-for-loyal
    cart: {required: {categories: [shoes], match: any}, max_items: 10}
    customer: {segments_any: [loyal]}
  - {id: mobile-only, metadata: {channel: {in: [mobile_app]}}}
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--segments", action="store_true", help="only the segments benchmark (bench/segments.py)")
    add("--segments-customers", type=int, default=1_000_000, help="customers seeded and rebuilt")
    add("--segments-seconds", type=float, default=10.0, help="seconds of validation load")
    add(
        "--segments-clients",
        type=int,
        default=24,
        help="concurrent validation requests (the edge serves up to 32 at once)",
    )
    add("--segments-processes", type=int, default=3, help="aiohttp client processes sharing them")
    add(
        "--segments-client",
        choices=("auto", "wrk", "aiohttp"),
        default="auto",
        help="load generator: wrk (make wrk) when installed, else aiohttp",
    )


def _client(choice: str, say: Any) -> str:
    if choice == "auto":
        if segments_wrk.available():
            return "wrk"
        say("no wrk on PATH (`make wrk` installs it): the load comes from aiohttp processes")
        return "aiohttp"
    if choice == "wrk" and not segments_wrk.available():
        raise SystemExit("--segments-client wrk: no wrk on PATH; `make wrk` installs it")
    return choice


async def _connect(env: dict[str, str]) -> asyncpg.Connection:
    password = env[password_env_var("rewards")]
    db = DatabaseSettings.model_validate(
        {"DATABASE_URL": env["DATABASE_URL"], "ORDERFLOW_DB_PASSWORD": password}
    )
    schema = schema_name("rewards")
    dsn = db.dsn_for_role(role_name("rewards"))
    return await asyncpg.connect(dsn, server_settings={"search_path": schema})


async def run(args: argparse.Namespace, say: Any) -> dict[str, Any]:
    client = _client(args.segments_client, say)
    with tempfile.TemporaryDirectory(
        prefix="orderflow-bench-seg-", ignore_cleanup_errors=True
    ) as tmp:
        work, key = Path(tmp), f"bench-{secrets.token_hex(16)}"
        tenants = work / "tenants"
        tenants.mkdir()
        (tenants / "bench.yaml").write_text(TENANT_YAML)
        env = {"BENCH_API_KEY": key, "ORDERFLOW_TENANTS_DIR": str(tenants)}
        segments = load_tenants(tenants, env).get("bench").segments
        say(f"starting the embedded stack and rewards in {work} ...")
        async with running_system(work, env, ("rewards",)) as system:
            conn = await _connect({**system.env})
            try:
                now = load.utc_now()
                count = args.segments_customers
                seeded = await load.seed(conn, count, now)
                say(
                    f"seeded {count:,} customers by COPY in {seeded:.1f} s; vacuum, validations ..."
                )
                # Statistics and visibility map as in a steady state, and no autovacuum of the
                # fresh million rows competing with the load for the two cores.
                await conn.execute("VACUUM ANALYZE customers")
                server = psutil.Process(system.supervisor.pid("rewards"))
                cpu = server.cpu_times()
                url, clients = system.urls["rewards"], args.segments_clients
                duration = args.segments_seconds
                if client == "wrk":
                    http = segments_wrk.validations(url, key, count, duration, clients)
                else:
                    processes = args.segments_processes
                    http = load.validations(url, key, count, duration, clients, processes)
                # CPU the server spent per answer (warm-up included): on a shared machine the
                # rate follows the load average, this much less.
                spent = sum(server.cpu_times()[:2]) - sum(cpu[:2])
                http["server_cpu_ms"] = round(1000 * spent / http["answered"], 3)
                system.supervisor.stop_all()  # the rebuild gets the machine to itself
                say("rebuilding the membership from scratch ...")
                seconds, moves = await load.rebuild(conn, segments, now)
            finally:
                await conn.close()
    rebuild = {
        "customers": count,
        "seconds": round(seconds, 2),
        "customers_per_s": round(count / seconds),
        "events": moves,
    }
    return {"validations": http, "rebuild": rebuild}


def text(result: dict[str, Any], info: dict[str, Any]) -> str:
    v, r = result["validations"], result["rebuild"]
    ok = {
        "validations_per_s": v["per_s"] >= GOALS["validations_per_s"],
        "validation_p99_ms": v["p99_ms"] <= GOALS["validation_p99_ms"],
        "rebuild_customers_per_s": r["customers_per_s"] >= GOALS["rebuild_customers_per_s"],
    }
    mark = {True: "met", False: "MISSED"}
    return "\n".join([
        f"validations: {v['per_s']:,.0f}/s over {v['requests']:,} requests at concurrency"
        f" {v['concurrency']}; p50 {v['p50_ms']} ms, p99 {v['p99_ms']} ms, max {v['max_ms']} ms;"
        f" server CPU {v['server_cpu_ms']} ms per request; load from {v['client']}"
        f" (goal >= {GOALS['validations_per_s']:,}/s: {mark[ok['validations_per_s']]};"
        f" p99 <= {GOALS['validation_p99_ms']} ms: {mark[ok['validation_p99_ms']]})",
        f"rebuild: {r['customers']:,} customers in {r['seconds']} s = {r['customers_per_s']:,}"
        f" customers/s, {r['events']:,} segment events written (goal >="
        f" {GOALS['rebuild_customers_per_s']:,}/s: {mark[ok['rebuild_customers_per_s']]})",
        machine_text(info),
    ])  # fmt: skip


def main(args: argparse.Namespace, say: Any) -> int:
    info = machine()
    result = asyncio.run(run(args, say))
    say(text(result, info))
    return 0
