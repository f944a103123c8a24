"""Request bodies: a size limit on every route, and JSON that never crashes the parser.

A body that is not JSON is `400`, whatever the reason: bad UTF-8, a syntax error, `NaN`
or `Infinity` (not JSON), an integer literal over Python's 4,300-digit conversion limit,
or nesting deeper than `max_json_depth`. Past `max_body_bytes` the answer is `413`, whether
or not `Content-Length` was sent: the edge counts what it reads and stops there.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderflow.shared.http_errors import ApiError, error, error_response


def too_large(limit: int) -> ApiError:
    return error(413, f"body over {limit} bytes")


class BodyLimit:
    def __init__(self, app: ASGIApp, limit: int) -> None:
        self._app, self._limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and len(declared) < 20 and int(declared) > self._limit:
            response = error_response(413, [("", f"body over {self._limit} bytes")])
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self._limit:
                    raise too_large(self._limit)
            return message

        await self._app(scope, counted, send)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _depth(value: object) -> int:
    """How deeply arrays and objects nest, without recursing (a deep value cannot crash it)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, level)
            children = node.values() if isinstance(node, dict) else node
            stack.extend((child, level + 1) for child in children if isinstance(child, dict | list))
    return deepest


def parse_json(raw: bytes, max_depth: int, parse_float: Callable[[str], Any] = float) -> object:
    """The decoded body, or `ApiError(400)` naming why it is not JSON this service can take."""
    try:
        value = json.loads(
            raw.decode("utf-8"), parse_float=parse_float, parse_constant=_no_constant
        )
    except UnicodeDecodeError as exc:
        raise error(400, f"body is not UTF-8: {exc.reason} at byte {exc.start}") from None
    except json.JSONDecodeError as exc:
        raise error(400, f"body is not JSON: {exc}") from None
    except RecursionError:
        raise error(400, f"body is nested deeper than {max_depth} levels") from None
    except ValueError as exc:  # an integer over the digit limit, NaN, Infinity
        raise error(400, f"body is not JSON this service accepts: {exc}") from None
    # Nesting needs an opening bracket a level: a body with fewer cannot be too deep (a
    # bracket inside a string only over-counts), and the count is cheaper than the walk.
    if raw.count(b"[") + raw.count(b"{") > max_depth and _depth(value) > max_depth:
        raise error(400, f"body is nested deeper than {max_depth} levels")
    return value


def _unstorable(text: str) -> bool:
    """Postgres cannot store a NUL character, nor a lone surrogate (not UTF-8)."""
    return "\x00" in text or any("\ud800" <= c <= "\udfff" for c in text)


def unstorable_path(value: object) -> str | None:
    """The path of the first string (or key) Postgres cannot store, or None."""
    stack: list[tuple[object, str]] = [(value, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str) and _unstorable(node):
            return path
        if isinstance(node, dict):
            for key, child in node.items():
                if _unstorable(key):
                    return path
                stack.append((child, f"{path}.{key}" if path else key))
        elif isinstance(node, list):
            stack.extend((child, f"{path}[{i}]") for i, child in enumerate(node))
    return None


async def read_json(request: Request, *, exact: bool = False, storable: bool = False) -> object:
    """The request's JSON; `exact` decodes decimals as `Decimal` (money, never float);
    `storable` refuses (`422`) text Postgres could not store, naming where it is."""
    raw = await request.body()
    depth: int = request.app.state.max_json_depth
    value = parse_json(raw, depth, Decimal if exact else float)
    if storable and (path := unstorable_path(value)) is not None:
        raise error(422, "must not hold a NUL character or an unpaired surrogate", path)
    return value


class UrlText:
    """A path or query holding a NUL character can name nothing stored: `400`, before any
    route could hand it to Postgres (which cannot store it and would fail the request)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = scope.get("query_string", b"").lower()
        if scope["type"] == "http" and ("\x00" in scope["path"] or b"%00" in query):
            response = error_response(400, [("", "the URL must not hold a NUL character")])
            await response(scope, receive, send)
            return
        await self._app(scope, receive, send)


def only_query(*names: str) -> Callable[[Request], Awaitable[None]]:
    """A route dependency: a query parameter the route does not take is `422` naming it
    (CONTRACTS Part 2's preamble), so a misspelt `limt=5` is not silently ignored. Async, so
    FastAPI calls it on the loop instead of handing it to a worker thread per request."""
    allowed = frozenset(names)

    async def check(request: Request) -> None:
        unknown = sorted(set(request.query_params) - allowed)
        if unknown:
            raise ApiError(422, [(f"query.{name}", "unknown query parameter") for name in unknown])

    return check
