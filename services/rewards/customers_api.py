"""Customers, segments and validations on the shared edge (CONTRACTS §11), scope orders:read.

Part 2's rules: a bad value or an unknown query parameter is `422` naming it; lists are
cursor-paged (`limit` 1-200, default 50; `cursor`; `next_cursor` null on the last page).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute

from orderflow.services.rewards import customer_queries
from orderflow.services.rewards.customer_handlers import Segments
from orderflow.services.rewards.validation_api import ValidationApi
from orderflow.shared import csv_stream
from orderflow.shared.http_auth import READ, Caller, Keys
from orderflow.shared.http_body import only_query
from orderflow.shared.http_errors import error
from orderflow.shared.http_openapi import answers
from orderflow.shared.tenants import TenantRegistry

CUSTOMER = "/v1/customers/{tenant}/{customer_id:path}"  # a customer id may hold a slash
SEGMENTS = "/v1/segments/{tenant}"
SEGMENT = "/v1/segments/{tenant}/{segment_id}"
EXPORT_COLUMNS = ("customer_id", "orders_count", "spent", "first_purchase_at", "last_purchase_at")
LIMIT = Query(None, description="Customers per page, 1 to 200 (default 50)")
CURSOR = Query(None, description="The `next_cursor` of the previous page")


class CustomerOut(BaseModel):
    customer_id: str
    orders_count: int
    spent: dict[str, str]
    first_purchase_at: str | None
    last_purchase_at: str | None
    segments: list[str]


class SegmentSize(BaseModel):
    id: str
    size: int


class SegmentsOut(BaseModel):
    segments: list[SegmentSize]


class MemberOut(BaseModel):
    customer_id: str
    orders_count: int
    spent: dict[str, str]
    first_purchase_at: str | None
    last_purchase_at: str | None


class MembersOut(BaseModel):
    customers: list[MemberOut]
    next_cursor: str | None


def _cursor(raw: str | None) -> str | None:
    if raw is None:
        return None
    try:
        padded = raw.encode("ascii") + b"=" * (-len(raw) % 4)
        decoded = base64.b64decode(padded, altchars=b"-_", validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise error(422, "not a cursor this list gave", "query.cursor") from None
    if not decoded or "\x00" in decoded:
        raise error(422, "not a cursor this list gave", "query.cursor")
    return decoded


def _next(customer_id: str | None) -> str | None:
    if customer_id is None:
        return None
    return base64.urlsafe_b64encode(customer_id.encode()).decode().rstrip("=")


def _limit(raw: str | None) -> int:
    if raw is None:
        return 50
    if not (raw.isdigit() and len(raw) <= 3 and 1 <= int(raw) <= 200):
        raise error(422, "must be an integer from 1 to 200", "query.limit")
    return int(raw)


def _spent_cell(spent: dict[str, str]) -> str:
    return " ".join(f"{amount} {currency}" for currency, amount in spent.items())


class CustomersApi:
    def __init__(self, pool: asyncpg.Pool, tenants: TenantRegistry, segments: Segments) -> None:
        # Segments as the service computes them (its steps hold the same map); validation
        # rules as the registry has them now (validation_api.py).
        self._pool, self._tenants, self._segments = pool, tenants, segments
        self._keys = Keys(tenants)

    def routes(self) -> list[BaseRoute]:
        reads = self._keys.caller(READ)
        router = APIRouter(tags=["customers"])

        async def customer(tenant: str, customer_id: str, c: Caller = Depends(reads)) -> Response:
            async with self._pool.acquire() as conn:
                found = await customer_queries.customer(conn, tenant, customer_id)
            if found is None:
                raise error(404, f"no customer {customer_id!r} of tenant {tenant!r} has orders")
            return JSONResponse(found)

        async def segments(tenant: str, c: Caller = Depends(reads)) -> Response:
            ids = [s.id for s in self._segments.get(tenant, ())]
            async with self._pool.acquire() as conn:
                sizes = await customer_queries.sizes(conn, tenant, ids)
            return JSONResponse({"segments": [{"id": i, "size": sizes[i]} for i in ids]})

        async def members(
            tenant: str,
            segment_id: str,
            limit: str | None = LIMIT,
            cursor: str | None = CURSOR,
            c: Caller = Depends(reads),
        ) -> Response:
            self._segment(tenant, segment_id)
            after, size = _cursor(cursor), _limit(limit)
            async with self._pool.acquire() as conn:
                page, last = await customer_queries.members_page(
                    conn, tenant, segment_id, after, size
                )
            return JSONResponse({"customers": page, "next_cursor": _next(last)})

        async def export(tenant: str, segment_id: str, c: Caller = Depends(reads)) -> Response:
            self._segment(tenant, segment_id)
            rows = csv_stream.stream(EXPORT_COLUMNS, self._export_rows(tenant, segment_id))
            name = f"{segment_id}.csv"
            headers = {"Content-Disposition": f'attachment; filename="{name}"'}
            return StreamingResponse(rows, media_type=csv_stream.MEDIA_TYPE, headers=headers)

        csv_ok: dict[int | str, dict[str, Any]] = {
            200: {"description": "RFC 4180 CSV", "content": {"text/csv": {}}}
        }
        for path, endpoint, method, query, summary, responses in (
            (CUSTOMER, customer, "GET", (), "A customer's statistics and segments",
             answers((200, CustomerOut), 404)),
            (SEGMENTS, segments, "GET", (), "The tenant's segments and their sizes",
             answers((200, SegmentsOut))),
            (f"{SEGMENT}/customers", members, "GET", ("limit", "cursor"),
             "A segment's customers, paged", answers((200, MembersOut), 404)),
            (f"{SEGMENT}/export.csv", export, "GET", (), "A segment's customers as CSV",
             {**answers(None, 404), **csv_ok}),
        ):  # fmt: skip
            router.add_api_route(
                path,
                endpoint,
                methods=[method],
                dependencies=[Depends(only_query(*query))],
                summary=f"{summary} (scope orders:read)",
                responses=responses,
            )
        return [*router.routes, ValidationApi(self._pool, self._tenants, self._keys).route()]

    def _segment(self, tenant: str, segment_id: str) -> None:
        if segment_id not in {s.id for s in self._segments.get(tenant, ())}:
            raise error(404, f"tenant {tenant!r} has no segment {segment_id!r}")

    async def _export_rows(self, tenant: str, segment_id: str) -> AsyncIterator[Sequence[Any]]:
        async with self._pool.acquire() as conn, conn.transaction():
            async for m in customer_queries.every_member(conn, tenant, segment_id):
                spent = _spent_cell(m["spent"])
                yield (
                    m["customer_id"],
                    m["orders_count"],
                    spent,
                    *[m[k] for k in EXPORT_COLUMNS[3:]],
                )
