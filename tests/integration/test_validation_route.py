"""`POST /v1/validations/{tenant}`, a bare ASGI route (shared/http_bare.py), on the real edge
and the real Postgres: the same refusals as a FastAPI route, the same answers, a membership
change seen by the next request, 503 to every concurrent request while the database is out
of reach, and its OpenAPI entry and metrics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import Depends
from fastapi.routing import APIRoute

from orderflow.services.rewards.validation_api import ValidationApi
from orderflow.shared.http import build_app
from orderflow.shared.http_auth import Caller, Keys
from orderflow.shared.http_settings import HttpSettings
from orderflow.shared.tenants import load_tenants
from tests.batch_support import service_pool
from tests.harness import free_port
from tests.segments_support import KEY, WRITE_ONLY_KEY, write_segment_tenants

pytestmark = pytest.mark.integration
PATH = "/v1/validations/seg"
SHOES = {"amount": "25.00", "currency": "EUR", "metadata": {"channel": "mobile_app"},
         "items": [{"sku": "s-1", "quantity": 1, "category": "shoes"}]}  # fmt: skip
LIMIT = 4096


def client(pool: asyncpg.Pool, tenants_dir: Path) -> httpx.AsyncClient:
    tenants = load_tenants(tenants_dir, {})
    route = ValidationApi(pool, tenants, Keys(tenants)).route()

    async def ready() -> dict[str, bool]:
        return {}

    app = build_app("rewards", ready, [route], HttpSettings(max_body_bytes=LIMIT))
    headers = {"Authorization": f"Bearer {KEY}"}
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://edge", headers=headers)


@pytest.fixture
async def pool(stack_env: dict[str, str]) -> AsyncIterator[asyncpg.Pool]:
    async with service_pool(stack_env, "rewards") as opened:
        yield opened


def codes(answer: dict[str, Any]) -> dict[str, list[str]]:
    return {r["id"]: [f["code"] for f in r["failures"]] for r in answer["rules"]}


async def test_the_bare_route_answers_and_refuses_as_the_edge_does(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    async with client(pool, write_segment_tenants(tmp_path / "tenants")) as http:
        anonymous = await http.post(PATH, json={"order": {**SHOES, "amount": "5.00"}})
        assert anonymous.status_code == 200
        assert anonymous.headers["content-type"] == "application/json"
        assert anonymous.json()["valid"] is False
        assert codes(anonymous.json()) == {
            "min-basket": ["cart.min_amount"],
            "shoes-for-loyal": ["customer.segments_any"],
            "mobile-only": [],
        }
        refusals = [
            (http.post(PATH, json={"order": SHOES}, headers={"Authorization": ""}), 401, ""),
            (http.post(PATH, json={"order": SHOES}, headers={"Authorization": "Basic x"}), 401, ""),
            (http.post("/v1/validations/segb", json={"order": SHOES}), 403, ""),
            (http.post(PATH, json={"order": SHOES},
                       headers={"Authorization": f"Bearer {WRITE_ONLY_KEY}"}), 403, ""),
            (http.post(PATH, json={"order": SHOES}, params={"rules": "x"}), 422, "query.rules"),
            (http.post(PATH, content=b'{"order": '), 400, ""),
            (http.post(PATH, content=b'{"order": {"amount": NaN}}'), 400, ""),
            (http.post(PATH, json={"order": {**SHOES, "items": [{"sku": "s", "quantity": 0}]}}),
             422, "order.items[0].quantity"),
            (http.post(PATH, json={"order": SHOES, "rules": ["min-basket", "nope"]}), 422,
             "rules[1]"),
            (http.post(PATH, content=b" " * (LIMIT + 1)), 413, ""),
            (http.post(PATH, content=chunks(LIMIT + 1)), 413, ""),
            (http.get(PATH), 405, ""),
        ]  # fmt: skip
        for request, status, path in refusals:
            answer = await request
            assert answer.status_code == status, answer.text
            assert answer.json()["errors"][0]["path"] == path, answer.text
        document = (await http.get("/openapi.json")).json()["paths"]["/v1/validations/{tenant}"]
        assert document["post"]["requestBody"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ValidationIn"
        }
        assert document["post"]["security"] == [{"HTTPBearer": []}]
        metrics = (await http.get("/metrics")).text
        assert 'route="/v1/validations/{tenant}",service="rewards",status="200"' in metrics


async def test_a_customer_id_postgres_cannot_take_is_422_and_fails_no_other_request(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    """Customers are read together (one statement for concurrent requests): a NUL in one
    request's customer id, which Postgres refuses, must fail that request alone."""
    good = {"customer_id": "c-1", "order": SHOES, "rules": ["shoes-for-loyal"]}
    bad = {**good, "customer_id": "c-\u0000"}
    async with client(pool, write_segment_tenants(tmp_path / "tenants")) as http:
        answers = await asyncio.gather(
            *(http.post(PATH, json=bad if n % 5 == 0 else good) for n in range(20))
        )
    statuses = [a.status_code for a in answers]
    assert statuses == [422 if n % 5 == 0 else 200 for n in range(20)], statuses
    assert answers[0].json()["errors"] == [
        {"path": "customer_id", "message": "must not hold a NUL character"}
    ]


