"""`GET /v1/reports/{tenant}/sales` (CONTRACTS §9, scope `orders:read`), on the shared edge:
`by`, `from`, `to`, `sort`, `format=json|csv` and `columns=`; docs/reports.md."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from orderflow.services.status_tracker import sales_report as report
from orderflow.services.status_tracker import sales_report_store as sql
from orderflow.services.status_tracker.payments_query import QueryRejected
from orderflow.services.status_tracker.payments_read import cell
from orderflow.shared.http_auth import READ, Caller, Keys
from orderflow.shared.http_errors import ApiError
from orderflow.shared.http_openapi import answers
from orderflow.shared.tenants import TenantRegistry

_INSTANT = {"format": "date-time"}
ByName = Literal["payment_system", "offer", "offer_category", "sales_manager"]


class Total(BaseModel):
    completed: int
    net: str


class SalesReport(BaseModel):
    rows: list[dict[str, Any]]
    totals: dict[str, Total]


def _params(
    by: ByName = Query(description="What one row is per (with its currency)"),
    start: str | None = Query(
        None, alias="from", description="Created (paid) at or after", json_schema_extra=_INSTANT
    ),
    end: str | None = Query(
        None, alias="to", description="Created (paid) at or before", json_schema_extra=_INSTANT
    ),
    sort: str | None = Query(None, description="A column of the report; `-` first: descending"),
    format: Literal["json", "csv"] | None = Query(None, description="Default json"),
    columns: str | None = Query(None, description="Comma-separated columns (default all)"),
) -> None:
    return None  # declared for the OpenAPI document; sales_report.parse reads the query


def _answers() -> dict[int | str, dict[str, Any]]:
    found = answers((200, SalesReport), description="JSON, or text/csv with format=csv")
    found[200]["content"] = {"text/csv": {"schema": {"type": "string"}}}
    return found


class SalesReportApi:
    def __init__(self, pool: asyncpg.Pool, tenants: TenantRegistry) -> None:
        self._pool = pool
        self._keys = Keys(tenants)

    def routes(self) -> list[Any]:
        router = APIRouter(tags=["reports"])
        router.add_api_route(
            "/v1/reports/{tenant}/sales",
            self._endpoint(),
            methods=["GET"],
            dependencies=[Depends(_params)],
            summary="Sales per payment system, offer, offer category or sales manager (orders:read)",
            responses=_answers(),
        )
        return list(router.routes)

    def _endpoint(self) -> Callable[..., Any]:
        reads = self._keys.caller(READ)

        async def endpoint(
            request: Request, tenant: str, caller: Caller = Depends(reads)
        ) -> Response:
            try:
                query = report.parse(request.query_params.multi_items())
            except QueryRejected as rejected:
                raise ApiError(422, rejected.errors) from None
            async with self._pool.acquire() as conn:
                rows = await sql.rows(conn, tenant, query.by, query.start, query.end)
                completed = await sql.completed(conn, tenant, query.start, query.end)
            shaped = report.shaped(rows, query)
            if query.format == "csv":
                return Response(_csv(shaped, query.columns), media_type="text/csv; charset=utf-8")
            return JSONResponse({"rows": shaped, "totals": report.totals(completed)})

        return endpoint


def _csv(rows: list[report.Row], columns: tuple[str, ...]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # RFC 4180
    writer.writerow(columns)
    writer.writerows([cell(row[c]) for c in columns] for row in rows)
    return buffer.getvalue().encode()
