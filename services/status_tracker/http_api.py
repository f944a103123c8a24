"""The orders reads and notes (CONTRACTS §7) on the shared HTTP edge: thin routes over
`order_filters` (what is asked), `orders_query` / `order_read` / `csv_export` / `kpis`
(the SQL) and `notes_store`.

Reads need `orders:read`, a note `orders:write`; a key of another tenant is `403`, a missing
or unknown key `401`, an unknown query parameter `422` naming it. Personal data (the
customer's name, the shipping address) is answered to the tenant's own keys only and is
never logged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
from fastapi import APIRouter, Depends
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute

from orderflow.services.status_tracker import (
    csv_export,
    http_params,
    kpis,
    notes_store,
    order_read,
    orders_query,
)
from orderflow.services.status_tracker.http_models import (
    Kpis,
    Note,
    NoteBody,
    OrderDetail,
    OrderList,
    Timeline,
)
from orderflow.services.status_tracker.order_filters import (
    FILTERS,
    Filters,
    Page,
    parse_filters,
    parse_kpi_query,
    parse_page,
)  # fmt: skip
from orderflow.services.status_tracker.order_payments import NO_PAYMENTS, Payments
from orderflow.shared.envelope import utcnow
from orderflow.shared.http_auth import READ, Keys
from orderflow.shared.http_body import only_query, read_json
from orderflow.shared.http_errors import ApiError, error
from orderflow.shared.http_openapi import answers, json_body, ref
from orderflow.shared.tenants import TenantRegistry

ORDERS = "/v1/orders/{tenant}"
ORDER = "/v1/orders/{tenant}/{order_id:path}"
WRITE = "orders:write"


class CsvResponse(StreamingResponse):
    media_type = "text/csv"


def _checked(
    request: Request, parse: Callable[[list[tuple[str, str]], list[tuple[str, str]]], Any]
) -> Any:
    errors: list[tuple[str, str]] = []
    parsed = parse(request.query_params.multi_items(), errors)
    if errors:
        raise ApiError(422, errors)
    return parsed


def _csv_answers() -> dict[int | str, dict[str, Any]]:
    """The export's answers: CSV when it succeeds, the edge's JSON errors otherwise."""
    found = answers(None)
    for entry in found.values():
        model = entry.pop("model")
        entry["content"] = {"application/json": {"schema": ref(model)}}
    csv_body = {"text/csv": {"schema": {"type": "string"}}}
    return {200: {"content": csv_body, "description": "RFC 4180, UTF-8, a header row"}, **found}


def _not_found(tenant: str, order_id: str) -> ApiError:
    return error(404, f"no order {order_id!r} of tenant {tenant!r} is known here")


class OrdersApi:
    def __init__(
        self,
        pool: asyncpg.Pool,
        tenants: TenantRegistry,
        committed: Callable[[], None],
        payments: Payments = NO_PAYMENTS,
    ) -> None:
        self._pool, self._committed, self._payments = pool, committed, payments
        self._keys = Keys(tenants)

    def routes(self) -> list[BaseRoute]:
        reads, writes = Depends(self._keys.caller(READ)), Depends(self._keys.caller(WRITE))
        filters, sort, paging = (
            Depends(http_params.filters),
            Depends(http_params.sort),
            Depends(http_params.paging),
        )
        router = APIRouter(tags=["orders"])
        add = router.add_api_route
        add(f"{ORDERS}/export.csv", self.export, methods=["GET"], response_class=CsvResponse,
            dependencies=[reads, Depends(only_query(*FILTERS, "sort", "columns")), filters, sort,
                          Depends(http_params.columns)],
            summary="Every matching order as CSV (scope orders:read; docs/orders.md)",
            responses=_csv_answers())  # fmt: skip
        add(ORDERS, self.list, methods=["GET"],
            dependencies=[reads, Depends(only_query(*FILTERS, "sort", "limit", "cursor")), filters, sort, paging],
            summary="The tenant's orders, newest first, filtered (scope orders:read)",
            responses=answers((200, OrderList)))  # fmt: skip
        add(f"{ORDER}/timeline", self.timeline, methods=["GET"], dependencies=[reads, Depends(only_query())],
            summary="The order's timeline, oldest first (scope orders:read)",
            responses=answers((200, Timeline), 404))  # fmt: skip
        add(f"{ORDER}/notes", self.note, methods=["POST"], status_code=201,
            dependencies=[writes, Depends(only_query())],
            summary="Add a note to the order (scope orders:write)",
            responses=answers((201, Note), 404, description="Stored (committed)"),
            openapi_extra=json_body([NoteBody], ref(NoteBody)))  # fmt: skip
        add(ORDER, self.detail, methods=["GET"], dependencies=[reads, Depends(only_query())],
            summary="The order's detail (scope orders:read)", responses=answers((200, OrderDetail), 404))  # fmt: skip
        add("/v1/members/{tenant}/{member_id}/orders", self.member_orders, methods=["GET"],
            dependencies=[reads, Depends(only_query("limit", "cursor")), paging],
            summary="My orders: the member's credited Has OK orders, newest first (scope orders:read)",
            responses=answers((200, OrderList)))  # fmt: skip
        add("/v1/kpis/{tenant}", self.kpis, methods=["GET"],
            dependencies=[reads, Depends(only_query("from", "to", "interval")), Depends(http_params.kpi_range)],
            summary="Manager KPIs over all orders (scope orders:read)", responses=answers((200, Kpis)))  # fmt: skip
        return router.routes

    async def list(self, request: Request, tenant: str) -> Response:
        filters, page = _checked(request, lambda p, e: (parse_filters(p, e), parse_page(p, e)))
        return await self._page(tenant, filters, page)

    async def member_orders(self, request: Request, tenant: str, member_id: str) -> Response:
        page = _checked(request, lambda p, e: parse_page(p, e, sorts=False))
        return await self._page(
            tenant, Filters(any_of={"member_id": (member_id,), "has_ok": ("true",)}), page
        )

    async def _page(self, tenant: str, filters: Filters, page: Page) -> Response:
        async with self._pool.acquire() as conn:
            rows, cursor = await orders_query.fetch_page(conn, tenant, filters, page)
        return JSONResponse(
            {"orders": [order_read.summary(r) for r in rows], "next_cursor": cursor}
        )

    async def detail(self, tenant: str, order_id: str) -> Response:
        async with self._pool.acquire() as conn:
            found = await order_read.detail(conn, tenant, order_id, self._payments)
        if found is None:
            raise _not_found(tenant, order_id)
        return JSONResponse(found)

    async def timeline(self, tenant: str, order_id: str) -> Response:
        async with self._pool.acquire() as conn:
            found = await order_read.events(conn, tenant, order_id, self._payments)
        if found is None:
            raise _not_found(tenant, order_id)
        return JSONResponse({"events": found})

    async def note(self, request: Request, tenant: str, order_id: str) -> Response:
        try:
            body = NoteBody.model_validate(await read_json(request, storable=True))
        except ValidationError as exc:
            raise ApiError(
                422, [(".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors()]
            ) from None
        async with self._pool.acquire() as conn, conn.transaction():
            note = await notes_store.add_note(
                conn, tenant, order_id, body.text, body.author, utcnow()
            )
        if note is None:
            raise _not_found(tenant, order_id)
        self._committed()
        return JSONResponse(note, status_code=201)

    async def kpis(self, request: Request, tenant: str) -> Response:
        start, end, interval = _checked(request, lambda p, e: parse_kpi_query(p, e, kpis.INTERVALS))
        async with self._pool.acquire() as conn:
            return JSONResponse(await kpis.kpis(conn, tenant, start, end, interval))

    async def export(self, request: Request, tenant: str) -> Response:
        def parse(p: list[tuple[str, str]], e: list[tuple[str, str]]) -> Any:
            columns = csv_export.parse_columns([v for k, v in p if k == "columns"], e)
            return parse_filters(p, e), parse_page(p, e).sort, columns

        filters, sort, columns = _checked(request, parse)
        body = await csv_export.opened(self._pool, tenant, filters, sort, columns)
        disposition = f'attachment; filename="orders-{tenant}.csv"'
        return CsvResponse(body, headers={"Content-Disposition": disposition})
