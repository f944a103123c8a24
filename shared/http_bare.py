"""A hot route as a bare ASGI app, still declared to FastAPI for its OpenAPI entry.

FastAPI's per-request machinery (the request object, dependency solving, the exit stack,
the response class) costs several times what a small route does itself. A `BareRoute` is
an `APIRoute` — its path, method, summary, body and answers stay in the document and
its matching and `405` stay FastAPI's — but is served by `serve`, which reads the scope
and body itself. The edge's middlewares stay around it (span, metrics, the guard's `503`
and error shape, the in-flight `429`, the body limit's `413`, the URL check); `HotRoutes`,
the innermost, hands it a request it matches (below).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.routing import APIRoute
from starlette.datastructures import QueryParams
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from orderflow.shared.http_errors import ApiError

JSON_HEADERS = [(b"content-type", b"application/json")]


class BareRoute(APIRoute):
    """An `APIRoute` served by the bare ASGI callable `serve` (`endpoint` is never called:
    it declares the path, security and dependencies to the OpenAPI document)."""

    def __init__(
        self, path: str, endpoint: Callable[..., Any], *, serve: ASGIApp, **declared: Any
    ) -> None:
        super().__init__(path, endpoint, **declared)
        self.app = serve


class HotRoutes:
    """The innermost edge middleware: a request a bare route fully matches goes straight to
    it, past Starlette's and FastAPI's inner layers (exception middleware, exit stack, body
    limit of their own, the router's walk over every route). The edge's `Guard`, outside,
    answers its `ApiError` in the same shape and a transient failure with `503`; anything
    else (another method, another path) takes the usual way, so `405` and `404` are as before."""

    def __init__(self, app: ASGIApp, routes: list[BareRoute]) -> None:
        self._app, self._routes = app, routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for route in self._routes:
                match, child = route.matches(scope)
                if match is Match.FULL:
                    scope.update(child)
                    await route.app(scope, receive, send)
                    return
        await self._app(scope, receive, send)


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of a (lower-case) header, as Starlette's `Headers.get` gives it."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def refuse_query(scope: Scope, allowed: frozenset[str] = frozenset()) -> None:
    """`only_query`'s rule for a bare route: an unknown query parameter is `422` naming it."""
    if not scope["query_string"]:
        return
    unknown = sorted(set(QueryParams(scope["query_string"])) - allowed)
    if unknown:
        raise ApiError(422, [(f"query.{name}", "unknown query parameter") for name in unknown])


async def body(receive: Receive) -> bytes | None:
    """The whole request body (the edge's `BodyLimit` stops it past the limit: `413`), or
    None when the client went away before sending it all."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def send_json(send: Send, payload: bytes, status: int = 200) -> None:
    length = (b"content-length", str(len(payload)).encode())
    await send(
        {"type": "http.response.start", "status": status, "headers": [*JSON_HEADERS, length]}
    )
    await send({"type": "http.response.body", "body": payload})
