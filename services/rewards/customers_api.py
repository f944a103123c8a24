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
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute

from orderflow.services.rewards import customer_queries, validation
from orderflow.services.rewards import validation_request as body
from orderflow.services.rewards.customer_handlers import Segments
from orderflow.shared import csv_stream
from orderflow.shared.http_auth import READ, Caller, Keys
from orderflow.shared.http_body import only_query, read_json
from orderflow.shared.http_errors import ApiError, error
from orderflow.shared.http_openapi import answers, json_body, ref
from orderflow.shared.tenants import TenantRegistry

CUSTOMER = "/v1/customers/{tenant}/{customer_id:path}"  # a customer id may hold a slash
SEGMENTS = "/v1/segments/{tenant}"
SEGMENT = "/v1/segments/{tenant}/{segment_id}"
VALIDATIONS = "/v1/validations/{tenant}"
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
        # rules as the registry has them now.
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

        async def validate(tenant: str, request: Request, c: Caller = Depends(reads)) -> Response:
            return JSONResponse(await self._validate(tenant, await read_json(request, exact=True)))

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
            (VALIDATIONS, validate, "POST", (), "Validate a cart against the tenant's rules "
             "(no side effect)", answers((200, body.ValidationOut))),
        ):  # fmt: skip
            extra = (
                json_body([body.ValidationIn], ref(body.ValidationIn)) if method == "POST" else None
            )
            router.add_api_route(
                path,
                endpoint,
                methods=[method],
                dependencies=[Depends(only_query(*query))],
                summary=f"{summary} (scope orders:read)",
                responses=responses,
                openapi_extra=extra,
            )
        return router.routes

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

    async def _validate(self, tenant: str, raw: object) -> dict[str, Any]:
        request = body.parse(raw)
        configured = {rule.id: rule for rule in self._tenants.get(tenant).validation_rules}
        asked = request.rules
        unknown = [
            (f"rules[{i}]", f"no rule {r!r}")
            for i, r in enumerate(asked or [])
            if r not in configured
        ]
        if unknown:
            raise ApiError(422, unknown)
        rules = (
            [configured[r] for r in dict.fromkeys(asked)]
            if asked is not None
            else list(configured.values())
        )
        shopper = validation.Shopper()
        if request.customer_id is not None and validation.needs_customer(rules):
            async with self._pool.acquire() as conn:
                count, segments = await customer_queries.shopper(conn, tenant, request.customer_id)
            shopper = validation.Shopper(count, frozenset(segments))
        return body.answer(validation.verdicts(rules, body.cart_of(request.order), shopper))
