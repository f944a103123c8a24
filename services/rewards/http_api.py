"""GET a member's balance, ledger and rewards, on the shared edge.

`Authorization: Bearer <tenant api key>` with scope `orders:read` (401 without a valid key,
403 when the key belongs to another tenant or lacks the scope).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from orderflow.services.rewards import queries
from orderflow.shared.http_auth import READ, Caller, Keys
from orderflow.shared.http_body import only_query
from orderflow.shared.http_errors import error
from orderflow.shared.http_openapi import answers
from orderflow.shared.tenants import TenantRegistry

MEMBER = "/v1/members/{tenant}/{member_id}"
_INTEGER_RE = re.compile(r"[-+]?[0-9]{1,19}")
_MAX_SEQ = 2**63 - 1


class Balance(BaseModel):
    currency: str
    accrued: str
    approved: str
    reversed: str
    available: str
    pending: str


class Balances(BaseModel):
    tenant: str
    member_id: str
    balances: list[Balance]


class Entry(BaseModel):
    entry_id: str
    type: str
    order_id: str
    amount: str
    currency: str
    reason: str | None
    occurred_at: str
    recorded_at: str


class Ledger(BaseModel):
    member_id: str
    entries: list[Entry]
    next_after: int | None


class Reward(BaseModel):
    reward_id: str
    order_id: str
    challenge_id: str
    points: int
    badge: str | None
    occurred_at: str


class Rewards(BaseModel):
    member_id: str
    points: int
    rewards: list[Reward]
    next_after: int | None


Paging = tuple[int, int]
Answer = Callable[[asyncpg.Connection, str, str, Paging], Awaitable[dict[str, Any]]]
AFTER = Query(None, description="The `next_after` of the previous page (default 0)")
LIMIT = Query(None, description="Entries per page, 1 to the service's page_max (default 50)")


class RewardsApi:
    def __init__(self, pool: asyncpg.Pool, tenants: TenantRegistry, page_max: int) -> None:
        self._pool, self._page_max = pool, page_max
        self._keys = Keys(tenants)

    def routes(self) -> list[BaseRoute]:
        router = APIRouter(tags=["rewards"])
        for path, answer, model in (
            (f"{MEMBER}/balance", self._balance, Balances),
            (f"{MEMBER}/ledger", self._ledger, Ledger),
            (f"{MEMBER}/rewards", self._rewards, Rewards),
        ):
            router.add_api_route(
                path,
                self._endpoint(answer),
                methods=["GET"],
                dependencies=[Depends(only_query("after", "limit"))],
                summary=f"A member's {path.rsplit('/', 1)[1]} (scope orders:read)",
                responses=answers((200, model), 400),
            )
        return router.routes

    def _endpoint(self, answer: Answer) -> Callable[..., Awaitable[Response]]:
        reads = self._keys.caller(READ)

        async def endpoint(
            tenant: str,
            member_id: str,
            after: str | None = AFTER,
            limit: str | None = LIMIT,
            caller: Caller = Depends(reads),
        ) -> Response:
            paging = self._paging(after, limit)
            async with self._pool.acquire() as conn:
                return JSONResponse(await answer(conn, tenant, member_id, paging))

        return endpoint

    async def _balance(
        self, conn: asyncpg.Connection, tenant: str, member_id: str, _: Paging
    ) -> dict[str, Any]:
        balances = await queries.balances(conn, tenant, member_id)
        return {"tenant": tenant, "member_id": member_id, "balances": balances}

    async def _ledger(
        self, conn: asyncpg.Connection, tenant: str, member_id: str, paging: Paging
    ) -> dict[str, Any]:
        page = await queries.ledger_page(conn, tenant, member_id, *paging)
        return {"member_id": member_id, "entries": page.items, "next_after": page.next_after}

    async def _rewards(
        self, conn: asyncpg.Connection, tenant: str, member_id: str, paging: Paging
    ) -> dict[str, Any]:
        page = await queries.rewards_page(conn, tenant, member_id, *paging)
        points = await queries.total_points(conn, tenant, member_id)
        return {
            "member_id": member_id,
            "points": points,
            "rewards": page.items,
            "next_after": page.next_after,
        }

    def _paging(self, after_text: str | None, limit_text: str | None) -> Paging:
        """`after` (a cursor from the previous page, default 0) and `limit` (1..page_max)."""
        after = _integer("after", after_text, 0)
        limit = _integer("limit", limit_text, min(50, self._page_max))
        if not 0 <= after <= _MAX_SEQ:
            raise error(400, "after must be >= 0")
        if not 1 <= limit <= self._page_max:
            raise error(400, f"limit must be between 1 and {self._page_max}")
        return after, limit


def _integer(name: str, raw: str | None, default: int) -> int:
    if raw is None:
        return default
    if not _INTEGER_RE.fullmatch(raw.strip()):
        raise error(400, f"{name} must be an integer")
    return int(raw)
