"""Sale confirmation and the sales manager (POST), the order's attribution (GET), on the edge.

`POST /v1/orders/{tenant}/{order_id}/sale-confirmation` and `…/sales-manager` (CONTRACTS
§14) answer only after the transaction that recorded the decision and its events has
committed. The read needs `orders:read`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal

import asyncpg
from fastapi import APIRouter, Depends
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from orderflow.services.attribution import handlers, store
from orderflow.services.attribution.domain import Command, Refused, SaleConfirmed, SellerChosen
from orderflow.services.attribution.requests import MAX_ID, HttpError, confirmation_of, order_view
from orderflow.services.attribution.settings import AttributionSettings
from orderflow.shared.envelope import stable_id, utcnow
from orderflow.shared.http_auth import READ, Caller, Keys
from orderflow.shared.http_body import only_query, read_json
from orderflow.shared.http_errors import ApiError, error
from orderflow.shared.http_openapi import answers, json_body
from orderflow.shared.tenants import TenantRegistry

CONFIRM_SCOPE = "sales:confirm"
CONFIRM_PATH = "/v1/orders/{tenant}/{order_id:path}/sale-confirmation"
SELLER_PATH = "/v1/orders/{tenant}/{order_id:path}/sales-manager"
READ_PATH = "/v1/orders/{tenant}/{order_id:path}/attribution"


class Credit(BaseModel):
    member_id: str
    via: str
    model: str
    touchpoint_id: str | None
    confirmed: bool


class Confirmation(BaseModel):
    confirmed_by: str
    manager_id: str | None
    system: bool
    confirmed_at: str


class SalesManager(BaseModel):
    member_id: str
    confirmed: bool


class AttributionView(BaseModel):
    tenant: str
    order_id: str
    customer_id: str | None
    ordered_at: str | None
    has_ok: bool
    duplicate: bool
    sale: Literal["manager", "system"]
    sales_manager: SalesManager | None
    credits: list[Credit]
    confirmation: Confirmation | None


CONFIRMATION_BODY = {
    "oneOf": [
        {
            "type": "object",
            "properties": {"manager_id": {"type": "string", "minLength": 1, "maxLength": MAX_ID}},
            "required": ["manager_id"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {"system": {"const": True}},
            "required": ["system"],
            "additionalProperties": False,
        },
    ]
}


def _api_error(exc: HttpError) -> ApiError:
    return ApiError(exc.status, [(e["path"], e["message"]) for e in exc.body["errors"]])


class AttributionApi:
    def __init__(
        self,
        pool: asyncpg.Pool,
        tenants: TenantRegistry,
        settings: AttributionSettings,
        committed: Callable[[], None],
    ) -> None:
        self._pool, self._tenants, self._settings = pool, tenants, settings
        self._committed = committed
        self._keys = Keys(tenants)

    def routes(self) -> list[BaseRoute]:
        confirms, reads = self._keys.caller(CONFIRM_SCOPE), self._keys.caller(READ)

        async def confirm(
            request: Request, tenant: str, order_id: str, caller: Caller = Depends(confirms)
        ) -> Response:
            return JSONResponse(await self._command(request, tenant, order_id, SaleConfirmed))

        async def choose(
            request: Request, tenant: str, order_id: str, caller: Caller = Depends(confirms)
        ) -> Response:
            return JSONResponse(await self._command(request, tenant, order_id, SellerChosen))

        async def read(tenant: str, order_id: str, caller: Caller = Depends(reads)) -> Response:
            return JSONResponse(await self._read(tenant, order_id))

        router = APIRouter(tags=["attribution"])
        view = (200, AttributionView)
        router.add_api_route(
            CONFIRM_PATH,
            confirm,
            methods=["POST"],
            dependencies=[Depends(only_query())],
            summary="Confirm a sale (scope sales:confirm; docs/attribution.md)",
            responses=answers(view, 400, 404, 409, description="Confirmed (committed)"),
            openapi_extra=json_body([], CONFIRMATION_BODY),
        )
        router.add_api_route(
            SELLER_PATH,
            choose,
            methods=["POST"],
            dependencies=[Depends(only_query())],
            summary="Set who made the sale, without confirming it (scope sales:confirm; §14)",
            responses=answers(view, 400, 404, 409, description="Set (committed)"),
            openapi_extra=json_body([], CONFIRMATION_BODY),
        )
        router.add_api_route(
            READ_PATH,
            read,
            methods=["GET"],
            dependencies=[Depends(only_query())],
            summary="An order's credits and confirmation (scope orders:read)",
            responses=answers(view, 404, description="The order's attribution"),
        )
        return router.routes

    async def _read(self, tenant: str, order_id: str) -> dict[str, Any]:
        async with self._pool.acquire() as conn:
            state = await store.load(conn, tenant, order_id)
        if state is None or not state.reported:
            raise error(404, f"no order {order_id!r} of tenant {tenant!r} is known here")
        return order_view(tenant, state)

    async def _command(
        self,
        request: Request,
        tenant: str,
        order_id: str,
        make: Callable[[str | None, datetime], Command],
    ) -> dict[str, Any]:
        try:
            body = confirmation_of(await read_json(request, storable=True))
        except HttpError as exc:
            raise _api_error(exc) from None
        fact = make(body, utcnow())
        lookback = handlers.lookback_of(self._tenants, tenant)
        kind = "sale-confirmation" if isinstance(fact, SaleConfirmed) else "sales-manager"
        causation = stable_id(kind, tenant, order_id, fact.path, str(fact.manager_id))
        async with self._pool.acquire() as conn, conn.transaction():
            found = await store.lock_existing(conn, tenant, order_id)
            if found is None or not found[0].reported:
                raise error(404, f"no order {order_id!r} of tenant {tenant!r} is known here")
            state, correlation = found
            try:
                decision = await handlers.settle(
                    conn, tenant, state, fact, lookback, causation, correlation or causation
                )
            except Refused as exc:
                raise error(409, exc.message, exc.path) from exc
        self._committed()
        return order_view(tenant, decision.state)
