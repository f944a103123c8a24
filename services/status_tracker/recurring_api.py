"""Recurring orders over HTTP (CONTRACTS §10), on the shared edge.

`POST /v1/recurring-orders/{tenant}/{id}/pause|activate|complete` (scope `recurring:manage`,
optional body `{"by": "…"}`) answers `200` with the new state once it has committed, `409`
for a transition the table refuses, `404` for an order unknown or not started. The reads
(scope `orders:read`) list a tenant's recurring orders, cursor-paged, or show one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import asyncpg
from fastapi import APIRouter, Depends, Query
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from orderflow.services.status_tracker import recurring_queries as queries
from orderflow.services.status_tracker import recurring_requests as wire
from orderflow.services.status_tracker.recurring_handlers import Happened, settle
from orderflow.services.status_tracker.recurring_state import Action, Managed, Policy
from orderflow.shared.envelope import utcnow
from orderflow.shared.http_auth import READ, Caller, Keys
from orderflow.shared.http_body import only_query, read_json
from orderflow.shared.http_errors import error
from orderflow.shared.http_openapi import answers, json_body
from orderflow.shared.tenants import TenantRegistry

MANAGE = "recurring:manage"
BASE = "/v1/recurring-orders/{tenant}"


class RecurringApi:
    def __init__(
        self,
        pool: asyncpg.Pool,
        tenants: TenantRegistry,
        policies: Mapping[str, Policy],
        committed: Callable[[bool], None],
    ) -> None:
        """`committed(released)` after a change commits: wake the relay, and the timers when
        an activate may have released a held charge."""
        self._pool, self._policies, self._committed = pool, policies, committed
        self._keys = Keys(tenants)

    def routes(self) -> list[BaseRoute]:
        router = APIRouter(tags=["recurring orders"])
        view = (200, wire.RecurringOrderView)
        for action in Action:
            router.add_api_route(
                f"{BASE}/{{recurring_order_id:path}}/{action.value}",
                self._manage(action),
                methods=["POST"],
                dependencies=[Depends(only_query())],
                summary=f"{action.value.capitalize()} a recurring order (scope {MANAGE})",
                responses=answers(view, 409, description="The new state (committed)"),
                openapi_extra=json_body([], wire.BY_BODY, required=False),
            )
        router.add_api_route(
            BASE,
            self._list_endpoint(),
            methods=["GET"],
            dependencies=[
                Depends(only_query("status", "customer_id", "offer_id", "limit", "cursor"))
            ],
            summary="A tenant's recurring orders, by id, cursor-paged (scope orders:read)",
            responses=answers((200, wire.RecurringOrderPage)),
        )
        router.add_api_route(
            f"{BASE}/{{recurring_order_id:path}}",
            self._one_endpoint(),
            methods=["GET"],
            dependencies=[Depends(only_query())],
            summary="One recurring order and its orders, the initial first (scope orders:read)",
            responses=answers(view),
        )
        return router.routes

    def _manage(self, action: Action) -> Callable[..., Any]:
        manages = self._keys.caller(MANAGE)

        async def endpoint(
            request: Request,
            tenant: str,
            recurring_order_id: str,
            caller: Caller = Depends(manages),
        ) -> Response:
            raw = await request.body()
            by = wire.by_of(await read_json(request, storable=True) if raw.strip() else None)
            return JSONResponse(await self._apply(tenant, recurring_order_id, action, by))

        return endpoint

    async def _apply(self, tenant: str, rid: str, action: Action, by: str | None) -> dict[str, Any]:
        now = utcnow()
        cause = f"recurring-manage:{tenant}:{rid}:{action.value}"
        happened = Happened((tenant, rid), Managed(action, now, by), cause, now, by)
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                decided = await settle(conn, [happened], self._policies)
                decision = decided[-1][1] if decided else None
                if decision is None or decision.order.status is None:
                    raise wire.unknown(tenant, rid)
                if decision.refused is not None:
                    raise error(409, decision.refused)
            orders = await queries.charges(conn, [(tenant, rid)])
        if decision.changed:
            self._committed(action is Action.ACTIVATE)
        return queries.view(decision.order, orders[(tenant, rid)])

    def _list_endpoint(self) -> Callable[..., Any]:
        reads = self._keys.caller(READ)

        async def endpoint(
            tenant: str,
            status: list[str] = Query(
                [], description="active, processing, paused, completed, failed"
            ),
            customer_id: list[str] = Query([], description="The initial order's customer"),
            offer_id: list[str] = Query([], description="The initial order's offer"),
            limit: str | None = Query(None, description="1 to 200, default 50"),
            cursor: str | None = Query(None, description="The previous page's next_cursor"),
            caller: Caller = Depends(reads),
        ) -> Response:
            filters = queries.Filters(wire.statuses(status), customer_id, offer_id)
            size, after = wire.limit_of(limit), wire.after_of(cursor)
            async with self._pool.acquire() as conn:
                found, more = await queries.page(conn, tenant, filters, after, size)
                orders = await queries.charges(
                    conn, [(o.tenant, o.recurring_order_id) for o in found]
                )
            last = found[-1].recurring_order_id if found and more else None
            return JSONResponse(
                {
                    "recurring_orders": [
                        queries.view(o, orders[(o.tenant, o.recurring_order_id)]) for o in found
                    ],
                    "next_cursor": None if last is None else wire.encode(last),
                }
            )

        return endpoint

    def _one_endpoint(self) -> Callable[..., Any]:
        reads = self._keys.caller(READ)

        async def endpoint(
            tenant: str, recurring_order_id: str, caller: Caller = Depends(reads)
        ) -> Response:
            async with self._pool.acquire() as conn:
                order = await queries.one(conn, tenant, recurring_order_id)
                if order is None:
                    raise wire.unknown(tenant, recurring_order_id)
                orders = await queries.charges(conn, [(tenant, recurring_order_id)])
            return JSONResponse(queries.view(order, orders[(tenant, recurring_order_id)]))

        return endpoint
