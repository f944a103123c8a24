"""The tracking tag's routes (CONTRACTS §13), on the shared HTTP edge.

`GET …/pixel.gif` answers the GIF whatever happens, so a thank-you page never breaks; what
it could not record is counted in `orderflow_tracking_rejected_total{tenant,reason}`.
`POST /v1/track/{tenant}` answers like an API (204, or the reason), with CORS headers for the
tenant's `allowed_origins` only: the origins differ per tenant, so the check is this small
one rather than Starlette's app-wide CORSMiddleware. Both are limited per tenant and per
client address. The publishable key works here only; nothing else accepts it.
"""

from __future__ import annotations

from collections.abc import Callable

import asyncpg
from fastapi import APIRouter, Path, Query
from prometheus_client import Counter
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from orderflow.services.ingest import tracking
from orderflow.services.ingest.handlers import accept_categorised
from orderflow.services.ingest.reports import ReportRejected
from orderflow.services.ingest.settings import IngestSettings
from orderflow.services.ingest.tracking_openapi import BEACON, PIXEL, PREFLIGHT, SCRIPT
from orderflow.services.ingest.tracking_script import GIF, tag_js
from orderflow.shared.envelope import utcnow
from orderflow.shared.http_body import read_json
from orderflow.shared.http_errors import ApiError, error
from orderflow.shared.http_limits import TenantBuckets, connection
from orderflow.shared.logging import get_logger
from orderflow.shared.tenant_tracking import Tracking
from orderflow.shared.tenants import TenantRegistry
from orderflow.shared.vocabulary import TENANT_RE

log = get_logger(__name__)
REJECTED = Counter(
    "orderflow_tracking_rejected_total",
    "Tracking tag requests that recorded nothing, by reason",
    ["tenant", "reason"],
)
CHANNEL = "tag"
_PIXEL_HEADERS = {"Cache-Control": "no-store"}
# Not on the pixel, which answers the GIF to any path.
TENANT = Path(pattern=TENANT_RE.pattern, description="The tenant")
_UNKNOWN = "unknown"  # the label of a tenant that is not configured: names cannot grow


class Refused(Exception):
    def __init__(self, reason: str, problem: ApiError) -> None:
        super().__init__(reason)
        self.reason, self.problem = reason, problem


