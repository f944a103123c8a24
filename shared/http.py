"""The one HTTP edge every service has (FastAPI): /healthz, /readyz, /metrics, /openapi.json,
/docs, plus the service's own routes.

From the outside in: a server span per request, request metrics (route template, status,
latency), the guard (transient infrastructure -> `503` with `Retry-After`, nothing escapes
as a 500 traceback), the in-flight bound (`429`), the body limit (`413`), no NUL in the URL
(`400`), a bare route's shortcut (shared/http_bare.py); then FastAPI, whose
exception handlers give every refusal the one error shape (`shared/http_errors.py`).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from fastapi import FastAPI
from opentelemetry import propagate, trace
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from orderflow.shared import http_errors, metrics
from orderflow.shared.http_bare import BareRoute, HotRoutes
from orderflow.shared.http_body import BodyLimit, UrlText
from orderflow.shared.http_limits import InFlight
from orderflow.shared.http_openapi import merge_components
from orderflow.shared.http_settings import HttpSettings

ReadinessCheck = Callable[[], Awaitable[dict[str, bool]]]
_tracer = trace.get_tracer("orderflow.http")


def build_app(
    service: str, readiness: ReadinessCheck, routes: Sequence[BaseRoute], settings: HttpSettings
) -> FastAPI:
    app = FastAPI(
        title=f"orderflow {service}",
        version="1",
        description=f"The HTTP API of orderflow's {service} service (docs/CONTRACTS.md).",
        # Ours, not FastAPI's: one server span per request (TraceRequests), Prometheus metrics
        # (RequestMetrics), and no log of exception messages (they may hold personal data).
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
        middleware=[
            Middleware(TraceRequests),
            Middleware(RequestMetrics, service=service),
            Middleware(http_errors.Guard, service=service, retry_after_s=settings.retry_after_s),
            Middleware(
                InFlight, limit=settings.max_inflight_requests, retry_after_s=settings.retry_after_s
            ),
            Middleware(BodyLimit, limit=settings.max_body_bytes),
            Middleware(UrlText),
            Middleware(HotRoutes, routes=[r for r in routes if isinstance(r, BareRoute)]),
        ],
    )
    app.state.max_json_depth = settings.max_json_depth
    http_errors.install(app)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> Response:
        return JSONResponse({"status": "alive"})

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        checks = await readiness()
        ready = all(checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus(_: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    app.router.routes.extend(routes)
    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = merge_components(default_openapi())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


class RequestMetrics:
    """`orderflow_http_requests_total` and `orderflow_http_request_seconds` by route template."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self._app, self._service = app, service
        # The two series of each (route template, status): `labels()` looks them up under a
        # lock on every call; the templates and statuses are few.
        self._series: dict[tuple[str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started, status = time.perf_counter(), 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, sending)
        finally:
            route = getattr(scope.get("route"), "path_format", None) or "unmatched"
            series = self._series.get((route, status))
            if series is None:
                labels = (self._service, route, str(status))
                series = metrics.HTTP_REQUESTS.labels(*labels), metrics.HTTP_SECONDS.labels(*labels)
                self._series[route, status] = series
            series[0].inc()
            series[1].observe(time.perf_counter() - started)


class TraceRequests:
    """A server span per request, child of an incoming `traceparent`: the trace's first hop.

    Without the SDK (shared/tracing.py `configure`) and without trace headers, the span
    would be the invalid one in an empty context, which nothing can tell from none: then
    the request goes on without it (a tenth of a small route's cost)."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app
        self._fields = frozenset(f.encode("latin-1") for f in propagate.get_global_textmap().fields)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (
            isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
            and not any(name in self._fields for name, _ in scope["headers"])
        ):
            await self._app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        with _tracer.start_as_current_span(
            f"{scope['method']} {scope['path']}",
            context=propagate.extract(headers),
            kind=trace.SpanKind.SERVER,
        ):
            await self._app(scope, receive, send)
