"""The one HTTP edge on every service (issue 9 items 2, 3 and 8), on the real stack.

Each case of the issue's "Why" that answered 500, took unbounded memory or let any key
read anything is asked again here, service by service.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from orderflow.services.ingest.webhooks.signatures import stripe_signature
from orderflow.shared.service import Service
from tests.harness import report, running
from tests.infra import Infra

pytestmark = pytest.mark.integration

AT = "2026-01-01T10:00:00Z"
STRIPE_SECRET = "whsec_edge_test_secret"
KEYS = {
    "shop": "shop-plain-key-0123456789",  # a plain string: the default scopes
    "shop-reader": "shop-reader-key-0123456789",  # orders:read only
    "shop-writer": "shop-writer-key-0123456789",  # orders:write only
    "shop-sales": "shop-sales-key-0123456789",  # sales:confirm only
    "store": "store-plain-key-0123456789",
}
TENANTS = {
    "shop": f"""tenant: shop
status_profile: loyalty
api_keys:
  - "{KEYS["shop"]}"
  - {{key: "{KEYS["shop-reader"]}", scopes: ["orders:read"]}}
  - {{key: "{KEYS["shop-writer"]}", scopes: ["orders:write"]}}
  - {{key: "{KEYS["shop-sales"]}", scopes: ["sales:confirm"]}}