class TrackingApi:
    def __init__(
        self,
        pool: asyncpg.Pool,
        tenants: TenantRegistry,
        settings: IngestSettings,
        committed: Callable[[], None],
    ) -> None:
        self._pool, self._tenants, self._committed = pool, tenants, committed
        self._retry_after = settings.retry_after_s
        self._per_tenant = TenantBuckets(
            settings.tracking_tenant_per_s, settings.tracking_tenant_burst
        )
        self._per_client = TenantBuckets(
            settings.tracking_client_per_s,
            settings.tracking_client_burst,
            max_keys=settings.tracking_clients_tracked,
        )

    def routes(self) -> list[BaseRoute]:
        router = APIRouter(tags=["tracking"])
        router.add_api_route("/v1/track/{tenant}/pixel.gif", self.pixel, methods=["GET"], **PIXEL)
        router.add_api_route("/v1/track/{tenant}", self.beacon, methods=["POST"], **BEACON)
        router.add_api_route("/v1/track/{tenant}", self.preflight, methods=["OPTIONS"], **PREFLIGHT)
        router.add_api_route("/v1/track/{tenant}/tag.js", self.script, methods=["GET"], **SCRIPT)
        return router.routes

    async def pixel(
        self,
        request: Request,
        tenant: str,
        key: str | None = Query(None, description="The publishable key"),
        order_id: str | None = Query(None, description="The order seen"),
        amount: str | None = Query(None, description="Its amount, decimal"),
        currency: str | None = Query(None, description="ISO 4217"),
        member_id: str | None = Query(None, description="The referring member"),
        click_id: str | None = Query(None, description="The click that referred"),
    ) -> Response:
        query = request.query_params
        fields = {name: query.getlist(name)[-1] for name in query}
        try:
            config = self._tracking(tenant)
            self._limit(tenant, request)
            await self._record(tenant, config, fields)
        except Refused as refused:
            self._count(tenant, refused.reason)
        except (ApiError, asyncpg.PostgresError, OSError) as exc:  # the page must not break
            log.warning("tag_not_recorded", tenant=tenant, error_type=type(exc).__name__)
            self._count(tenant, "unavailable")
        return Response(GIF, media_type="image/gif", headers=_PIXEL_HEADERS)

    async def beacon(self, request: Request, tenant: str = TENANT) -> Response:
        origin = request.headers.get("origin")
        try:
            config = self._tracking(tenant)
            if not config.allows(origin):  # no CORS headers: the browser shows the page nothing
                raise Refused("origin", error(403, f"origin {origin!r} is not allowed", "origin"))
        except Refused as refused:
            raise self._refused(tenant, refused) from None
        cors = _cors(origin)
        try:
            self._limit(tenant, request)
            await self._record(tenant, config, await read_json(request, exact=True))
        except Refused as refused:
            raise self._refused(tenant, refused, cors) from None
        except ApiError as problem:  # not JSON, too large, overloaded
            problem.headers.update(cors)
            raise
        return Response(status_code=204, headers=cors)

    async def preflight(self, request: Request, tenant: str = TENANT) -> Response:
        origin = request.headers.get("origin")
        try:
            config = self._tracking(tenant)
        except Refused as refused:
            raise refused.problem from None
        if not config.allows(origin):
            raise error(403, f"origin {origin!r} is not allowed", "origin")
        headers = _cors(origin) | {
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "600",
        }
        return Response(status_code=204, headers=headers)

    async def script(self, tenant: str = TENANT) -> Response:
        try:
            config = self._tracking(tenant)
        except Refused as refused:
            raise refused.problem from None
        return Response(
            tag_js(config.publishable_key),
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=300"},
        )

    def _tracking(self, tenant: str) -> Tracking:
        if tenant not in self._tenants:
            raise Refused("unknown_tenant", error(404, f"unknown tenant {tenant!r}", "tenant"))
        config = self._tenants.get(tenant).tracking
        if config is None:
            problem = error(404, "this tenant has no tracking tag configured", "tenant")
            raise Refused("not_configured", problem)
        return config

    def _limit(self, tenant: str, request: Request) -> None:
        client = request.client.host if request.client else _UNKNOWN
        for buckets, key in ((self._per_tenant, tenant), (self._per_client, client)):
            if (wait := buckets.wait_s(key)) > 0:
                retry = str(max(1, int(wait) + 1))
                problem = error(429, "too many tag requests, retry later", Retry_After=retry)
                raise Refused("rate_limited", problem)

    async def _record(self, tenant: str, config: Tracking, raw: object) -> None:
        try:
            report = tracking.tag_report(tenant, config, raw, utcnow())
        except tracking.KeyRefused:
            raise Refused("key", error(401, "missing or wrong publishable key", "key")) from None
        except ReportRejected as exc:
            problem = ApiError(422, [(e.path, e.message) for e in exc.errors])
            raise Refused("invalid", problem) from None
        async with connection(self._pool, self._retry_after) as conn, conn.transaction():
            result = await accept_categorised(conn, [(report, tracking.CATEGORY)], CHANNEL)
        self._committed()
        log.info(
            "tag_recorded",
            tenant=tenant,
            order_id=report.order_id,
            report_id=result.ids[0],
            duplicate=result.duplicates > 0,
        )

    def _count(self, tenant: str, reason: str) -> None:
        REJECTED.labels(tenant if tenant in self._tenants else _UNKNOWN, reason).inc()

    def _refused(
        self, tenant: str, refused: Refused, headers: dict[str, str] | None = None
    ) -> ApiError:
        self._count(tenant, refused.reason)
        refused.problem.headers.update(headers or {})
        return refused.problem


def _cors(origin: str | None) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin or "", "Vary": "Origin"}
