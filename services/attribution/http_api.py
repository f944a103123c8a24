"""Sale confirmation (POST) and the order's current attribution (GET).

`POST /v1/orders/{tenant}/{order_id}/sale-confirmation` answers only after the transaction
that recorded the confirmation and its events has committed.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from orderflow.services.attribution import handlers, store
from orderflow.services.attribution.domain import Refused, SaleConfirmed
from orderflow.services.attribution.requests import (
    HttpError,
    confirmation_of,
    error,
    order_view,
)
from orderflow.services.attribution.settings import AttributionSettings
from orderflow.shared import metrics
from orderflow.shared.envelope import stable_id, utcnow
from orderflow.shared.errors import is_transient
from orderflow.shared.tenants import TenantRegistry

CONFIRM_SCOPE = "sales:confirm"
CONFIRM_PATH = "/v1/orders/{tenant}/{order_id:path}/sale-confirmation"
READ_PATH = "/v1/orders/{tenant}/{order_id:path}/attribution"


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

    def routes(self) -> list[Route]:
        return [
            Route(CONFIRM_PATH, self._answer(CONFIRM_PATH, self._confirm), methods=["POST"]),
            Route(READ_PATH, self._answer(READ_PATH, self._read), methods=["GET"]),
        ]

    def _answer(
        self, route: str, handle: Callable[[Request], Awaitable[dict[str, Any]]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                response = JSONResponse(await handle(request))
            except HttpError as exc:
                response = JSONResponse(exc.body, status_code=exc.status)
            except Exception as exc:
                if not is_transient(exc):
                    raise
                # Nothing was committed: the caller may simply send the same request again.
                body = error(503, "", "storage unavailable, retry later").body
                response = JSONResponse(body, status_code=503, headers={"Retry-After": "1"})
            metrics.HTTP_REQUESTS.labels("attribution", route, str(response.status_code)).inc()
            return response

        return endpoint

    async def _read(self, request: Request) -> dict[str, Any]:
        tenant, order_id = self._authorise(request, None)
        async with self._pool.acquire() as conn:
            state = await store.load(conn, tenant, order_id)
        if state is None or not state.reported:
            raise error(404, "", f"no order {order_id!r} of tenant {tenant!r} is known here")
        return order_view(tenant, state)

    async def _confirm(self, request: Request) -> dict[str, Any]:
        tenant, order_id = self._authorise(request, CONFIRM_SCOPE)
        fact = SaleConfirmed(confirmation_of(await self._body(request)), utcnow())
        lookback = handlers.lookback_of(self._tenants, tenant)
        causation = stable_id(
            "sale-confirmation", tenant, order_id, fact.path, str(fact.manager_id)
        )
        async with self._pool.acquire() as conn, conn.transaction():
            found = await store.lock_existing(conn, tenant, order_id)
            if found is None or not found[0].reported:
                raise error(404, "", f"no order {order_id!r} of tenant {tenant!r} is known here")
            state, correlation = found
            try:
                decision = await handlers.settle(
                    conn, tenant, state, fact, lookback, causation, correlation or causation
                )
            except Refused as exc:
                raise error(409, exc.path, exc.message) from exc
        self._committed()
        return order_view(tenant, decision.state)

    def _authorise(self, request: Request, scope: str | None) -> tuple[str, str]:
        header = request.headers.get("authorization", "")
        kind, _, token = header.partition(" ")
        found = None
        if kind.lower() == "bearer" and token.strip():
            found = self._tenants.authenticate(token.strip())
        if found is None:
            raise error(401, "", "missing or invalid API key (Authorization: Bearer <key>)")
        config, scopes = found
        tenant = request.path_params["tenant"]
        if config.tenant != tenant:
            raise error(
                403, "", f"this API key belongs to tenant '{config.tenant}', not '{tenant}'"
            )
        if scope is not None and scope not in scopes:
            raise error(403, "", f"this API key lacks the scope '{scope}'")
        return tenant, request.path_params["order_id"]

    async def _body(self, request: Request) -> object:
        limit = self._settings.max_body_bytes
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > limit:
                raise error(413, "", f"body over {limit} bytes")
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise error(400, "", f"body is not JSON: {exc}") from exc
