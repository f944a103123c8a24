"""Payments over HTTP (CONTRACTS §8), on the shared edge.

- `POST /v1/orders/{tenant}/{order_id}/complete|decline` (scope `orders:manage`, body
  `{"by": "…"}`): records the profile's confirmed (declined) status with source `manager`;
  `200` with the order summary once committed, `409` when the order is not paid in parts,
  is already Has OK or is declined, `404` for an order the tracker does not know.
- `GET /v1/payments/{tenant}` and `…/export.csv` (scope `orders:read`): filters, newest
  first, cursor-paged (payments_query.py); the export streams every matching payment.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import asyncpg
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute

from orderflow.services.status_tracker import order_read, payments_commands, payments_read
from orderflow.services.status_tracker import payments_query as q
from orderflow.services.status_tracker.http_models import OrderSummary
from orderflow.services.status_tracker.orders_query import SUMMARY
from orderflow.services.status_tracker.payments import PaymentStatus
from orderflow.services.status_tracker.payments_handlers import NO_RULES, PaymentRules
from orderflow.services.status_tracker.payments_plan import ManagerCommand, Refused
from orderflow.shared.envelope import utcnow
from orderflow.shared.http_auth import READ, Caller, Keys
from orderflow.shared.http_body import read_json
from orderflow.shared.http_errors import ApiError, error
from orderflow.shared.http_openapi import answers, json_body
from orderflow.shared.tenants import TenantRegistry

MANAGE = "orders:manage"
PAYMENTS = "/v1/payments/{tenant}"
MAX_BY = 128
BY_BODY = {
    "type": "object",
    "properties": {"by": {"type": "string", "minLength": 1, "maxLength": MAX_BY}},
    "required": ["by"],
    "additionalProperties": False,
}
_OR = "; repeat for OR"
_INSTANT = {"format": "date-time"}


class PaymentView(BaseModel):
    payment_id: str
    order_id: str
    status: str
    occurred_at: str
    made_at: str
    succeeded_at: str | None
    amount: str
    currency: str
    fee: str | None
    funds_credited: str | None
    refunded_amount: str
    payment_system: str
    one_click: bool | None
    share_percent: str | None
    error_code: str | None
    comment: str | None
    recurring_order_id: str | None


CSV_ANSWER = {
    "description": "RFC 4180, a header row",
    "content": {"text/csv": {"schema": {"type": "string"}}},
}


class PaymentPage(BaseModel):
    payments: list[PaymentView]
    next_cursor: str | None


def _filters(
    status: list[PaymentStatus] = Query([], description=f"Payment status{_OR}"),
    # Free text: any value is one to look for, so the schema leaves it untyped.
    payment_system: Any = Query(None, description=f"Payment system, exact{_OR}"),
    currency: list[str] = Query([], description=f"ISO 4217 code{_OR}"),
    order_id: Any = Query(None, description=f"Order id, exact{_OR}"),
    recurring_order_id: Any = Query(None, description=f"Recurring order id, exact{_OR}"),
    start: str | None = Query(
        None, alias="from", description="Made at or after (RFC 3339)", json_schema_extra=_INSTANT
    ),
    end: str | None = Query(
        None, alias="to", description="Made at or before (RFC 3339)", json_schema_extra=_INSTANT
    ),
) -> None:
    return None  # declared for the OpenAPI document; payments_query reads the query string


def _paging(
    limit: int | None = Query(None, ge=1, le=200, description="Payments per page (default 50)"),
    cursor: str | None = Query(None, description="The next_cursor of the previous page"),
) -> None:
    return None


def query_of(request: Request) -> q.PaymentsQuery:
    try:
        return q.parse(request.query_params.multi_items())
    except q.QueryRejected as rejected:
        raise ApiError(422, rejected.errors) from None


class PaymentsApi:
    def __init__(
        self,
        pool: asyncpg.Pool,
        tenants: TenantRegistry,
        rules: Mapping[str, PaymentRules],
        committed: Callable[[], None],
    ) -> None:
        """`committed()` after a manager's command commits: wakes the relay."""
        self._pool, self._tenants, self._rules, self._committed = pool, tenants, rules, committed
        self._keys = Keys(tenants)

    def routes(self) -> list[BaseRoute]:
        router = APIRouter(tags=["payments"])
        for command in ManagerCommand:
            router.add_api_route(
                f"/v1/orders/{{tenant}}/{{order_id:path}}/{command.value}",
                self._manage(command),
                methods=["POST"],
                summary=f"{command.value.capitalize()} an order paid in parts (scope {MANAGE})",
                responses=answers((200, OrderSummary), 404, 409, description="Recorded"),
                openapi_extra=json_body([], BY_BODY),
            )
        router.add_api_route(
            PAYMENTS,
            self._list(),
            methods=["GET"],
            dependencies=[Depends(_filters), Depends(_paging)],
            summary="A tenant's payments, newest first, cursor-paged (scope orders:read)",
            responses=answers((200, PaymentPage)),
        )
        router.add_api_route(
            f"{PAYMENTS}/export.csv",
            self._export(),
            methods=["GET"],
            dependencies=[Depends(_filters)],
            summary="Every matching payment as CSV (scope orders:read)",
            responses={**answers(None), 200: CSV_ANSWER},
        )
        return router.routes

    def _manage(self, command: ManagerCommand) -> Callable[..., Any]:
        manages = self._keys.caller(MANAGE)

        async def endpoint(
            request: Request, tenant: str, order_id: str, caller: Caller = Depends(manages)
        ) -> Response:
            for name in request.query_params:
                raise ApiError(422, [(f"query.{name}", "unknown query parameter")])
            by = _by(await read_json(request, storable=True))
            return JSONResponse(await self._close(tenant, order_id, command, by))

        return endpoint

    async def _close(
        self, tenant: str, order_id: str, command: ManagerCommand, by: str
    ) -> dict[str, Any]:
        rule = self._rules.get(tenant, NO_RULES)
        profile = self._tenants.get(tenant).status_profile
        async with self._pool.acquire() as conn:
            async with conn.transaction():
                outcome = await payments_commands.close(
                    conn, (tenant, order_id), command, by, utcnow(), profile, rule.expiry
                )
            if isinstance(outcome, payments_commands.Unknown):
                raise error(404, f"no order {order_id!r} of tenant {tenant!r}")
            if isinstance(outcome, Refused):
                raise error(409, outcome.reason)
            self._committed()
            return await _summary(conn, tenant, order_id)

    def _list(self) -> Callable[..., Any]:
        reads = self._keys.caller(READ)

        async def endpoint(
            request: Request, tenant: str, caller: Caller = Depends(reads)
        ) -> Response:
            query = query_of(request)
            async with self._pool.acquire() as conn:
                return JSONResponse(await payments_read.page(conn, tenant, query))

        return endpoint

    def _export(self) -> Callable[..., Any]:
        reads = self._keys.caller(READ)

        async def endpoint(
            request: Request, tenant: str, caller: Caller = Depends(reads)
        ) -> Response:
            query = query_of(request)
            if query.after is not None or "limit" in request.query_params:
                raise ApiError(422, [("query.limit", "the export takes no paging")])
            return StreamingResponse(
                self._rows(tenant, query), media_type="text/csv; charset=utf-8"
            )

        return endpoint

    async def _rows(self, tenant: str, query: q.PaymentsQuery) -> AsyncIterator[bytes]:
        async with self._pool.acquire() as conn, conn.transaction():
            async for chunk in payments_read.stream_csv(conn, tenant, query):
                yield chunk


async def _summary(conn: asyncpg.Connection, tenant: str, order_id: str) -> dict[str, Any]:
    row = await conn.fetchrow(
        f"SELECT {SUMMARY} FROM order_views v WHERE v.tenant = $1 AND v.order_id = $2",
        tenant,
        order_id,
    )
    return order_read.summary(row)


def _by(body: object) -> str:
    if not isinstance(body, dict) or set(body) - {"by"}:
        raise error(422, "must be an object {by}", "body")
    by = body.get("by")
    if not isinstance(by, str) or not 1 <= len(by) <= MAX_BY:
        raise error(422, f"must be a string of 1 to {MAX_BY} characters", "body.by")
    return by
