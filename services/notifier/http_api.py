"""The in-app inbox: `GET /v1/inbox/{tenant}/{role}/{id}` and `POST …/read`.

Authenticated with a bearer API key of the tenant in the path (any of its keys). Newest
first (the event's time, then delivery), `limit` per page (default 20, at most 100); `next`
is the opaque `before` of the next page, null on the last.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from orderflow.services.notifier import inbox_store
from orderflow.services.notifier.domain import ROLES
from orderflow.services.notifier.inbox_store import Cursor, Message, Owner
from orderflow.shared import metrics
from orderflow.shared.tenants import TenantRegistry

DEFAULT_LIMIT, MAX_LIMIT = 20, 100
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR_RE = re.compile(r"(-?[0-9]+)\.([0-9]+)")


class HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class InboxApi:
    def __init__(self, pool: asyncpg.Pool, tenants: TenantRegistry) -> None:
        self._pool, self._tenants = pool, tenants

    def routes(self) -> list[Route]:
        path = "/v1/inbox/{tenant}/{role}/{recipient_id}"
        return [
            Route(path, self._guarded(self._list), methods=["GET"]),
            Route(path + "/read", self._guarded(self._read), methods=["POST"]),
        ]

    def _guarded(
        self, handler: Callable[[Request, Owner], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            try:
                response = await handler(request, self._owner(request))
            except HttpError as exc:
                body = {"errors": [{"path": "", "message": exc.message}]}
                response = JSONResponse(body, status_code=exc.status)
            route = "/v1/inbox" + ("/read" if request.method == "POST" else "")
            metrics.HTTP_REQUESTS.labels("notifier", route, str(response.status_code)).inc()
            return response

        return endpoint

    async def _list(self, request: Request, owner: Owner) -> Response:
        limit = _limit(request)
        async with self._pool.acquire() as conn:
            items = await inbox_store.page(conn, owner, limit + 1, _cursor(request))
            unread = await inbox_store.unread(conn, owner)
        more = len(items) > limit
        items = items[:limit]
        next_page = _encode(items[-1]) if more and items else None
        return JSONResponse(
            {"items": [_item(m) for m in items], "unread": unread, "next": next_page}
        )

    async def _read(self, request: Request, owner: Owner) -> Response:
        ids = _ids(await request.body())
        async with self._pool.acquire() as conn, conn.transaction():
            marked = await inbox_store.mark_read(conn, owner, ids)
            unread = await inbox_store.unread(conn, owner)
        return JSONResponse({"marked": marked, "unread": unread})

    def _owner(self, request: Request) -> Owner:
        tenant = request.path_params["tenant"]
        kind, _, token = request.headers.get("authorization", "").partition(" ")
        found = self._tenants.authenticate(token.strip()) if kind.lower() == "bearer" else None
        if found is None:
            raise HttpError(401, "missing or invalid API key (Authorization: Bearer <key>)")
        if found[0].tenant != tenant:
            raise HttpError(403, f"this API key does not belong to tenant '{tenant}'")
        role = request.path_params["role"]
        if role not in ROLES:
            raise HttpError(404, f"role must be one of {', '.join(ROLES)}")
        return Owner(tenant, role, request.path_params["recipient_id"])


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit", str(DEFAULT_LIMIT))
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise HttpError(422, f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(raw)


def _encode(last: Message) -> str:
    micros = (last.occurred_at - EPOCH) // timedelta(microseconds=1)
    return f"{micros}.{last.seq}"


def _cursor(request: Request) -> Cursor | None:
    raw = request.query_params.get("before")
    if raw is None:
        return None
    match = _CURSOR_RE.fullmatch(raw)
    if match is None:
        raise HttpError(422, "before must be the `next` of a previous page")
    return Cursor(EPOCH + timedelta(microseconds=int(match[1])), int(match[2]))


def _ids(raw: bytes) -> list[str] | None:
    """`{"ids": [...]}` marks those; an empty body marks everything."""
    if not raw.strip():
        return None
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HttpError(400, "body is not JSON") from exc
    ids = body.get("ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise HttpError(422, 'body must be {"ids": ["<notification id>", ...]}')
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