webhook_secrets: {{stripe: "{STRIPE_SECRET}"}}
""",
    "store": f'tenant: store\nstatus_profile: store\napi_keys: ["{KEYS["store"]}"]\n',
}
HUGE_INTEGER = b"1" * 5000  # Python refuses to convert more than 4,300 digits
DEEP = b"[" * 2000 + b"]" * 2000
INBOX = "/v1/inbox/shop/customer/c-1"
BALANCE = "/v1/members/shop/m-1/balance"
ATTRIBUTION = "/v1/orders/shop/o-1/attribution"
CONFIRM = "/v1/orders/shop/o-1/sale-confirmation"


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[key]}", "Content-Type": "application/json"}


def messages(answer: httpx.Response) -> list[str]:
    return [e["message"] for e in answer.json()["errors"]]


@pytest.fixture
def tenants_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "tenants"
    directory.mkdir()
    for name, text in TENANTS.items():
        (directory / f"{name}.yaml").write_text(text)
    return directory


@asynccontextmanager
async def edge(
    name: str, env: dict[str, str], tenants_dir: Path, **overrides: Any
) -> AsyncIterator[tuple[Service, httpx.AsyncClient]]:
    async with running(name, env, tenants_dir, **overrides) as service:
        base = f"http://127.0.0.1:{service.settings.http_port}"
        async with httpx.AsyncClient(base_url=base, timeout=30.0) as client:
            yield service, client


def counted(text: str, service: str, route: str, status: int) -> tuple[float, float]:
    """(requests, latency observations) of one route template and status."""
    wanted = {"service": service, "route": route, "status": str(status)}
    found = {"orderflow_http_requests_total": 0.0, "orderflow_http_request_seconds_count": 0.0}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in found and sample.labels == wanted:
                found[sample.name] = float(sample.value)
    return found["orderflow_http_requests_total"], found["orderflow_http_request_seconds_count"]


async def assert_documented(client: httpx.AsyncClient, *paths: str) -> None:
    document = (await client.get("/openapi.json")).json()
    explorer = await client.get("/docs")
    assert document["openapi"].startswith("3.1")
    assert set(paths) <= set(document["paths"])
    assert explorer.status_code == 200 and "openapi.json" in explorer.text


# --- ingest ----------------------------------------------------------------------------


async def test_ingest_refuses_unparseable_bodies_with_400_and_documents_itself(
    stack_env: dict[str, str], tenants_dir: Path
) -> None:
    created = int(time.time())
    event = b'{"id": "evt_1", "type": "payment_intent.succeeded", "created": %d, "n": %s}'
    stripe_body = event % (created, HUGE_INTEGER)
    stripe = {
        "Stripe-Signature": f"t={created},v1={stripe_signature(stripe_body, STRIPE_SECRET, created)}"
    }
    report_body = json.dumps(report("o-1", "Pending", AT)).encode()
    async with edge("ingest", stack_env, tenants_dir) as (_, client):
        answers = {
            "huge integer": await client.post(
                "/v1/orders", content=report_body[:-1] + b', "n": ' + HUGE_INTEGER + b"}", headers=auth("shop")
            ),
            "deep": await client.post("/v1/orders", content=DEEP, headers=auth("shop")),
            "bad utf-8": await client.post("/v1/orders", content=b'{"a": "\xff"}', headers=auth("shop")),
            "NaN": await client.post("/v1/orders", content=b'{"a": NaN}', headers=auth("shop")),
            "stripe, signed": await client.post("/v1/webhooks/stripe/shop", content=stripe_body, headers=stripe),
        }  # fmt: skip
        long_time = {"Stripe-Signature": f"t={'9' * 5000},v1=00"}
        stripe_header = await client.post(
            "/v1/webhooks/stripe/shop", content=b"{}", headers=long_time
        )
        after = await client.post("/v1/orders", content=report_body, headers=auth("shop"))
        await assert_documented(
            client, "/v1/orders", "/v1/touchpoints", "/v1/webhooks/stripe/{tenant}"
        )
        metrics = (await client.get("/metrics")).text
    assert {name: a.status_code for name, a in answers.items()} == dict.fromkeys(answers, 400)
    assert all(set(a.json()) == {"errors"} for a in answers.values())
    assert stripe_header.status_code == 401, "a timestamp of 5,000 digits is no signature"
    assert after.status_code == 202
    requests, timed = counted(metrics, "ingest", "/v1/orders", 400)
    assert requests == timed >= 4, "each request is counted and timed under its route template"


async def test_ingest_write_keys_need_the_write_scope_and_a_read_only_key_writes_nothing(
    stack_env: dict[str, str], tenants_dir: Path
) -> None:
    body = report("o-1", "Pending", AT)
    async with edge("ingest", stack_env, tenants_dir) as (_, client):
        reader = await client.post("/v1/orders", json=body, headers=auth("shop-reader"))
        writer = await client.post("/v1/orders", json=body, headers=auth("shop-writer"))
        plain = await client.post("/v1/orders", json=report("o-2", "OK", AT), headers=auth("shop"))
    assert reader.status_code == 403 and "orders:write" in messages(reader)[0]
    assert writer.status_code == 202 and plain.status_code == 202


async def test_one_tenant_over_its_rate_limit_gets_429_and_others_go_on(
    stack_env: dict[str, str], tenants_dir: Path
) -> None:
    limits = {"tenant_reports_per_s": 1.0, "tenant_burst_reports": 1000}
    batch = [report(f"o-{i}", "Pending", AT, tenant="shop") for i in range(1000)]
    async with edge("ingest", stack_env, tenants_dir, **limits) as (_, client):
        first = await client.post("/v1/orders", json=batch, headers=auth("shop"))
        flooding = await client.post(
            "/v1/orders", json=report("o-x", "OK", AT), headers=auth("shop")
        )
        other = await client.post(
            "/v1/orders", json=report("o-1", "Pending", AT, tenant="store"), headers=auth("store")
        )
    assert first.status_code == 202, "a full batch fits the bucket"
    assert flooding.status_code == 429 and int(flooding.headers["Retry-After"]) >= 1
    assert "rate limit" in messages(flooding)[0]
    assert other.status_code == 202, "another tenant's bucket is its own"


# --- attribution -------------------------------------------------------------------------


async def test_attribution_confirmation_refuses_unparseable_bodies_and_reads_need_orders_read(
    stack_env: dict[str, str], tenants_dir: Path
) -> None:
    huge = b'{"manager_id": "sm-1", "n": ' + HUGE_INTEGER + b"}"
    async with edge("attribution", stack_env, tenants_dir) as (_, client):
        answers = {
            "huge integer": await client.post(CONFIRM, content=huge, headers=auth("shop-sales")),
            "deep": await client.post(CONFIRM, content=DEEP, headers=auth("shop-sales")),
            "bad utf-8": await client.post(
                CONFIRM, content=b"\xff\xfe", headers=auth("shop-sales")
            ),
        }
        nul = await client.post(CONFIRM, json={"manager_id": "a\u0000"}, headers=auth("shop-sales"))
        too_big = await client.post(CONFIRM, content=b" " * (65 * 1024), headers=auth("shop-sales"))
        reads = {
            key: (await client.get(ATTRIBUTION, headers=auth(key))).status_code
            for key in ("shop", "shop-reader", "shop-sales", "store")
        }
        sales_read = await client.get(ATTRIBUTION, headers=auth("shop-sales"))
        await assert_documented(client, "/v1/orders/{tenant}/{order_id}/attribution")
    assert {name: a.status_code for name, a in answers.items()} == dict.fromkeys(answers, 400)
    assert (nul.status_code, nul.json()["errors"][0]["path"]) == (422, "manager_id")
    assert too_big.status_code == 413
    # 404: the order is unknown, but the key may ask; the sales key may not read at all.
    assert reads == {"shop": 404, "shop-reader": 404, "shop-sales": 403, "store": 403}
    assert "orders:read" in messages(sales_read)[0]


# --- rewards -----------------------------------------------------------------------------


async def test_rewards_reads_need_orders_read_of_the_paths_tenant(
    stack_env: dict[str, str], tenants_dir: Path
) -> None:
    async with edge("rewards", stack_env, tenants_dir) as (_, client):
        reads = {
            key: (await client.get(BALANCE, headers=auth(key))).status_code
            for key in ("shop", "shop-reader", "shop-writer", "store")
        }
        writer = await client.get(f"{BALANCE[:-8]}/ledger", headers=auth("shop-writer"))
        beyond = await client.get(
            f"{BALANCE[:-8]}/ledger?after=99999999999999999999", headers=auth("shop")
        )
        nul = await client.get("/v1/members/shop/m%00/balance", headers=auth("shop"))
        misspelt = await client.get(f"{BALANCE[:-8]}/ledger?limt=5", headers=auth("shop"))
        await assert_documented(client, "/v1/members/{tenant}/{member_id}/balance")
    assert reads == {"shop": 200, "shop-reader": 200, "shop-writer": 403, "store": 403}
    assert writer.status_code == 403 and "orders:read" in messages(writer)[0]
    assert beyond.status_code == 400
    assert nul.status_code == 400
    assert (misspelt.status_code, misspelt.json()["errors"][0]["path"]) == (422, "query.limt")


# --- notifier ----------------------------------------------------------------------------


async def test_inbox_refuses_unparseable_bodies_bounds_mark_read_and_needs_orders_read(
    stack_env: dict[str, str], tenants_dir: Path
) -> None:
    big = b'{"ids": ["' + b"x" * (2 * 1024 * 1024) + b'"]}'

    async def streamed() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 64 * 1024):
            yield big[start : start + 64 * 1024]

    async with edge("notifier", stack_env, tenants_dir) as (_, client):
        read = INBOX + "/read"
        answers = {
            "huge integer": await client.post(read, content=b'{"ids": [' + HUGE_INTEGER + b"]}", headers=auth("shop")),
            "deep": await client.post(read, content=DEEP, headers=auth("shop")),
            "bad utf-8": await client.post(read, content=b'{"ids": ["\xc3"]}', headers=auth("shop")),
            "not json": await client.post(read, content=b"ids=1", headers=auth("shop")),
        }  # fmt: skip
        declared = await client.post(read, content=big, headers=auth("shop"))
        chunked = await client.post(read, content=streamed(), headers=auth("shop"))
        cursor = await client.get(
            INBOX, params={"before": "99999999999999999999999.1"}, headers=auth("shop")
        )
        digits = await client.get(INBOX, params={"limit": "²"}, headers=auth("shop"))
        nul = await client.post(read, json={"ids": ["\u0000"]}, headers=auth("shop"))
        reads = {
            key: (await client.get(INBOX, headers=auth(key))).status_code
            for key in ("shop", "shop-reader", "shop-writer", "store")
        }
        marks = {
            key: (await client.post(read, headers=auth(key))).status_code
            for key in ("shop-reader", "shop-writer", "store")
        }
        await assert_documented(client, "/v1/inbox/{tenant}/{role}/{recipient_id}/read")
    assert {name: a.status_code for name, a in answers.items()} == dict.fromkeys(answers, 400)
    assert (declared.status_code, chunked.status_code) == (413, 413)
    assert "content-length" not in chunked.request.headers
    assert (cursor.status_code, digits.status_code, nul.status_code) == (422, 422, 422)
    assert reads == {"shop": 200, "shop-reader": 200, "shop-writer": 403, "store": 403}
    assert marks == {"shop-reader": 200, "shop-writer": 403, "store": 403}


# --- storage down: 503 with Retry-After on every service -------------------------------------


async def test_every_service_answers_503_with_retry_after_while_postgres_is_down(
    infra: Infra, stack_env: dict[str, str], tenants_dir: Path
) -> None:
    if not infra.can_pause:
        pytest.skip(f"stopping Postgres needs the embedded stack; this run uses {infra.mode!r}")
    requests = {
        "ingest": ("POST", "/v1/orders", report("o-1", "Pending", AT), "shop"),
        "attribution": ("GET", ATTRIBUTION, None, "shop"),
        "rewards": ("GET", BALANCE, None, "shop"),
        "notifier": ("GET", INBOX, None, "shop"),
    }
    async with AsyncExitStack() as stack:
        clients = {
            name: (await stack.enter_async_context(edge(name, stack_env, tenants_dir)))[1]
            for name in requests
        }

        async def ask() -> dict[str, httpx.Response]:
            answers = await asyncio.gather(
                *(
                    clients[name].request(method, path, json=body, headers=auth(key))
                    for name, (method, path, body, key) in requests.items()
                )
            )
            return dict(zip(requests, answers, strict=True))

        await asyncio.to_thread(infra.pause_postgres)
        try:
            down = await ask()
        finally:
            await asyncio.to_thread(infra.resume_postgres)
        deadline = time.monotonic() + 30
        while (up := await ask()) and any(a.status_code == 503 for a in up.values()):
            assert time.monotonic() < deadline, {n: a.status_code for n, a in up.items()}
            await asyncio.sleep(0.5)
    assert {name: a.status_code for name, a in down.items()} == dict.fromkeys(requests, 503)
    assert all(a.headers["Retry-After"].isdigit() for a in down.values())
    assert all(set(a.json()) == {"errors"} for a in down.values()), "no traceback"
    assert {name: a.status_code for name, a in up.items()} == {
        "ingest": 202,
        "attribution": 404,
        "rewards": 200,
        "notifier": 200,
    }
