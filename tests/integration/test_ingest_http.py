"""The ingest HTTP API (CONTRACTS §4) on the real stack: every answer, what is stored, what is published."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import structlog
from prometheus_client.parser import text_string_to_metric_families

from orderflow.services.ingest.reports import MAX_REPORT_BYTES
from orderflow.shared import topics
from orderflow.shared.envelope import Envelope
from orderflow.shared.logging import configure_logging
from orderflow.shared.service import Service
from tests.harness import TEST_KEYS, TopicReader, report, running, write_tenants

pytestmark = pytest.mark.integration

ORDERS, TOUCHPOINTS = "/v1/orders", "/v1/touchpoints"
MIB = 1024 * 1024
AT = "2026-01-01T10:00:00Z"


def auth(tenant: str = "shop") -> dict[str, str]:
    return {"Authorization": f"Bearer {TEST_KEYS[tenant]}"}


def touchpoint(tp_id: str, customer_id: str = "cust-1", tenant: str = "shop") -> dict[str, Any]:
    return {
        "tenant": tenant,
        "touchpoint_id": tp_id,
        "member_id": "m-1",
        "kind": "click",
        "customer_id": customer_id,
        "occurred_at": AT,
    }


def reports(n: int, prefix: str = "o") -> list[dict[str, Any]]:
    return [report(f"{prefix}-{i}", "Pending", AT) for i in range(n)]


def paths(response: httpx.Response) -> list[str]:
    return [e["path"] for e in response.json()["errors"]]


@dataclass
class Ingest:
    service: Service
    client: httpx.AsyncClient

    @property
    def pool(self) -> asyncpg.Pool:
        assert self.service.runtime is not None
        return self.service.runtime.pool

    async def post(
        self, path: str, body: Any, tenant: str = "shop", **kwargs: Any
    ) -> httpx.Response:
        return await self.client.post(path, json=body, headers=auth(tenant), **kwargs)

    async def ids(self, table: str = "reports") -> set[str]:
        column = "report_id" if table == "reports" else "touchpoint_uuid"
        rows = await self.pool.fetch(f"SELECT {column}::text AS id FROM {table}")
        return {r["id"] for r in rows}

    async def outbox(self, topic: str) -> list[Envelope]:
        rows = await self.pool.fetch("SELECT value FROM outbox WHERE topic = $1 ORDER BY id", topic)
        return [Envelope.from_bytes(r["value"]) for r in rows]

    async def nothing_stored(self) -> bool:
        counts = await self.pool.fetchrow(
            "SELECT (SELECT count(*) FROM reports) AS r, (SELECT count(*) FROM touchpoints) AS t,"
            " (SELECT count(*) FROM outbox) AS o"
        )
        return (counts["r"], counts["t"], counts["o"]) == (0, 0, 0)


@asynccontextmanager
async def open_ingest(
    env: dict[str, str], tenants_dir: Path, **overrides: Any
) -> AsyncIterator[Ingest]:
    async with running("ingest", env, tenants_dir, **overrides) as service:
        base = f"http://127.0.0.1:{service.settings.http_port}"
        async with httpx.AsyncClient(base_url=base, timeout=30.0) as client:
            yield Ingest(service, client)


@pytest.fixture
def tenants_dir(tmp_path: Path) -> Path:
    return write_tenants(tmp_path / "tenants")


@pytest.fixture
async def ingest(stack_env: dict[str, str], tenants_dir: Path) -> AsyncIterator[Ingest]:
    async with open_ingest(stack_env, tenants_dir) as api:
        yield api


# --- 202 -------------------------------------------------------------------------------


async def test_single_report_is_committed_with_its_event_before_202(ingest: Ingest) -> None:
    response = await ingest.post(ORDERS, report("o-1", "Pending", AT))

    assert response.status_code == 202
    body = response.json()
    assert body["duplicates"] == 0 and len(body["accepted"]) == 1
    # Read on another connection right after the answer: visible only if committed.
    assert await ingest.ids() == set(body["accepted"])
    [event] = await ingest.outbox(topics.ORDER_REPORTS)
    assert event.causation_id == body["accepted"][0]
    assert (event.tenant, event.order_id, event.data["status"]) == ("shop", "o-1", "Pending")


async def test_report_ids_are_the_stable_identity_of_a_report(ingest: Ingest) -> None:
    first = await ingest.post(ORDERS, report("o-1", "Pending", "2026-01-01T10:00:00Z"))
    same_instant = await ingest.post(ORDERS, report("o-1", "Pending", "2026-01-01T11:00:00+01:00"))
    with_id = await ingest.post(ORDERS, report("o-2", "Pending", AT, report_id="r-7"))
    same_report_id = await ingest.post(ORDERS, report("o-2", "OK", AT, report_id="r-7"))
    other_source = await ingest.post(ORDERS, report("o-2", "OK", AT, report_id="r-7", source="pos"))

    answers = (first, same_instant, with_id, same_report_id, other_source)
    assert [r.status_code for r in answers] == [202] * 5
    assert same_instant.json() == {"accepted": first.json()["accepted"], "duplicates": 1}
    assert same_report_id.json() == {"accepted": with_id.json()["accepted"], "duplicates": 1}
    assert other_source.json()["duplicates"] == 0
    distinct = {*first.json()["accepted"], *with_id.json()["accepted"]}
    assert distinct | set(other_source.json()["accepted"]) == await ingest.ids()
    assert len(await ingest.outbox(topics.ORDER_REPORTS)) == 3


async def test_resent_batch_answers_202_with_duplicates_and_is_published_once(
    stack_env: dict[str, str], ingest: Ingest
) -> None:
    batch = reports(3)
    first = await ingest.post(ORDERS, batch)
    again = await ingest.post(ORDERS, batch)
    overlapping = await ingest.post(ORDERS, [*batch[1:], report("o-new", "Pending", AT)])

    assert (first.status_code, again.status_code, overlapping.status_code) == (202, 202, 202)
    ids = first.json()["accepted"]
    assert len(set(ids)) == 3 and first.json()["duplicates"] == 0
    assert again.json() == {"accepted": ids, "duplicates": 3}
    assert overlapping.json()["accepted"][:2] == ids[1:]
    assert overlapping.json()["duplicates"] == 2
    all_ids = {*ids, overlapping.json()["accepted"][2]}
    assert await ingest.ids() == all_ids
    assert sorted(e.causation_id for e in await ingest.outbox(topics.ORDER_REPORTS)) == sorted(
        all_ids
    )
    async with TopicReader(stack_env, topics.ORDER_REPORTS) as reader:
        await reader.read_until(lambda es: len(es) >= 4)
        published = await reader.settle(2.0)
        keys = sorted(k or b"" for k, _ in reader.records)
    assert sorted(e.causation_id for e in published) == sorted(all_ids), "each exactly once"
    assert keys == sorted(f"shop:{o}".encode() for o in ("o-0", "o-1", "o-2", "o-new"))


async def test_report_size_limit_keeps_every_accepted_report_publishable(
    stack_env: dict[str, str], ingest: Ingest
) -> None:
    item = {"sku": "a", "quantity": 1, "unit_price": "1.00", "name": ""}
    big = report("o-big", "Pending", AT, items=[item])
    room = MAX_REPORT_BYTES - len(json.dumps(big, separators=(",", ":")))
    # Within 1 KB of the limit; the service's own serialisation adds the omitted fields.
    accepted = {**big, "items": [{**item, "name": "x" * (room - 1000)}]}
    too_big = {**big, "order_id": "o-bigger", "items": [{**item, "name": "x" * (room + 10)}]}

    rejected = await ingest.post(ORDERS, too_big)
    response = await ingest.post(ORDERS, accepted)

    assert rejected.status_code == 422 and paths(rejected) == [""]
    assert response.status_code == 202
    async with TopicReader(stack_env, topics.ORDER_REPORTS) as reader:
        [event] = await reader.read_until(lambda es: len(es) >= 1)
    assert event.order_id == "o-big"


# --- 400 and 422 -----------------------------------------------------------------------


async def test_body_that_is_not_json_is_400(ingest: Ingest) -> None:
    for body in (b"{not json", b'{"tenant": "shop"', "\xe9t\xe9".encode("latin-1"), b"[" * 100_000):
        response = await ingest.client.post(ORDERS, content=body, headers=auth())
        assert response.status_code == 400, body[:20]
    assert await ingest.nothing_stored()


async def test_invalid_report_is_422_naming_the_field(ingest: Ingest) -> None:
    items = [
        {"sku": s, "quantity": q, "unit_price": "1.00"} for s, q in (("a", 1), ("b", 2), ("c", 0))
    ]

    response = await ingest.post(ORDERS, report("o-1", "Pending", AT, items=items))

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["path"] == "items[2].quantity" and error["message"]
    assert await ingest.nothing_stored()


async def test_batch_with_bad_reports_is_rejected_whole_naming_every_bad_field(
    ingest: Ingest,
) -> None:
    bad_first = {k: v for k, v in report("o-0", "x", AT).items() if k != "status"}
    bad_first["items"] = [{"sku": "a", "quantity": 0, "unit_price": "1.00"}]
    bad_last = report("o-2", "Pending", "yesterday", customer={"email": "a@b.test"})
    batch = [bad_first, report("o-1", "Pending", AT), bad_last]

    response = await ingest.post(ORDERS, batch)

    assert response.status_code == 422
    assert sorted(paths(response)) == [
        "[0].items[0].quantity",
        "[0].status",
        "[2].customer.id",
        "[2].occurred_at",
    ]
    assert await ingest.nothing_stored(), "the valid report [1] is not stored either"


async def test_refunded_amount_only_with_a_refund_status_is_422_naming_it(
    ingest: Ingest,
) -> None:
    # shop uses the loyalty profile: Refunded is refunded, OK is confirmed.
    refund = report("o-r", "Refunded", AT, amount="10.00", currency="EUR", refunded_amount="4.00")
    not_refund = report("o-s", "OK", AT, amount="10.00", currency="EUR", refunded_amount="4.00")

    response = await ingest.post(ORDERS, [refund, not_refund])

    assert response.status_code == 422
    assert paths(response) == ["[1].refunded_amount"]
    assert await ingest.nothing_stored()
    accepted = await ingest.post(ORDERS, refund)
    assert accepted.status_code == 202
    [event] = await ingest.outbox(topics.ORDER_REPORTS)
    assert event.data["refunded_amount"] == "4.00"


async def test_batch_must_hold_1_to_1000_reports(ingest: Ingest) -> None:
    too_many = await ingest.post(ORDERS, reports(1001))
    empty = await ingest.post(ORDERS, [])
    too_many_touchpoints = await ingest.post(
        TOUCHPOINTS, [touchpoint(f"tp-{i}") for i in range(1001)]
    )

    assert (too_many.status_code, empty.status_code, too_many_touchpoints.status_code) == (
        422,
        422,
        422,
    )
    assert await ingest.nothing_stored()


async def test_text_postgres_cannot_store_is_422_and_the_service_goes_on(ingest: Ingest) -> None:
    nul = report("o-1", "Pend\u0000ing", AT)
    surrogate = report("o-2", "Pending", AT, customer={"id": "c-1", "name": "\udc00"})
    nul_key = report("o-3", "Pending", AT, metadata={"a\u0000": 1})
    out_of_range = report("o-4", "Pending", "0001-01-01T00:00:00+01:00")
    too_deep = report("o-5", "Pending", AT, metadata={"a": json.loads("[" * 300 + "]" * 300)})

    response = await ingest.client.post(
        ORDERS,
        content=json.dumps([nul, surrogate, nul_key, out_of_range, too_deep]).encode(),
        headers={**auth(), "Content-Type": "application/json"},
    )
    after = await ingest.post(ORDERS, report("o-6", "Pending", AT))

    assert response.status_code == 422
    assert paths(response) == [
        "[0].status",
        "[1].customer.name",
        "[2].metadata",
        "[3].occurred_at",
        "[4].metadata",
    ]
    assert after.status_code == 202
    assert await ingest.ids() == set(after.json()["accepted"])


# --- 401, 403, 413 -----------------------------------------------------------------------


async def test_missing_or_bad_credentials_are_401(ingest: Ingest) -> None:
    body = report("o-1", "Pending", AT)
    for headers in (
        {},
        {"Authorization": f"Basic {TEST_KEYS['shop']}"},
        {"Authorization": TEST_KEYS["shop"]},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer shop-key-wrong-000000"},
    ):
        for path in (ORDERS, TOUCHPOINTS):
            response = await ingest.client.post(path, json=body, headers=headers)
            assert response.status_code == 401, (path, headers)
    assert await ingest.nothing_stored()


async def test_key_of_one_tenant_cannot_write_for_another(ingest: Ingest) -> None:
    foreign = await ingest.post(ORDERS, report("o-1", "Pending", AT, tenant="store"))
    mixed = await ingest.post(
        ORDERS, [report("o-2", "Pending", AT), report("o-3", "OK", AT, tenant="store")]
    )
    foreign_touchpoint = await ingest.post(TOUCHPOINTS, touchpoint("tp-1", tenant="other"))

    assert [r.status_code for r in (foreign, mixed, foreign_touchpoint)] == [403, 403, 403]
    assert await ingest.nothing_stored()


async def test_key_without_the_scope_is_403(ingest: Ingest) -> None:
    orders = await ingest.post(ORDERS, report("o-1", "Pending", AT, tenant="other"), "other")
    touchpoints = await ingest.post(TOUCHPOINTS, touchpoint("tp-1", tenant="other"), "other")

    assert orders.status_code == 403, "tenant 'other' has only touchpoints:write"
    assert touchpoints.status_code == 202
    assert await ingest.ids("reports") == set()
    assert await ingest.ids("touchpoints") == set(touchpoints.json()["accepted"])


def padded(body: Any, size: int) -> bytes:
    """Valid JSON of exactly `size` bytes: only the size can be wrong with it."""
    raw = json.dumps(body).encode()
    return raw + b" " * (size - len(raw))


async def test_body_over_1_mib_is_413_with_or_without_content_length(ingest: Ingest) -> None:
    over = padded(report("o-1", "Pending", AT), MIB + 1)

    async def chunked() -> AsyncIterator[bytes]:
        for start in range(0, len(over), 64 * 1024):
            yield over[start : start + 64 * 1024]

    declared = await ingest.client.post(ORDERS, content=over, headers=auth())
    streamed = await ingest.client.post(ORDERS, content=chunked(), headers=auth())

    assert declared.status_code == 413
    assert streamed.status_code == 413
    assert "content-length" not in streamed.request.headers
    assert await ingest.nothing_stored()
    exactly = await ingest.client.post(
        ORDERS, content=padded(report("o-1", "Pending", AT), MIB), headers=auth()
    )
    assert exactly.status_code == 202, "1 MiB itself is allowed"


# --- 429 ---------------------------------------------------------------------------------


async def until(condition: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, "condition not reached"
        await asyncio.sleep(0.05)


async def test_overloaded_service_answers_429_with_retry_after_and_stores_nothing_of_it(
    stack_env: dict[str, str], tenants_dir: Path
) -> None:
    async with open_ingest(stack_env, tenants_dir, max_inflight_requests=1) as api:

        async def first_is_waiting_for_the_table() -> bool:
            sql = (
                "SELECT count(*) FROM pg_locks WHERE relation = 'reports'::regclass AND NOT granted"
            )
            return bool(await api.pool.fetchval(sql))

        # Holding a lock on the table keeps the one admitted request inside its transaction.
        async with api.pool.acquire() as blocker, blocker.transaction():
            await blocker.execute("LOCK TABLE reports IN SHARE MODE")
            first = asyncio.create_task(api.post(ORDERS, reports(2, "first")))
            await until(first_is_waiting_for_the_table)
            refused = await asyncio.gather(
                *(api.post(ORDERS, reports(2, f"b{i}")) for i in range(5))
            )
        admitted = await first

        assert [r.status_code for r in refused] == [429] * 5
        assert all(r.headers["Retry-After"].isdigit() for r in refused)
        assert admitted.status_code == 202
        assert await api.ids() == set(admitted.json()["accepted"])


async def test_burst_of_full_batches_stores_exactly_what_was_acknowledged(
    stack_env: dict[str, str], tenants_dir: Path
) -> None:
    async with open_ingest(stack_env, tenants_dir, max_inflight_requests=1) as api:
        batches = [reports(1000, f"burst{i}") for i in range(10)]
        answers = await asyncio.gather(*(api.post(ORDERS, b) for b in batches))
        stored = await api.ids()
        rows = await api.pool.fetch(
            "SELECT DISTINCT split_part(order_id, '-', 1) AS b FROM reports"
        )

    statuses = [r.status_code for r in answers]
    assert set(statuses) <= {202, 429} and 202 in statuses and 429 in statuses, statuses
    assert all("Retry-After" in r.headers for r in answers if r.status_code == 429)
    acknowledged = {i for r in answers if r.status_code == 202 for i in r.json()["accepted"]}
    assert stored == acknowledged, "every 202'd report is stored, no 429'd one is"
    assert {r["b"] for r in rows} == {
        f"burst{i}" for i, r in enumerate(answers) if r.status_code == 202
    }


# --- touchpoints -------------------------------------------------------------------------


async def test_touchpoints_are_accepted_once_and_published_keyed_by_customer(
    stack_env: dict[str, str], ingest: Ingest
) -> None:
    single = await ingest.post(TOUCHPOINTS, touchpoint("tp-1", "cust-1"))
    batch = [touchpoint("tp-1", "cust-1"), touchpoint("tp-2", "cust-2")]
    again = await ingest.post(TOUCHPOINTS, batch)
    twice = await ingest.post(TOUCHPOINTS, batch)

    assert [r.status_code for r in (single, again, twice)] == [202] * 3
    assert again.json()["accepted"][0] == single.json()["accepted"][0]
    assert (again.json()["duplicates"], twice.json()["duplicates"]) == (1, 2)
    ids = set(again.json()["accepted"])
    assert await ingest.ids("touchpoints") == ids
    assert {e.causation_id for e in await ingest.outbox(topics.TOUCHPOINTS_RECORDED)} == ids
    async with TopicReader(stack_env, topics.TOUCHPOINTS_RECORDED) as reader:
        await reader.read_until(lambda es: len(es) >= 2)
        published = await reader.settle(2.0)
        keys = sorted(k or b"" for k, _ in reader.records)
    assert sorted(e.causation_id for e in published) == sorted(ids), "each exactly once"
    assert keys == [b"shop:cust-1", b"shop:cust-2"]
    assert {e.type for e in published} == {"touchpoint.recorded"}


async def test_invalid_touchpoint_is_422_naming_the_field(ingest: Ingest) -> None:
    response = await ingest.post(
        TOUCHPOINTS, [touchpoint("tp-1"), {**touchpoint("tp-2"), "kind": "billboard"}]
    )

    assert response.status_code == 422
    assert paths(response) == ["[1].kind"]
    assert await ingest.nothing_stored()


# --- health, readiness, metrics ------------------------------------------------------------


def requests_counted(metrics_text: str, status: int) -> float:
    wanted = {"service": "ingest", "route": ORDERS, "status": str(status)}
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == "orderflow_http_requests_total" and sample.labels == wanted:
                return float(sample.value)
    return 0.0


async def test_health_readiness_and_metrics(ingest: Ingest) -> None:
    before = requests_counted((await ingest.client.get("/metrics")).text, 401)
    await ingest.client.post(ORDERS, json=report("o-1", "Pending", AT))

    healthz = await ingest.client.get("/healthz")

    async def ready() -> bool:
        # 503 until the consumer has joined the broker, which takes a moment after start.
        return (await ingest.client.get("/readyz")).status_code == 200

    await until(ready, timeout=30.0)
    readyz = await ingest.client.get("/readyz")
    metrics = await ingest.client.get("/metrics")

    assert healthz.status_code == 200
    assert readyz.json()["checks"] == {
        "database": True,
        "migrations": True,
        "broker": True,
        "publishing": True,
    }
    assert metrics.status_code == 200
    assert requests_counted(metrics.text, 401) == before + 1


# --- personal data -------------------------------------------------------------------------


@pytest.fixture
def captured(capfd: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    """capfd, and the default logging restored after the test switched to the services' own."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield capfd
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    root.handlers[:], root.level = handlers, level


