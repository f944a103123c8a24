"""The in-app inbox: `GET /v1/inbox/{tenant}/{role}/{id}` and `POST …/read`, on the shared edge.

A bearer API key of the tenant in the path with scope `orders:read` reads the inbox and
marks it read. Newest first (the event's time, then delivery), `limit` per page (default
20, at most 100); `next` is the opaque `before` of the next page, null on the last.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from orderflow.services.notifier import inbox_store
from orderflow.services.notifier.domain import ROLES
from orderflow.services.notifier.inbox_store import Cursor, Message, Owner
from orderflow.shared.http_auth import READ, Caller, Keys
from orderflow.shared.http_body import only_query, read_json
from orderflow.shared.http_errors import error
from orderflow.shared.http_openapi import answers, json_body
from orderflow.shared.tenants import TenantRegistry

DEFAULT_LIMIT, MAX_LIMIT = 20, 100
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PATH = "/v1/inbox/{tenant}/{role}/{recipient_id}"
_LIMIT_RE = re.compile(r"[0-9]{1,3}")
_CURSOR_RE = re.compile(r"(-?[0-9]{1,18})\.([0-9]{1,18})")
# Documented as the set it is; still answered 404 (not 422) for any other role, as before.
ROLE = Path(json_schema_extra={"enum": list(ROLES)}, description="Whose inbox")
IDS_BODY = {
    "type": "object",
    "properties": {"ids": {"type": "array", "items": {"type": "string"}}},
    "required": ["ids"],
}


class Item(BaseModel):
    id: str
    type: str
    order_id: str | None
    occurred_at: str
    template: str
    subject: str
    body: str
    created_at: str
    read: bool
    read_at: str | None


class Page(BaseModel):
    items: list[Item]
    unread: int
    next: str | None


class Marked(BaseModel):
    marked: int
    unread: int


class InboxApi:
    def __init__(self, pool: asyncpg.Pool, tenants: TenantRegistry) -> None:
        self._pool = pool
        self._keys = Keys(tenants)

    def routes(self) -> list[BaseRoute]:
        reads = self._keys.caller(READ)

        async def listing(
            tenant: str,
            recipient_id: str,
            role: str = ROLE,
            limit: str | None = Query(
                None, description=f"1 to {MAX_LIMIT}, default {DEFAULT_LIMIT}"
            ),
            before: str | None = Query(None, description="The `next` of the previous page"),
            caller: Caller = Depends(reads),
        ) -> Response:
            owner = _owner(tenant, role, recipient_id)
            return await self._list(owner, _limit(limit), _cursor(before))

        async def mark_read(
            request: Request,
            tenant: str,
            recipient_id: str,
            role: str = ROLE,
            caller: Caller = Depends(reads),
        ) -> Response:
            owner = _owner(tenant, role, recipient_id)
            return await self._read(owner, await _ids(request))

        router = APIRouter(tags=["inbox"])
        router.add_api_route(
            PATH,
            listing,
            methods=["GET"],
            dependencies=[Depends(only_query("limit", "before"))],
            summary="A recipient's in-app messages, newest first (scope orders:read)",
            responses=answers((200, Page), 404),
        )
        router.add_api_route(
            PATH + "/read",
            mark_read,
            methods=["POST"],
            dependencies=[Depends(only_query())],
            summary='Mark messages read: {"ids": [...]}, or all with an empty body',
            responses=answers((200, Marked), 400, 404),
            openapi_extra=json_body([], IDS_BODY, required=False),
        )
        return router.routes

    async def _list(self, owner: Owner, limit: int, cursor: Cursor | None) -> Response:
        async with self._pool.acquire() as conn:
            items = await inbox_store.page(conn, owner, limit + 1, cursor)
            unread = await inbox_store.unread(conn, owner)
        more = len(items) > limit
        items = items[:limit]
        next_page = _encode(items[-1]) if more and items else None
        return JSONResponse(
            {"items": [_item(m) for m in items], "unread": unread, "next": next_page}
        )

    async def _read(self, owner: Owner, ids: list[str] | None) -> Response:
        async with self._pool.acquire() as conn, conn.transaction():
            marked = await inbox_store.mark_read(conn, owner, ids)
            unread = await inbox_store.unread(conn, owner)
        return JSONResponse({"marked": marked, "unread": unread})


def _owner(tenant: str, role: str, recipient_id: str) -> Owner:
    if role not in ROLES:
        raise error(404, f"role must be one of {', '.join(ROLES)}")
    return Owner(tenant, role, recipient_id)


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    if not _LIMIT_RE.fullmatch(raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise error(422, f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(raw)


def _encode(last: Message) -> str:
    micros = (last.occurred_at - EPOCH) // timedelta(microseconds=1)
    return f"{micros}.{last.seq}"


def _cursor(raw: str | None) -> Cursor | None:
    if raw is None:
        return None
    match = _CURSOR_RE.fullmatch(raw)
    try:
        if match is None:
            raise ValueError(raw)
        return Cursor(EPOCH + timedelta(microseconds=int(match[1])), int(match[2]))
    except (ValueError, OverflowError):  # not ours, or past the years a datetime holds
        raise error(422, "before must be the `next` of a previous page") from None


async def _ids(request: Request) -> list[str] | None:
    """`{"ids": [...]}` marks those; an empty body marks everything."""
    raw = await request.body()
    if not raw.strip():
        return None
    body = await read_json(request, storable=True)
    ids = body.get("ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise error(422, 'body must be {"ids": ["<notification id>", ...]}')
    return ids


def _item(message: Message) -> dict[str, Any]:
    return {
        "id": message.notification_id,
        "type": message.event_type,
        "order_id": message.order_id,
        "occurred_at": message.occurred_at.isoformat(),
        "template": message.template,
        "subject": message.subject,
        "body": message.body,
        "created_at": message.created_at.isoformat(),
        "read": message.read_at is not None,
        "read_at": message.read_at.isoformat() if message.read_at else None,
    }
