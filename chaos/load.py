"""The load a scenario runs under: new confirmed orders at a fixed rate, over HTTP or Kafka.

Every report is a new order reported `OK` with one contributor, so the whole chain acts on
it: the tracker confirms it, attribution credits the member, rewards accrues a commission
and the notifier tells the member in-app (the chaos tenant's programme, the benchmark's).
A report counts as sent once ingest answered 202 (HTTP) or the broker acknowledged it
(Kafka): from then on orderflow owns it. Like a real upstream, the HTTP sender retries a
refused or failed request (connection refused while ingest restarts, 429/503 with
Retry-After while Postgres is down) with the same body; ingest's ids make that harmless.

On Kafka a share of the records can be sent twice (the same bytes, a few records later) and
a share of extra records can be poison (not JSON, not a report, an unknown tenant), each
with a key of its own so its dead letter can be found.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from orderflow.shared.kafka import make_producer
from orderflow.shared.settings import KafkaSettings
from orderflow.shared.topics import ORDERS_INBOUND

TENANT = "chaos"
MEMBERS = 50
OCCURRED_AT = "2026-11-30T10:00:00+00:00"
POISON = (
    b"\xff\xfe not JSON at all",
    b'{"tenant": "chaos", "order_id": "missing-everything-else"}',
    json.dumps(
        {"tenant": "nobody", "order_id": "x", "status": "OK", "occurred_at": OCCURRED_AT}
    ).encode(),
)
Produced = tuple[str | None, bytes, bytes]  # (order id, or None for poison; key; value)


def order_ids(scenario: str, count: int) -> list[str]:
    return [f"{scenario}-{n:06d}" for n in range(count)]


def order_report(order_id: str) -> dict[str, Any]:
    member = int(order_id.rsplit("-", 1)[1]) % MEMBERS
    return {
        "tenant": TENANT,
        "order_id": order_id,
        "status": "OK",
        "occurred_at": OCCURRED_AT,
        "amount": "25.00",
        "currency": "EUR",
        "customer": {"id": f"c-{order_id}"},
        "contributors": [{"member_id": f"m-{member}", "via": "affiliation"}],
    }


@dataclass
class Sent:
    accepted_at: dict[str, float] = field(default_factory=dict)  # order id -> monotonic time
    poison_at: dict[str, float] = field(default_factory=dict)  # poison record key -> time
    duplicated: int = 0
    retries: dict[str, int] = field(default_factory=dict)  # why a POST was sent again
    server_errors: list[str] = field(default_factory=list)  # 5xx other than 503, a sample

    def retried(self, reason: str) -> None:
        self.retries[reason] = self.retries.get(reason, 0) + 1


async def over_http(
    url: str, api_key: str, ids: Sequence[str], rate: float, batch: int, in_flight: int = 8
) -> Sent:
    """POST batches of `batch` on a fixed schedule (`rate` reports/s), at most `in_flight`
    at once; each retried until answered 202."""
    sent = Sent()
    chunks = [ids[i : i + batch] for i in range(0, len(ids), batch)]
    slots = asyncio.Semaphore(in_flight)
    headers = {"Authorization": f"Bearer {api_key}", "Content-Type": "application/json"}
    start = time.monotonic()
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:

        async def post(index: int, chunk: Sequence[str]) -> None:
            await _until(start + index * batch / rate)
            body = json.dumps([order_report(i) for i in chunk]).encode()
            async with slots:
                await _post_until_accepted(http, body, sent)
            now = time.monotonic()
            sent.accepted_at.update((i, now) for i in chunk)

        await asyncio.gather(*(post(n, chunk) for n, chunk in enumerate(chunks)))
    return sent


async def _post_until_accepted(http: httpx.AsyncClient, body: bytes, sent: Sent) -> None:
    while True:
        try:
            response = await http.post("/v1/orders", content=body)
        except httpx.TransportError as exc:  # ingest restarting, or killed mid-request
            sent.retried(type(exc).__name__)
            await asyncio.sleep(0.5)
            continue
        if response.status_code == 202:
            return
        if response.status_code < 500 and response.status_code != 429:
            raise RuntimeError(f"POST /v1/orders answered {response.status_code}: {response.text}")
        sent.retried(str(response.status_code))
        # A bug, kept as evidence: the contract answers 503 (or 429) when it cannot take them.
        if response.status_code not in (429, 503) and len(sent.server_errors) < 5:
            sent.server_errors.append(f"{response.status_code} {response.text[:500]}")
        await asyncio.sleep(float(response.headers.get("retry-after", "1")))


@dataclass(frozen=True)
class Mix:
    duplicate_ratio: float = 0.0  # share of reports sent a second time
    poison_ratio: float = 0.0  # poison records added, per report
    seed: int = 9


async def over_kafka(kafka: KafkaSettings, ids: Sequence[str], rate: float, mix: Mix) -> Sent:
    """Produce every report to orders.inbound.v1 at `rate` reports/s (acks=all), with the
    duplicates and poison records `mix` asks for."""
    sent = Sent()
    draw = random.Random(mix.seed)  # a reproducible mix, not a secret
    records: list[Produced] = []
    later: list[tuple[int, Produced]] = []  # (position, record) of the second copies
    for n, order_id in enumerate(ids):
        value = json.dumps(order_report(order_id)).encode()
        records.append((order_id, f"{TENANT}:{order_id}".encode(), value))
        if draw.random() < mix.duplicate_ratio:
            later.append((n + draw.randint(1, 50), records[-1]))
        if draw.random() < mix.poison_ratio:
            key = f"{TENANT}:poison-{n:06d}"
            records.append((None, key.encode(), draw.choice(POISON)))
    for position, record in sorted(later, key=lambda item: item[0], reverse=True):
        records.insert(min(position, len(records)), record)
    sent.duplicated = len(later)
    await _produce(kafka, records, rate, sent)
    return sent


async def _produce(
    kafka: KafkaSettings, records: Sequence[Produced], rate: float, sent: Sent
) -> None:
    producer = make_producer(kafka, "chaos-load")
    await producer.start()
    try:
        start = time.monotonic()
        pending: list[asyncio.Future[Any]] = []
        for n, (order_id, key, value) in enumerate(records):
            await _until(start + n / rate)
            future = await producer.send(kafka.topic(ORDERS_INBOUND), value, key=key)
            future.add_done_callback(_on_ack(sent, order_id, key))
            pending.append(future)
        await asyncio.gather(*pending)  # acks=all: a record the broker did not take raises here
    finally:
        await producer.stop()


def _on_ack(sent: Sent, order_id: str | None, key: bytes) -> Callable[[asyncio.Future[Any]], None]:
    def acked(future: asyncio.Future[Any]) -> None:
        if future.cancelled() or future.exception() is not None:
            return
        now = time.monotonic()
        if order_id is None:
            sent.poison_at[key.decode()] = now
        else:
            sent.accepted_at.setdefault(order_id, now)

    return acked


async def _until(when: float) -> None:
    delay = when - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
