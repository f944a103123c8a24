"""The HTTP edge's pure parts, without a stack: the JSON gate, the token bucket, the error
shape of transient failures (a broker error too) and the OpenAPI document's answers."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka.errors import KafkaConnectionError
from fastapi import APIRouter

from orderflow.shared.http import build_app
from orderflow.shared.http_body import parse_json, unstorable_path
from orderflow.shared.http_errors import ApiError
from orderflow.shared.http_limits import TenantBuckets, connection
from orderflow.shared.http_openapi import answers
from orderflow.shared.http_settings import HttpSettings


@pytest.mark.parametrize(
    "raw",
    [
        b"1" * 4301,
        b'{"a": [' + b"9" * 5000 + b"]}",
        b"[" * 600 + b"]" * 600,
        b"[" * 100_000,
        b'{"a": "\xff"}',
        b"NaN",
        b'{"a": -Infinity}',
        b"",
        b"{",
    ],
)
def test_a_body_that_is_not_acceptable_json_is_400(raw: bytes) -> None:
    with pytest.raises(ApiError) as refused:
        parse_json(raw, 512)
    assert refused.value.status == 400 and refused.value.errors[0][1]


def test_acceptable_json_is_decoded_exactly_when_asked() -> None:
    deep = json.dumps(json.loads("[" * 511 + "]" * 511))
    assert parse_json(deep.encode(), 512) is not None
    assert parse_json(b'{"n": 1.10}', 512, Decimal) == {"n": Decimal("1.10")}
    assert parse_json(b"1" * 4300, 512) == int("1" * 4300)


def test_unstorable_text_is_found_with_its_path() -> None:
    assert unstorable_path({"ids": ["ok", "a\u0000"]}) == "ids[1]"
    assert unstorable_path({"a": {"b": "\udc00"}}) == "a.b"
    assert unstorable_path({"a": ["fine", {"b": 1}]}) is None


def test_each_tenant_has_its_own_bucket_refilled_over_time() -> None:
    now = [0.0]
    buckets = TenantBuckets(rate=10.0, burst=1000, clock=lambda: now[0])

    assert buckets.wait_s("a", 1000) == 0.0
    assert buckets.wait_s("a", 10) == pytest.approx(1.0), "empty: 10 tokens take a second"
    assert buckets.wait_s("b", 1000) == 0.0, "another tenant is not affected"
    now[0] = 1.0
    assert buckets.wait_s("a", 10) == 0.0
    with pytest.raises(ApiError) as refused:
        buckets.charge("a", 5)
    assert refused.value.status == 429 and refused.value.headers["Retry-After"] == "1"
    assert TenantBuckets(rate=0, burst=1000).wait_s("a", 10**9) == 0.0, "0 turns it off"


async def answer(failure: Exception) -> httpx.Response:
    router = APIRouter()

    @router.get("/v1/fails", responses=answers(None))
    async def fails() -> None:
        raise failure

    async def ready() -> dict[str, bool]:
        return {}

    app = build_app("test", ready, router.routes, HttpSettings())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://edge") as client:
        return await client.get("/v1/fails")


@pytest.mark.parametrize(
    "failure",
    [
        OSError("connection refused"),
        asyncpg.exceptions.ConnectionDoesNotExistError("gone"),
        asyncpg.exceptions.CannotConnectNowError("starting up"),
        TimeoutError(),
        KafkaConnectionError(),
    ],
)
async def test_database_or_broker_unavailable_is_503_with_retry_after(failure: Exception) -> None:
    response = await answer(failure)

    assert response.status_code == 503 and response.headers["Retry-After"] == "1"
    assert set(response.json()) == {"errors"}


async def test_an_unexpected_error_is_a_bare_500_in_the_error_shape() -> None:
    response = await answer(ZeroDivisionError("secret@example.test"))

    assert response.status_code == 500
    assert "secret" not in response.text and set(response.json()) == {"errors"}


async def test_the_document_is_openapi_3_1_and_declares_every_refusal() -> None:
    app = build_app("test", lambda: None, [], HttpSettings())  # type: ignore[arg-type, return-value]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://edge") as client:
        document: dict[str, Any] = (await client.get("/openapi.json")).json()
        unknown = await client.get("/nothing/here")
    assert document["openapi"].startswith("3.1")
    assert unknown.status_code == 404 and set(unknown.json()) == {"errors"}
    statuses = answers(None, 409)
    assert {400, 401, 403, 404, 409, 413, 422, 429, 503} == set(statuses)
    assert "Retry-After" in statuses[503]["headers"]


class BusyPool:
    """Every connection taken: acquire waits out its timeout."""

    async def acquire(self, timeout: float) -> asyncpg.Connection:
        raise TimeoutError


async def test_a_pool_with_every_connection_busy_is_overload_429_not_an_outage() -> None:
    with pytest.raises(ApiError) as refused:
        async with connection(BusyPool(), 3):
            pass
    assert refused.value.status == 429 and refused.value.headers["Retry-After"] == "3"
