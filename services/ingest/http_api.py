"""POST /v1/orders, /v1/touchpoints and /v1/payments (CONTRACTS §4, §8), on the shared HTTP edge.

`202` is answered only after the transaction holding every report of the request has
committed, so a crash after `202` loses nothing. A batch is all or nothing. Each tenant's
reports are charged to its own token bucket, so one tenant cannot starve the others.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any

import asyncpg
from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from orderflow.services.ingest.domain import check_refunds
from orderflow.services.ingest.handlers import Accepted, accept_reports, accept_touchpoints
from orderflow.services.ingest.payment_handlers import accept_payments
from orderflow.services.ingest.payments import PaymentReport, PaymentSource, parse_payment_batch
from orderflow.services.ingest.reports import (
    MAX_BATCH,
    OrderReport,
    ReportRejected,
    Touchpoint,
    parse_report_batch,
    parse_touchpoint_batch,
)
from orderflow.services.ingest.settings import IngestSettings
from orderflow.shared.http_auth import Caller, Keys
from orderflow.shared.http_body import read_json
from orderflow.shared.http_errors import ApiError, error
from orderflow.shared.http_limits import TenantBuckets, connection
from orderflow.shared.http_openapi import answers, json_body, ref
from orderflow.shared.tenants import TenantRegistry

Accept = Callable[[asyncpg.Connection, Sequence[Any]], Awaitable[Accepted]]


class AcceptedAnswer(BaseModel):
    accepted: list[str] = Field(description="The stable id of every item, in request order")
    duplicates: int = Field(ge=0, description="How many of them were already stored")


def one_or_many(model: type[BaseModel]) -> dict[str, Any]:
    return json_body(
        [model],
        {
            "oneOf": [
                ref(model),
                {"type": "array", "items": ref(model), "minItems": 1, "maxItems": MAX_BATCH},
            ]
        },
    )


def rejected(exc: ReportRejected) -> ApiError:
    return ApiError(422, [(e.path, e.message) for e in exc.errors])


class IngestApi:
    def __init__(
        self,
        pool: asyncpg.Pool,
        tenants: TenantRegistry,
        settings: IngestSettings,
        committed: Callable[[], None],
        buckets: TenantBuckets | None = None,
    ) -> None:
        self._pool, self._tenants, self._committed = pool, tenants, committed
        self._keys, self._retry_after = Keys(tenants), settings.retry_after_s
        self.buckets = buckets or TenantBuckets(
            settings.tenant_reports_per_s, settings.tenant_burst_reports
        )

    def routes(self) -> list[BaseRoute]:
        writes_orders = self._keys.caller("orders:write", tenant_in_path=False)
        writes_touchpoints = self._keys.caller("touchpoints:write", tenant_in_path=False)
        writes_payments = self._keys.caller("payments:write", tenant_in_path=False)

        async def orders(request: Request, caller: Caller = Depends(writes_orders)) -> Response:
            return await self._admit(request, caller, self._parse_reports, self._accept_reports)

        async def touchpoints(
            request: Request, caller: Caller = Depends(writes_touchpoints)
        ) -> Response:
            accept = partial(accept_touchpoints, channel="http")
            return await self._admit(request, caller, parse_touchpoint_batch, accept)

        async def payments(request: Request, caller: Caller = Depends(writes_payments)) -> Response:
            accept = partial(accept_payments, source=PaymentSource.API, channel="http")
            return await self._admit(request, caller, parse_payment_batch, accept)

        router = APIRouter(tags=["ingest"])
        done = (202, AcceptedAnswer)
        router.add_api_route(
            "/v1/orders",
            orders,
            methods=["POST"],
            summary="Report order statuses (CONTRACTS §3.1, §4; scope orders:write)",
            responses=answers(done, 400, description="Stored (committed)"),
            openapi_extra=one_or_many(OrderReport),
        )
        router.add_api_route(
            "/v1/touchpoints",
            touchpoints,
            methods=["POST"],
            summary="Report touchpoints (CONTRACTS §3.2, §4; scope touchpoints:write)",
            responses=answers(done, 400, description="Stored (committed)"),
            openapi_extra=one_or_many(Touchpoint),
        )
        router.add_api_route(
            "/v1/payments",
            payments,
            methods=["POST"],
            summary="Report payments and invoices (CONTRACTS §8, §4; scope payments:write)",
            responses=answers(done, 400, description="Stored (committed)"),
            openapi_extra=one_or_many(PaymentReport),
        )
        return router.routes

    async def _accept_reports(
        self, conn: asyncpg.Connection, reports: Sequence[OrderReport]
    ) -> Accepted:
        return await accept_reports(conn, self._tenants, reports, "http")

    def _parse_reports(self, body: object) -> list[OrderReport]:
        reports = parse_report_batch(body)
        check_refunds(self._tenants, reports, indexed=isinstance(body, list))
        return reports

    async def _admit(
        self,
        request: Request,
        caller: Caller,
        parse: Callable[[object], Sequence[Any]],
        accept: Accept,
    ) -> Response:
        body = await read_json(request)
        try:
            items = parse(body)
        except ReportRejected as exc:
            raise rejected(exc) from exc
        foreign = sorted({i.tenant for i in items} - {caller.tenant})
        if foreign:
            raise error(403, f"this API key belongs to tenant '{caller.tenant}', not {foreign}")
        self.buckets.charge(caller.tenant, len(items))
        async with connection(self._pool, self._retry_after) as conn, conn.transaction():
            result = await accept(conn, items)
        self._committed()
        return JSONResponse(
            {"accepted": result.ids, "duplicates": result.duplicates}, status_code=202
        )
