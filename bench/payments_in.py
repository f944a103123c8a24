"""`python -m bench --payments`: payment reports through ingest (CONTRACTS §8).

On a throwaway stack running ingest alone (its relay publishes what it stores), `--clients`
concurrent clients POST `--payments` reports to /v1/payments in batches of `--batch`, timed
from the first request until the last `payment.reported` is on ingest.payments.v1; then the
same batches again (every report a duplicate: nothing more published). Goal: >= 1,000
payments/s published on the 2-core machine, the order of the HTTP report path's rate
through two hops there (bench/results/history.jsonl).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.probe import Probe
from bench.report import machine_text
from demo.system import running_system
from orderflow.shared.topics import PAYMENT_REPORTS

GOAL_PER_S = 1_000


def batches(count: int, size: int) -> list[list[dict[str, Any]]]:
    at = datetime.now(UTC).replace(microsecond=0).isoformat()
    reports = [
        {
            "tenant": "bench",
            "order_id": f"o-{n // 2}",
            "payment_id": f"inv-{n}",
            "status": "succeeded",
            "occurred_at": at,
            "amount": "24.50",
            "currency": "EUR",
            "fee": "0.70",
            "payment_system": "bench-pay",
            "share_percent": "50",
        }
        for n in range(count)
    ]
    return [reports[i : i + size] for i in range(0, count, size)]


async def _post_all(url: str, key: str, work: list[list[dict[str, Any]]], clients: int) -> int:
    queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
    for batch in work:
        queue.put_nowait(batch)
    duplicates = 0

    async def client() -> None:
        nonlocal duplicates
        headers = {"Authorization": f"Bearer {key}"}
        async with httpx.AsyncClient(timeout=60.0) as http:
            while not queue.empty():
                answer = await _post(http, url, queue.get_nowait(), headers)
                duplicates += int(answer.json()["duplicates"])

    await asyncio.gather(*(client() for _ in range(clients)))
    return duplicates


async def _post(
    http: httpx.AsyncClient, url: str, batch: list[dict[str, Any]], headers: dict[str, str]
) -> httpx.Response:
    """One batch, sent again after the Retry-After of a 429 (the tenant's token bucket)."""
    for _ in range(60):
        answer = await http.post(url, json=batch, headers=headers)
        if answer.status_code != 429:
            break
        await asyncio.sleep(float(answer.headers.get("retry-after", "1")))
    if answer.status_code != 202:
        raise RuntimeError(f"POST /v1/payments answered {answer.status_code}: {answer.text}")
    return answer


async def payments_bench(
    work: Path, env: Mapping[str, str], args: Any, say: Callable[[str], None]
) -> dict[str, Any]:
    planned = batches(args.payments, args.batch)
    say(f"starting the embedded stack and ingest in {work}; {args.payments} payments ...")
    async with running_system(work / "system", env, ("ingest",)) as system:
        url = f"{system.urls['ingest']}/v1/payments"
        async with Probe(system.kafka(), [PAYMENT_REPORTS]).running() as probe:
            probe.expect_total(PAYMENT_REPORTS, args.payments)
            started = time.monotonic()
            await _post_all(url, env["BENCH_API_KEY"], planned, args.clients)
            stored_s = time.monotonic() - started
            await probe.wait_total(PAYMENT_REPORTS, args.timeout, system.check_alive)
            published_s = probe.total_done_at[PAYMENT_REPORTS] - started
            started = time.monotonic()
            duplicates = await _post_all(url, env["BENCH_API_KEY"], planned, args.clients)
            again_s = time.monotonic() - started
            await probe.settled()
    return {
        "payments": args.payments,
        "batch": args.batch,
        "clients": args.clients,
        "stored_s": round(stored_s, 2),
        "published_s": round(published_s, 2),
        "per_s_stored": round(args.payments / stored_s),
        "per_s_published": round(args.payments / published_s),
        "again_s": round(again_s, 2),
        "again_duplicates": duplicates,
        "records_on_topic": probe.totals[PAYMENT_REPORTS],
    }


def payments_text(result: dict[str, Any], info: dict[str, Any]) -> str:
    verdict = "met" if result["per_s_published"] >= GOAL_PER_S else "NOT met"
    return "\n".join(
        [
            f"payments in: {result['payments']} reports to POST /v1/payments, batches of"
            f" {result['batch']}, {result['clients']} clients, durable Postgres",
            f"  through to ingest.payments.v1: {result['published_s']} s ="
            f" {result['per_s_published']} payments/s (goal >= {GOAL_PER_S}: {verdict})",
            f"  answered 202 (stored + outbox): {result['stored_s']} s ="
            f" {result['per_s_stored']} payments/s",
            f"  the same batches again: {result['again_s']} s, {result['again_duplicates']}"
            f" duplicates; records on the topic: {result['records_on_topic']} (no second copy)",
            machine_text(info),
        ]
    )