async def chunks(size: int) -> AsyncIterator[bytes]:
    """A body without Content-Length (chunked): the edge counts what it reads."""
    for _ in range(size // 1024 + 1):
        yield b" " * 1024


async def test_a_membership_change_is_seen_by_the_next_request(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    body = {"customer_id": "c-1", "order": SHOES, "rules": ["shoes-for-loyal"]}
    async with client(pool, write_segment_tenants(tmp_path / "tenants")) as http:

        async def loyal_ok() -> list[bool]:
            answers = await asyncio.gather(*(http.post(PATH, json=body) for _ in range(20)))
            return [a.json()["valid"] for a in answers]

        assert await loyal_ok() == [False] * 20  # unknown customer: no segments
        await pool.execute(
            "INSERT INTO customers (tenant, customer_id, orders_count, first_purchase_at,"
            " last_purchase_at) VALUES ('seg', 'c-1', 3, now(), now())"
        )
        await pool.execute("INSERT INTO segment_members VALUES ('seg', 'loyal', 'c-1')")
        assert await loyal_ok() == [True] * 20
        await pool.execute("DELETE FROM segment_members WHERE customer_id = 'c-1'")
        assert await loyal_ok() == [False] * 20


async def test_every_concurrent_request_is_503_while_the_database_is_out_of_reach(
    tmp_path: Path,
) -> None:
    nowhere = await asyncpg.create_pool(
        f"postgresql://nobody@127.0.0.1:{free_port()}/none", min_size=0
    )
    assert nowhere is not None
    body = {"customer_id": "c-1", "order": SHOES}
    try:
        async with client(nowhere, write_segment_tenants(tmp_path / "tenants")) as http:
            answers = await asyncio.gather(*(http.post(PATH, json=body) for _ in range(10)))
            anonymous = await http.post(PATH, json={"order": SHOES})  # no customer: no database
    finally:
        await nowhere.close()
    assert [a.status_code for a in answers] == [503] * 10
    assert all(a.headers["Retry-After"] == "1" and set(a.json()) == {"errors"} for a in answers)
    assert anonymous.status_code == 200


async def test_a_tenant_bound_key_check_on_a_path_without_tenant_refuses_every_key(
    tmp_path: Path,
) -> None:
    """`Keys.caller` binds the key to `{tenant}` by default: on a path that has none it
    fails closed (403), it never lets any key through."""
    tenants = load_tenants(write_segment_tenants(tmp_path / "tenants"), {})
    reads = Keys(tenants).caller("orders:read")

    async def things(caller: Caller = Depends(reads)) -> dict[str, str]:
        return {"tenant": caller.tenant}

    async def ready() -> dict[str, bool]:
        return {}

    app = build_app("rewards", ready, [APIRoute("/v1/things", things)], HttpSettings())
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://edge") as http:
        answer = await http.get("/v1/things", headers={"Authorization": f"Bearer {KEY}"})
    assert answer.status_code == 403, answer.text
