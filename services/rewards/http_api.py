"""GET a member's balance, ledger and rewards, for the API key's own tenant only.

Authentication as on ingest: `Authorization: Bearer <tenant api key>`; any key of the tenant
may read (401 without a valid key, 403 when the key belongs to another tenant).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from orderflow.services.rewards import queries
from orderflow.shared import metrics
from orderflow.shared.tenants import TenantRegistry

SERVICE = "rewards"
MEMBER = "/v1/members/{tenant}/{member_id}"


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


Answer = Callable[[asyncpg.Connection, str, str, Request], Awaitable[dict[str, Any]]]


class RewardsApi:
    def __init__(self, pool: asyncpg.Pool, tenants: TenantRegistry, page_max: int) -> None:
        self._pool, self._tenants, self._page_max = pool, tenants, page_max

    def routes(self) -> list[Route]:
        return [
            self._route(f"{MEMBER}/balance", self._balance),
            self._route(f"{MEMBER}/ledger", self._ledger),
            self._route(f"{MEMBER}/rewards", self._rewards),
        ]

    def _route(self, path: str, answer: Answer) -> Route:
        async def endpoint(request: Request) -> Response:
            try:
                tenant, member_id = self._authorise(request)
                async with self._pool.acquire() as conn:
                    body = await answer(conn, tenant, member_id, request)
                response = JSONResponse(body)
            except HttpError as exc:
                response = JSONResponse(
                    {"errors": [{"path": "", "message": exc.message}]}, status_code=exc.status
                )
            metrics.HTTP_REQUESTS.labels(SERVICE, path, str(response.status_code)).inc()
            return response

        return Route(path, endpoint, methods=["GET"])

    def _authorise(self, request: Request) -> tuple[str, str]:
        kind, _, token = request.headers.get("authorization", "").partition(" ")
        found = self._tenants.authenticate(token.strip()) if kind.lower() == "bearer" else None
        if found is None:
            raise HttpError(401, "missing or invalid API key (Authorization: Bearer <key>)")
        tenant = request.path_params["tenant"]
        if found[0].tenant != tenant:
            raise HttpError(403, f"this API key does not belong to tenant '{tenant}'")
        return tenant, request.path_params["member_id"]

    async def _balance(
        self, conn: asyncpg.Connection, tenant: str, member_id: str, _: Request
    ) -> dict[str, Any]:
        balances = await queries.balances(conn, tenant, member_id)
        return {"tenant": tenant, "member_id": member_id, "balances": balances}

    async def _ledger(
        self, conn: asyncpg.Connection, tenant: str, member_id: str, request: Request
    ) -> dict[str, Any]:
        after, limit = self._paging(request)
        page = await queries.ledger_page(conn, tenant, member_id, after, limit)
        return {"member_id": member_id, "entries": page.items, "next_after": page.next_after}

    async def _rewards(
        self, conn: asyncpg.Connection, tenant: str, member_id: str, request: Request
    ) -> dict[str, Any]:
        after, limit = self._paging(request)
        page = await queries.rewards_page(conn, tenant, member_id, after, limit)
        points = await queries.total_points(conn, tenant, member_id)
        return {
            "member_id": member_id,
            "points": points,
            "rewards": page.items,
            "next_after": page.next_after,
        }

    def _paging(self, request: Request) -> tuple[int, int]:
        """`after` (a cursor from the previous page, default 0) and `limit` (1..page_max)."""
        after = _int_param(request, "after", 0)
        limit = _int_param(request, "limit", min(50, self._page_max))
        if after < 0:
            raise HttpError(400, "after must be >= 0")
        if not 1 <= limit <= self._page_max:
            raise HttpError(400, f"limit must be between 1 and {self._page_max}")
        return after, limit


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise HttpError(400, f"{name} must be an integer") from None
