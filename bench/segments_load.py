"""The two loads of `python -m bench --segments`: validations over HTTP, the rebuild in SQL.

Validations: `clients` concurrent requests over keep-alive connections (one aiohttp session
per worker process, `processes` processes), each POSTing a cart for a random seeded customer
against every rule of the tenant, for `seconds`; the rate and the latency percentiles of the
answers (all must be 200). Rebuild: the tenant's segments recomputed from scratch (no stored
definitions, no members) over the seeded statistics, in one transaction, as at start.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
import uvloop

from orderflow.services.rewards.segment_rebuild import rebuild_tenant
from orderflow.shared.tenant_segments import Segment

TENANT = "bench"
CART = {
    "amount": "42.00",
    "currency": "EUR",
    "items": [
        {"sku": "sku-1", "quantity": 2, "unit_price": "15.00", "category": "shoes"},
        {"sku": "sku-2", "quantity": 1, "unit_price": "12.00", "category": "socks"},
    ],
    "metadata": {"channel": "mobile_app"},
}


def seed_rows(count: int, now: datetime, rng: random.Random) -> list[tuple[Any, ...]]:
    """Customers as the live step would have written them: most with one or two orders."""
    rows = []
    for n in range(count):
        orders = 1 + int(rng.expovariate(0.5))
        last = now - timedelta(seconds=rng.randint(0, 365 * 86400))
        spent = f'{{"EUR": "{orders * rng.randint(10, 150)}.{rng.randint(0, 99):02d}"}}'
        rows.append((TENANT, f"c-{n}", orders, spent, last - timedelta(days=orders * 9), last))
    return rows


async def seed(conn: asyncpg.Connection, count: int, now: datetime) -> float:
    """COPY `count` customers' statistics; the seconds it took."""
    started = time.perf_counter()
    rows = seed_rows(count, now, random.Random(13))
    columns = ["tenant", "customer_id", "orders_count", "spent", "first_purchase_at"]
    await conn.copy_records_to_table(
        "customers", records=rows, columns=[*columns, "last_purchase_at"]
    )
    return time.perf_counter() - started


async def rebuild(
    conn: asyncpg.Connection, segments: Sequence[Segment], now: datetime
) -> tuple[float, int]:
    """From scratch: seconds taken, and the moves (events) it wrote."""
    await conn.execute("DELETE FROM segment_members WHERE tenant = $1", TENANT)
    await conn.execute("DELETE FROM segment_definitions WHERE tenant = $1", TENANT)
    await conn.execute(  # only the set ones: rewriting all rows would bloat what is measured
        "UPDATE customers SET segments_due_at = NULL WHERE tenant = $1"
        " AND segments_due_at IS NOT NULL",
        TENANT,
    )
    await conn.execute("DELETE FROM outbox")
    await conn.execute("VACUUM ANALYZE customers")
    started = time.perf_counter()
    async with conn.transaction():
        moves = await rebuild_tenant(conn, TENANT, segments, now)
    return time.perf_counter() - started, moves


async def _client(
    url: str, key: str, customers: int, seconds: float, clients: int
) -> tuple[int, list[float]]:
    """`clients` workers on keep-alive connections of one aiohttp session on uvloop: far less
    client time per request than httpx, and the load generator shares the cores with the server."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
    target = f"{url}/v1/validations/{TENANT}"
    latencies: list[float] = []
    answered = 0
    rng = random.Random()
    cart = json.dumps(CART)
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, headers=headers, timeout=timeout) as http:
        warm_until = time.monotonic() + 1.0
        until = warm_until + seconds

        async def worker() -> None:
            nonlocal answered
            while (now := time.monotonic()) < until:
                body = f'{{"customer_id": "c-{rng.randrange(customers)}", "order": {cart}}}'
                started = time.perf_counter()
                async with http.post(target, data=body.encode()) as answer:
                    text = await answer.read()
                    if answer.status != 200:
                        raise RuntimeError(f"validation answered {answer.status}: {text!r}")
                answered += 1
                if now >= warm_until:
                    latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(worker() for _ in range(clients)))
    return answered, latencies


def _process(args: tuple[str, str, int, float, int]) -> tuple[int, list[float]]:
    return uvloop.run(_client(*args))


def validations(
    url: str, key: str, customers: int, seconds: float, clients: int, processes: int
) -> dict[str, Any]:
    """Requests/s and latency percentiles (ms) of `processes` x `clients` concurrent clients."""
    per = max(1, clients // processes)
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        parts = pool.map(_process, [(url, key, customers, seconds, per)] * processes)
    latencies = sorted(x for _, part in parts for x in part)
    if not latencies:
        raise RuntimeError("no validation answered")

    def at(q: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 2)

    return {
        "requests": len(latencies),
        "answered": sum(n for n, _ in parts),  # warm-up included
        "per_s": round(len(latencies) / seconds, 1),
        "p50_ms": at(0.50),
        "p99_ms": at(0.99),
        "max_ms": round(latencies[-1] * 1000, 2),
        "concurrency": per * processes,
        "client": f"aiohttp ({processes} processes)",
    }


def utc_now() -> datetime:
    return datetime.now(UTC)
