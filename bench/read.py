"""`python -m bench --read`: the orders reads (CONTRACTS §7) on one tenant's N orders.

On a throwaway stack running the status-tracker (a child process, durable Postgres), the
seed (bench/read_seed.py) writes `--read-orders` orders straight into its schema; then,
one request at a time over HTTP with a kept-alive client:
  list     a filtered page (limit 50) for each of a mix of filters and sorts, and pages
           deep into a paging run: p50/p95 (goal p95 <= 50 ms);
  detail   and timeline of random orders: p95 (goal <= 20 ms each);
  export   every order as CSV, streamed: rows/s (goal >= 50,000) and the tracker's RSS
           growth during it (goal <= 50 MiB).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.read_seed import seed
from bench.report import machine_text
from bench.rss import rss_mib
from demo.system import running_system

GOALS = {"list_p95_ms": 50.0, "detail_p95_ms": 20.0, "timeline_p95_ms": 20.0,
         "export_rows_per_s": 50_000, "export_rss_growth_mib": 50.0}  # fmt: skip
FILTERS: list[dict[str, Any]] = [
    {}, {"category": "confirmed"}, {"status": "Chargeback"}, {"has_ok": "false", "currency": "GBP"},
    {"customer_id": "c-4242"}, {"offer_id": "off-42"}, {"payment_system": "klarna"},
    {"sales_manager": "mgr-7"}, {"member_id": "aff-99"}, {"item_category": "garden"},
    {"currency": ["USD", "JPY"]}, {"min_amount": "450"}, {"recurring_order_id": "sub-12345"},
    {"created_from": "2025-03-01T00:00:00Z", "created_to": "2025-03-02T00:00:00Z"},
    {"category": "refunded", "created_from": "2025-06-01T00:00:00Z"},
    {"sort": "-amount"}, {"sort": "updated_at", "category": "fulfilled"}, {"sort": "order_id"},
    {"payment_plan": "partial", "sort": "-updated_at"},
]  # fmt: skip


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return {
        "p50": round(statistics.median(ordered) * 1000, 2),
        "p95": round(p95 * 1000, 2),
        "n": len(ordered),
    }


async def _timed(
    client: httpx.AsyncClient, path: str, params: Mapping[str, Any]
) -> tuple[float, Any]:
    started = time.perf_counter()
    response = await client.get(path, params=params)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} {params}: {response.status_code} {response.text[:300]}")
    return elapsed, response.json()


async def _lists(client: httpx.AsyncClient, rounds: int) -> dict[str, Any]:
    samples, per_filter = [], {}
    for params in FILTERS:
        await _timed(client, "/v1/orders/bench", params)  # warm: plan and connection
        mine = [(await _timed(client, "/v1/orders/bench", params))[0] for _ in range(rounds)]
        per_filter[str(params) or "{}"] = _ms(mine)["p95"]
        samples += mine
    cursor, deep = None, []
    for _ in range(rounds * 2):  # 2 x rounds pages into the newest-first list
        elapsed, body = await _timed(
            client, "/v1/orders/bench", {"cursor": cursor} if cursor else {}
        )
        deep.append(elapsed)
        cursor = body["next_cursor"]
    return {"all": _ms(samples + deep), "deep_paging": _ms(deep), "p95_ms_by_filter": per_filter}


async def _one_order(
    client: httpx.AsyncClient, orders: int, suffix: str, n: int
) -> dict[str, float]:
    rng = random.Random(7)
    samples = []
    for _ in range(n):
        order = f"o-{rng.randint(1, orders):08d}"
        samples.append((await _timed(client, f"/v1/orders/bench/{order}{suffix}", {}))[0])
    return _ms(samples)


async def _export(client: httpx.AsyncClient, pid: int) -> dict[str, Any]:
    before, peak, rows = rss_mib(pid), 0.0, -1
    started = time.perf_counter()
    async with client.stream("GET", "/v1/orders/bench/export.csv", timeout=600) as response:
        async for chunk in response.aiter_bytes():
            rows += chunk.count(b"\n")  # one a row: no seeded cell holds a line break
            peak = max(peak, rss_mib(pid))  # a chunk is thousands of rows
    elapsed = time.perf_counter() - started
    peak = max(peak, rss_mib(pid))
    return {"rows": rows, "seconds": round(elapsed, 2), "rows_per_s": round(rows / elapsed),
            "rss_before_mib": round(before, 1), "rss_growth_mib": round(peak - before, 1)}  # fmt: skip


async def read_bench(
    work: Path,
    env: Mapping[str, str],
    api_key: str,
    orders: int,
    rounds: int,
    say: Callable[[str], None],
) -> dict[str, Any]:
    say(f"starting the embedded stack and the status-tracker in {work} ...")
    async with running_system(work / "system", env, ("status-tracker",)) as system:
        say(f"seeding {orders} orders of one tenant ...")
        started = time.perf_counter()
        conn = await asyncpg.connect(system.env["DATABASE_URL"])
        try:
            counts = await seed(conn, orders)
        finally:
            await conn.close()
        seeded_s = round(time.perf_counter() - started, 1)
        say(f"seeded in {seeded_s} s: {counts}; measuring ...")
        headers = {"Authorization": f"Bearer {api_key}"}
        pid = system.supervisor.pid("status-tracker")
        async with httpx.AsyncClient(
            base_url=system.urls["status-tracker"], headers=headers, timeout=60
        ) as client:
            lists = await _lists(client, rounds)
            detail = await _one_order(client, orders, "", rounds * 10)
            timeline = await _one_order(client, orders, "/timeline", rounds * 10)
            export = await _export(client, pid)
    return {"orders": orders, "seed_s": seeded_s, "rows": counts, "list_ms": lists,
            "detail_ms": detail, "timeline_ms": timeline, "export": export}  # fmt: skip


def _verdict(value: float, goal: float, at_most: bool = True) -> str:
    met = value <= goal if at_most else value >= goal
    return f"goal {'<=' if at_most else '>='} {goal:g}: {'met' if met else 'NOT met'}"


def read_text(r: dict[str, Any], info: dict[str, Any]) -> str:
    lists, export = r["list_ms"], r["export"]
    slowest = sorted(lists["p95_ms_by_filter"].items(), key=lambda kv: -kv[1])[:3]
    return "\n".join([
        f"orders reads: one tenant, {r['orders']} orders (seeded in {r['seed_s']} s: {r['rows']}),"
        " the status-tracker as a child process, one request at a time, durable Postgres",
        f"  list page (limit 50), {len(FILTERS)} filters/sorts + deep paging: p50 {lists['all']['p50']} ms,"
        f" p95 {lists['all']['p95']} ms ({_verdict(lists['all']['p95'], GOALS['list_p95_ms'])});"
        f" deep paging p95 {lists['deep_paging']['p95']} ms; slowest p95: {slowest}",
        f"  detail: p50 {r['detail_ms']['p50']} ms, p95 {r['detail_ms']['p95']} ms"
        f" ({_verdict(r['detail_ms']['p95'], GOALS['detail_p95_ms'])})",
        f"  timeline: p50 {r['timeline_ms']['p50']} ms, p95 {r['timeline_ms']['p95']} ms"
        f" ({_verdict(r['timeline_ms']['p95'], GOALS['timeline_p95_ms'])})",
        f"  CSV export: {export['rows']} rows in {export['seconds']} s = {export['rows_per_s']} rows/s"
        f" ({_verdict(export['rows_per_s'], GOALS['export_rows_per_s'], at_most=False)}); tracker RSS"
        f" {export['rss_before_mib']} MiB, growth {export['rss_growth_mib']} MiB"
        f" ({_verdict(export['rss_growth_mib'], GOALS['export_rss_growth_mib'])})",
        machine_text(info),
    ])  # fmt: skip
