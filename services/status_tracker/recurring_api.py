"""Recurring orders over HTTP (CONTRACTS §10), on the shared edge.

`POST /v1/recurring-orders/{tenant}/{id}/pause|activate|complete` (scope `recurring:manage`,
optional body `{"by": "…"}`) answers `200` with the new state once it has committed, `409`
for a transition the table refuses, `404` for an order unknown or not started. The reads
(scope `orders:read`) list a tenant's recurring orders, cursor-paged, or show one.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any

import asyncpg
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from orderflow.services.status_tracker import recurring_queries as queries
from orderflow.services.status_tracker.recurring_handlers import Happened, settle
from orderflow.services.status_tracker.recurring_state import Action, Managed, Policy
from orderflow.services.status_tracker.recurring_table import Status
from orderflow.shared.envelope import utcnow
from orderflow.shared.http_auth import READ, Caller, Keys
from orderflow.shared.http_body import only_query, read_json
from orderflow.shared.http_errors import ApiError, error
from orderflow.shared.http_openapi import answers, json_body
from orderflow.shared.tenants import TenantRegistry

MANAGE = "recurring:manage"
BASE = "/v1/recurring-orders/{tenant}"
MAX_BY = 128
BY_BODY = {
    "type": "object",
    "properties": {"by": {"type": "string", "minLength": 1, "maxLength": MAX_BY}},
    "additionalProperties": False,
}


class OrderOfPlan(BaseModel):
    order_id: str
    sequence: int
    created_at: str
    status: str
    attempts: int
    amount: str | None
    currency: str | None
    payment_system: str | None


class RecurringOrderView(BaseModel):
    recurring_order_id: str
    status: str
    customer_id: str | None
    offer_id: str | None
    amount: str | None
    currency: str | None
    interval: str
    payments_total: int | None
    payments_made: int
    payments_remaining: int | None
    next_payment_at: str | None
    orders: list[OrderOfPlan]


class RecurringOrderPage(BaseModel):
    recurring_orders: list[RecurringOrderView]
    next_cursor: str | None


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
        view = (200, RecurringOrderView)
        for action in Action:
            router.add_api_route(
                f"{BASE}/{{recurring_order_id:path}}/{action.value}",
                self._manage(action),
                methods=["POST"],
                dependencies=[Depends(only_query())],
                summary=f"{action.value.capitalize()} a recurring order (scope {MANAGE})",
                responses=answers(view, 409, description="The new state (committed)"),
                openapi_extra=json_body([], BY_BODY, required=False),
            )
        router.add_api_route(
            BASE,
            self._list_endpoint(),
            methods=["GET"],
            dependencies=[
                Depends(only_query("status", "customer_id", "offer_id", "limit", "cursor"))
            ],
            summary="A tenant's recurring orders, by id, cursor-paged (scope orders:read)",
            responses=answers((200, RecurringOrderPage)),
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
            by = _by(await read_json(request, storable=True) if raw.strip() else None)
            return JSONResponse(await self._apply(tenant, recurring_order_id, action, by))

        return endpoint

    async def _apply(self, tenant: str, rid: str, action: Action, by: str | None) -> dict[str, Any]:
        now = utcnow()
        cause = f"recurring-manage:{tenant}:{rid}:{action.value}"
        happened = Happened((tenant, rid), Managed(action, now, by), cause, now, by)
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                decision = (await settle(conn, [happened], self._policies)).get((tenant, rid))
                if decision is None or decision.order.status is None:
                    raise _unknown(tenant, rid)
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
            filters = queries.Filters(_statuses(status), customer_id, offer_id)
            size, after = _limit(limit), _after(cursor)
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
                    "next_cursor": None if last is None else _encode(last),
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
                    raise _unknown(tenant, recurring_order_id)
                orders = await queries.charges(conn, [(tenant, recurring_order_id)])
            return JSONResponse(queries.view(order, orders[(tenant, recurring_order_id)]))

        return endpoint


def _unknown(tenant: str, rid: str) -> ApiError:
    return error(404, f"no recurring order {rid!r} of tenant {tenant!r} is known here")


def _by(body: object) -> str | None:
    """The optional `{"by": "…"}`; no body is no `by`."""
    if body is None:
        return None
    if not isinstance(body, dict):
        raise error(422, 'must be a JSON object, e.g. {"by": "manager-7"}')
    problems = [(key, "unknown field") for key in body if key != "by"]
    by = body.get("by")
    if by is not None and (not isinstance(by, str) or not 1 <= len(by) <= MAX_BY):
        problems.append(("by", f"must be a string of 1 to {MAX_BY} characters"))
    if problems:
        raise ApiError(422, problems)
    return by


def _statuses(values: list[str]) -> list[str]:
    known = {s.value for s in Status}
    if bad := [v for v in values if v not in known]:
        raise error(422, f"{bad[0]!r} is not one of {sorted(known)}", "query.status")
    return values


def _limit(text: str | None) -> int:
    if text is None:
        return 50
    if not text.isdigit() or not 1 <= int(text) <= 200:
        raise error(422, "must be an integer from 1 to 200", "query.limit")
    return int(text)


def _encode(recurring_order_id: str) -> str:
    return base64.urlsafe_b64encode(recurring_order_id.encode()).decode().rstrip("=")


def _after(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    try:
        after = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        after = "\x00"
    if "\x00" in after:
        raise error(422, "not a cursor this list gave", "query.cursor")
    return after
