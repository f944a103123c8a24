"""The measured runs: N reports in, until every one of them has come out the other end.

A run's clock starts at its first send and stops when the probe has seen the last report
out on the run's last stage. Latency is per report: from the moment it was handed to the
HTTP client or the Kafka producer to the moment its last expected record arrived. Earlier
stages (ingest's output topic) are timed the same way, to show where the time goes.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from bench.probe import Probe
from orderflow.shared.kafka import make_producer
from orderflow.shared.settings import KafkaSettings

TENANT = "bench"
Check = Callable[[], None]
Build = Callable[[str, str], dict[str, Any]]  # (order_id, occurred_at) -> one report


@dataclass(frozen=True)
class Stage:
    topic: str
    records_each: int  # records per report on this topic when the report is through


@dataclass
class Run:
    name: str
    reports: int
    seconds: float
    latencies_s: list[float]
    stages: dict[str, tuple[float, list[float]]] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def per_s(self) -> float:
        return self.reports / self.seconds


def order_ids(prefix: str, count: int) -> list[str]:
    return [f"{prefix}-{index:07d}" for index in range(count)]


def key_of(order_id: str) -> bytes:
    return f"{TENANT}:{order_id}".encode()


def report(order_id: str, occurred_at: str) -> dict[str, Any]:
    """A new order reported confirmed: the tracker answers with status_changed and confirmed."""
    return {
        "tenant": TENANT,
        "order_id": order_id,
        "status": "OK",
        "occurred_at": occurred_at,
        "amount": "25.00",
        "currency": "EUR",
        "customer": {"id": f"c-{order_id[-3:]}"},
        "items": [{"sku": "sku-1", "quantity": 1, "unit_price": "25.00"}],
    }


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _expect(probe: Probe, stages: Sequence[Stage], keys: Sequence[bytes]) -> None:
    for stage in stages:
        probe.expect(stage.topic, keys, stage.records_each)


def _timing(
    probe: Probe, topic: str, keys: Sequence[bytes], sent_at: dict[bytes, float]
) -> tuple[float, list[float]]:
    """Seconds from the first send to the last arrival, and every report's latency."""
    done = [probe.done_at[(topic, key)] for key in keys]
    return max(done) - min(sent_at.values()), [
        d - sent_at[k] for d, k in zip(done, keys, strict=True)
    ]


async def _finish(
    name: str, probe: Probe, stages: Sequence[Stage], keys: Sequence[bytes],
    sent_at: dict[bytes, float], timeout_s: float, check: Check,
) -> Run:  # fmt: skip
    for stage in stages:
        await probe.wait(stage.topic, keys, timeout_s, check)
    timings = {stage.topic: _timing(probe, stage.topic, keys, sent_at) for stage in stages}
    # Done when every stage is through for every report, whichever the probe saw last.
    seconds = max(s for s, _ in timings.values())
    _, latencies = timings.pop(stages[-1].topic)
    return Run(name, len(keys), seconds, latencies, timings)


async def through_http(
    url: str, api_key: str, probe: Probe, ids: Sequence[str], batch: int, clients: int,
    stages: Sequence[Stage], timeout_s: float, check: Check, name: str = "http",
    build: Build = report,
) -> Run:  # fmt: skip
    """`clients` concurrent clients POST batches of `batch` reports to /v1/orders."""
    at = _now()
    chunks = [ids[i : i + batch] for i in range(0, len(ids), batch)]
    bodies = deque((c, json.dumps([build(i, at) for i in c]).encode()) for c in chunks)
    keys = [key_of(i) for i in ids]
    _expect(probe, stages, keys)
    sent_at: dict[bytes, float] = {}
    async with http_client(url, api_key, clients) as http:

        async def client() -> None:
            while bodies:
                chunk, body = bodies.popleft()
                now = time.monotonic()
                sent_at.update((key_of(i), now) for i in chunk)
                await post_reports(http, body)

        await asyncio.gather(*(client() for _ in range(clients)))
    accepted_s = time.monotonic() - min(sent_at.values())
    run = await _finish(name, probe, stages, keys, sent_at, timeout_s, check)
    run.notes["all_202_after_s"] = round(accepted_s, 3)
    return run


async def one_at_a_time(
    url: str, api_key: str, probe: Probe, ids: Sequence[str], stages: Sequence[Stage],
    timeout_s: float, check: Check,
) -> Run:  # fmt: skip
    """Each report POSTed alone, the next only once it is through: latency without queueing."""
    at = _now()
    keys = [key_of(i) for i in ids]
    _expect(probe, stages, keys)
    sent_at: dict[bytes, float] = {}
    async with http_client(url, api_key, 1) as http:
        for order_id, key in zip(ids, keys, strict=True):
            sent_at[key] = time.monotonic()
            await post_reports(http, json.dumps(report(order_id, at)).encode())
            await probe.wait(stages[-1].topic, [key], timeout_s, check)
    return await _finish("single", probe, stages, keys, sent_at, timeout_s, check)


def http_client(url: str, api_key: str, connections: int) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=connections)
    return httpx.AsyncClient(base_url=url, headers=headers, timeout=60, limits=limits)


async def post_reports(http: httpx.AsyncClient, body: bytes) -> int:
    """POSTs until 202; returns how many 429 answers came first."""
    refused = 0
    while True:
        response = await http.post("/v1/orders", content=body)
        if response.status_code == 202:
            return refused
        refused += 1
        if response.status_code != 429:
            raise RuntimeError(f"POST /v1/orders answered {response.status_code}: {response.text}")
        # Overloaded (429): the contract's answer is to wait as told and send the batch again.
        await asyncio.sleep(float(response.headers.get("retry-after", "1")))


Record = tuple[bytes, bytes, list[tuple[str, bytes]]]  # key, value, headers


async def through_kafka(
    name: str, kafka: KafkaSettings, topic: str, probe: Probe, ids: Sequence[str],
    stages: Sequence[Stage], timeout_s: float, check: Check,
) -> Run:  # fmt: skip
    """Every report produced to `topic` (keyed `<tenant>:<order_id>`) as fast as acks allow."""
    at = _now()
    records: list[Record] = [(key_of(i), json.dumps(report(i, at)).encode(), []) for i in ids]
    return await produced(name, kafka, kafka.topic(topic), probe, records, stages, timeout_s, check)


async def produced(
    name: str, kafka: KafkaSettings, topic: str, probe: Probe, records: Sequence[Record],
    stages: Sequence[Stage], timeout_s: float, check: Check,
) -> Run:  # fmt: skip
    """`records` produced to `topic` (a full name) as fast as acks allow, until through."""
    keys = [key for key, _, _ in records]
    _expect(probe, stages, keys)
    sent_at, acked_at = await produce(kafka, topic, records)
    produced_s = acked_at - min(sent_at.values())
    run = await _finish(name, probe, stages, keys, sent_at, timeout_s, check)
    run.notes["all_produced_after_s"] = round(produced_s, 3)
    return run


async def produce(
    kafka: KafkaSettings, topic: str, records: Sequence[Record]
) -> tuple[dict[bytes, float], float]:
    """Produces every record (acks=all): when each was handed over, and when all were acked."""
    sent_at: dict[bytes, float] = {}
    producer = make_producer(kafka, "bench-producer")
    try:
        await producer.start()
        pending = []
        for key, value, headers in records:
            sent_at[key] = time.monotonic()
            pending.append(await producer.send(topic, value, key=key, headers=headers))
        await asyncio.gather(*pending)
        return sent_at, time.monotonic()
    finally:
        await producer.stop()
