"""Open-loop latency: reports sent over HTTP on a fixed schedule, whatever the answers do.

`rate` reports per second for `seconds`, in POSTs of `batch` reports each: POST i is
due at start + i * batch / rate and is sent then, as its own task, without waiting for
any earlier answer. A report's latency runs from when its POST was due (not when it was
sent: a sender that falls behind must not hide the delay) to when the probe saw its
record on each watched topic. Reports not through when the wait ends count as infinitely
late, so a p99 the system cannot keep is printed as "not through", never flattered.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from bench.phases import Build, Check, http_client, key_of, order_ids, post_reports
from bench.probe import Probe


@dataclass
class OpenLoop:
    rate: float
    seconds: float
    batch: int
    reports: int
    sent_over_s: float  # from the first due time to the last POST handed to the client
    max_send_lag_ms: float  # how late the sender ever was against its schedule
    failed_posts: int  # answered neither 202 nor 429, or not at all: their reports count as late
    refused_429: int  # 429 answers (each POST then waited Retry-After and was sent again)
    latencies_s: dict[str, list[float]] = field(default_factory=dict)  # per topic, inf if not out


def nearest_rank(latencies_s: Sequence[float], percent: float) -> float:
    ordered = sorted(latencies_s)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


def summary(run: OpenLoop) -> dict[str, Any]:
    def stats(latencies: list[float]) -> dict[str, Any]:
        cut = {f"p{p}_ms": nearest_rank(latencies, p) for p in (50, 99)}
        shown = {k: (round(v * 1000, 1) if math.isfinite(v) else None) for k, v in cut.items()}
        return {**shown, "not_through": sum(not math.isfinite(v) for v in latencies)}

    return {
        "rate_per_s": run.rate,
        "seconds": run.seconds,
        "batch": run.batch,
        "reports": run.reports,
        "achieved_per_s": round(run.reports / run.sent_over_s, 1) if run.sent_over_s else None,
        "max_send_lag_ms": round(run.max_send_lag_ms, 1),
        "failed_posts": run.failed_posts,
        "refused_429": run.refused_429,
        "to": {topic: stats(latencies) for topic, latencies in run.latencies_s.items()},
    }


async def open_loop(
    url: str, api_key: str, probe: Probe, topics: Sequence[str], build: Build,
    rate: float, seconds: float, batch: int, wait_s: float, check: Check,
    during: Callable[[], None] = lambda: None,
) -> OpenLoop:  # fmt: skip
    """Sends on schedule, calls `during` once a second, then waits up to `wait_s` for the rest."""
    ids = order_ids("open", round(rate * seconds))
    keys = [key_of(i) for i in ids]
    for topic in topics:
        probe.expect(topic, keys, 1)
    chunks = [ids[i : i + batch] for i in range(0, len(ids), batch)]
    interval = batch / rate
    due: dict[bytes, float] = {}
    lag = 0.0
    async with http_client(url, api_key, 256) as http:
        posts: list[asyncio.Task[int | None]] = []
        start = time.monotonic() + 0.1
        next_tick = start
        for index, chunk in enumerate(chunks):
            due_at = start + index * interval
            await asyncio.sleep(max(0.0, due_at - time.monotonic()))
            lag = max(lag, time.monotonic() - due_at)
            body = json.dumps([build(i, _now()) for i in chunk]).encode()
            due.update((key_of(i), due_at) for i in chunk)
            posts.append(asyncio.create_task(_sent(http, body)))
            if time.monotonic() >= next_tick:
                check()
                during()
                next_tick += 1.0
        sent_over = time.monotonic() - start + interval  # the last POST's own slot
        during()  # the end of the load
        answers = await asyncio.gather(*posts)
    failed = sum(a is None for a in answers)
    refused = sum(a for a in answers if a is not None)
    await _wait_for(probe, topics, keys, wait_s, check)
    return OpenLoop(
        rate, seconds, batch, len(ids), sent_over, lag * 1000, failed, refused,
        {t: [probe.done_at.get((t, k), math.inf) - due[k] for k in keys] for t in topics},
    )  # fmt: skip


async def _sent(http: httpx.AsyncClient, body: bytes) -> int | None:
    """One POST, retried on 429 as the contract says: how many 429s, None if it failed."""
    try:
        return await post_reports(http, body)
    except (RuntimeError, httpx.HTTPError):
        return None


async def _wait_for(
    probe: Probe, topics: Sequence[str], keys: Sequence[bytes], wait_s: float, check: Check
) -> None:
    """Until every key is out on every topic, or `wait_s` is over (the rest stay not through)."""
    deadline = time.monotonic() + wait_s
    for topic in topics:
        remaining = deadline - time.monotonic()
        try:
            await probe.wait(topic, keys, max(remaining, 0.0), check)
        except TimeoutError:
            return


def _now() -> str:
    return datetime.now(UTC).isoformat()
