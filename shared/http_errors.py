"""The one error shape of every HTTP answer, and what turns failures into it.

`{"errors": [{"path": …, "message": …}]}` (CONTRACTS §4). Infrastructure that may come back
(database or broker down, a pool timeout) answers `503` with `Retry-After`: nothing was
committed, so the caller sends the same request again. Anything else unexpected answers a
bare `500` in the same shape, logged by its type only (a message could hold personal data).
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderflow.shared.errors import is_transient
from orderflow.shared.logging import get_logger

log = get_logger(__name__)


class ErrorItem(BaseModel):
    path: str = Field(description="The field at fault (`items[2].quantity`), empty for the whole")
    message: str


class Errors(BaseModel):
    errors: list[ErrorItem] = Field(min_length=1)


class ApiError(Exception):
    """Raised anywhere under a route: answered as `status` with these errors."""

    def __init__(
        self,
        status: int,
        errors: Sequence[tuple[str, str]],
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status)
        self.status, self.errors, self.headers = status, list(errors), headers or {}

    def response(self) -> JSONResponse:
        return error_response(self.status, self.errors, self.headers)


def error(status: int, message: str, path: str = "", **headers: str) -> ApiError:
    return ApiError(status, [(path, message)], {k.replace("_", "-"): v for k, v in headers.items()})


def error_response(
    status: int, errors: Sequence[tuple[str, str]], headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"errors": [{"path": path, "message": message} for path, message in errors]}
    return JSONResponse(body, status_code=status, headers=headers)


def _location(loc: Sequence[int | str]) -> str:
    text = ""
    for step in loc:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


def install(app: FastAPI) -> None:
    async def api_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return exc.response()

    async def invalid(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        found = [(_location(e["loc"]), str(e["msg"])) for e in exc.errors()]
        return error_response(422, found or [("", "invalid request")])

    async def http_error(_: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return error_response(exc.status_code, [("", str(exc.detail))], dict(exc.headers or {}))

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(HTTPException, http_error)


class Guard:
    """The outermost catch: nothing escapes as a traceback page or a dropped connection."""

    def __init__(self, app: ASGIApp, service: str, retry_after_s: int) -> None:
        self._app, self._service, self._retry_after = app, service, str(retry_after_s)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._app(scope, receive, sending)
        except Exception as exc:
            if started:
                raise
            if isinstance(exc, ApiError):
                response: Response = exc.response()
            elif is_transient(exc):
                log.warning("http_unavailable", error_type=type(exc).__name__)
                message = "storage or broker unavailable, retry later"
                response = error_response(503, [("", message)], {"Retry-After": self._retry_after})
            else:
                route = getattr(scope.get("route"), "path_format", None)  # never the raw path
                log.error("http_unexpected", error_type=type(exc).__name__, route=route)
                response = error_response(500, [("", "internal error")])
            await response(scope, receive, send)
