"""A hot route as a bare ASGI app, still declared to FastAPI for its OpenAPI entry.

FastAPI's per-request machinery (the request object, dependency solving, the exit stack,
the response class) costs several times what a small route does itself. `bare(route, app)`
keeps the `APIRoute` — its path, method, summary, body and answers stay in the document and
its matching and `405` stay FastAPI's — but serves it with `app`, which reads the scope and
body itself. Everything outside the route is unchanged: the edge's middlewares (span,
metrics, the guard's `503`, the in-flight `429`, the body limit's `413`, the URL check) and
the exception handlers, so an `ApiError` raised in `app` answers in the one error shape.
"""

from __future__ import annotations

from fastapi.routing import APIRoute
from starlette.datastructures import QueryParams
from starlette.types import ASGIApp, Receive, Scope, Send

from orderflow.shared.http_errors import ApiError

JSON_HEADERS = [(b"content-type", b"application/json")]


def bare(route: APIRoute, app: ASGIApp) -> APIRoute:
    """`route`, served by `app` (its declared endpoint is never called)."""
    route.app = app
    return route


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
