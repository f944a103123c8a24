"""POST /v1/orders and POST /v1/touchpoints (CONTRACTS §4).

`202` is answered only after the transaction holding every report of the request has
committed, so a crash after `202` loses nothing. A batch is all or nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import asyncpg
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from orderflow.services.ingest.handlers import Accepted, accept_reports, accept_touchpoints
from orderflow.services.ingest.reports import (
    ReportRejected,
    parse_report_batch,
    parse_touchpoint_batch,
)
from orderflow.services.ingest.settings import IngestSettings
from orderflow.shared import metrics
from orderflow.shared.tenants import TenantRegistry


class HttpError(Exception):
    def __init__(
        self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def _error(status: int, message: str) -> HttpError:
    return HttpError(status, {"errors": [{"path": "", "message": message}]})


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused with 413 past `limit` whether or not Content-Length is sent."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _error(413, f"body over {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _error(413, f"body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


Accept = Callable[[asyncpg.Connection, Sequence[Any]], Awaitable[Accepted]]


class IngestApi:
    def __init__(
        self,
        pool: asyncpg.Pool,
        tenants: TenantRegistry,
        settings: IngestSettings,
        committed: Callable[[], None],
    ) -> None:
        self._pool, self._tenants, self._settings, self._committed = (
            pool,
            tenants,
            settings,
            committed,
        )
        self._slots = asyncio.Semaphore(settings.max_inflight_requests)

    def routes(self) -> list[Route]:
        async def orders(request: Request) -> Response:
            return await self._handle(
                request,
                "orders:write",
                parse_report_batch,
                lambda c, rs: accept_reports(c, self._tenants, rs, "http"),
            )

        async def touchpoints(request: Request) -> Response:
            return await self._handle(
                request,
                "touchpoints:write",
                parse_touchpoint_batch,
                lambda c, ts: accept_touchpoints(c, ts, "http"),
            )

        return [
            Route("/v1/orders", orders, methods=["POST"]),
            Route("/v1/touchpoints", touchpoints, methods=["POST"]),
        ]

    async def _handle(
        self, request: Request, scope: str, parse: Callable[[object], Sequence[Any]], accept: Accept
    ) -> Response:
        try:
            response = await self._admit(request, scope, parse, accept)
        except HttpError as exc:
            response = JSONResponse(exc.body, status_code=exc.status, headers=exc.headers)
        metrics.HTTP_REQUESTS.labels("ingest", request.url.path, str(response.status_code)).inc()
        return response

    async def _admit(
        self, request: Request, scope: str, parse: Callable[[object], Sequence[Any]], accept: Accept
    ) -> Response:
        tenant = self._authenticate(request, scope)
        body = await self._read_body(request)
        try:
            items = parse(body)
        except ReportRejected as exc:
            raise HttpError(
                422, {"errors": [{"path": e.path, "message": e.message} for e in exc.errors]}
            ) from exc
        foreign = sorted({i.tenant for i in items} - {tenant})
        if foreign:
            raise _error(403, f"this API key belongs to tenant '{tenant}', not {foreign}")
        if self._slots.locked():
            raise HttpError(
                429,
                {"errors": [{"path": "", "message": "overloaded, retry later"}]},
                {"Retry-After": str(self._settings.retry_after_s)},
            )
        async with self._slots:
            result = await self._store(items, accept)
        self._committed()
        return JSONResponse(
            {"accepted": result.ids, "duplicates": result.duplicates}, status_code=202
        )

    async def _store(self, items: Sequence[Any], accept: Accept) -> Accepted:
        try:
            async with self._pool.acquire(timeout=5.0) as conn, conn.transaction():
                return await accept(conn, items)
        except (TimeoutError, asyncpg.PostgresConnectionError, OSError) as exc:
            raise HttpError(
                429,
                {"errors": [{"path": "", "message": "storage unavailable, retry later"}]},
                {"Retry-After": str(self._settings.retry_after_s)},
            ) from exc

    def _authenticate(self, request: Request, scope: str) -> str:
        header = request.headers.get("authorization", "")
        kind, _, token = header.partition(" ")
        found = (
            self._tenants.authenticate(token.strip())
            if kind.lower() == "bearer" and token
            else None
        )
        if found is None:
            raise _error(401, "missing or invalid API key (Authorization: Bearer <key>)")
        config, scopes = found
        if scope not in scopes:
            raise _error(403, f"this API key lacks the scope '{scope}'")
        return config.tenant

    async def _read_body(self, request: Request) -> object:
        body = await read_body(request, self._settings.max_body_bytes)
        try:
            return json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise _error(400, f"body is not JSON: {exc}") from exc
        except RecursionError as exc:
            raise _error(400, "body is nested too deeply to parse") from exc