def log_like_a_service() -> None:
    """The services' log set-up (structlog JSON on stdout), bound to the current capture.

    Called in the test body: capfd swaps its stream between set-up and call. Loggers are
    not cached, or they would keep writing to this test's capture after it has closed.
    """
    configure_logging("ingest")
    structlog.configure(cache_logger_on_first_use=False)


async def test_customer_email_and_name_never_reach_the_logs(
    stack_env: dict[str, str], tenants_dir: Path, captured: pytest.CaptureFixture[str]
) -> None:
    log_like_a_service()
    email, name = "ada.lovelace@example.test", "Ada Zyxlovelace"
    customer = {"id": "c-1", "email": email, "name": name}
    # An unknown status makes ingest log a warning about this very report.
    unmapped = report("o-1", "Mystery", AT, customer=customer, items=[])
    bad = report("o-2", "Pending", AT, customer=customer, amount="-1", currency="EUR")
    async with open_ingest(stack_env, tenants_dir) as api:
        accepted = await api.post(ORDERS, unmapped)
        rejected = await api.post(ORDERS, [unmapped, bad])
        foreign = await api.post(ORDERS, {**unmapped, "tenant": "store"})

        async def relay_drained() -> bool:  # publishing, too, would have logged by then
            return not await api.pool.fetchval("SELECT count(*) FROM outbox WHERE sent_at IS NULL")

        await until(relay_drained)

    out, err = captured.readouterr()
    assert (accepted.status_code, rejected.status_code, foreign.status_code) == (202, 422, 403)
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    warned = [e for e in lines if e.get("event") == "status_unmapped"]
    assert [(e["order_id"], e["status"]) for e in warned] == [("o-1", "Mystery")]
    for text in (out, err):
        assert email not in text and name not in text
        assert "Zyxlovelace" not in text and "ada.lovelace" not in text
