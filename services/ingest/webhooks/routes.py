"""POST /v1/webhooks/{shopify,stripe,woocommerce}/{tenant} (CONTRACTS §4).

The signature is checked over the raw bytes before anything parses them. `202` is
answered only after the report is committed, and a retried delivery answers `202` again
as a duplicate, so a platform that retries until it sees `2xx` loses nothing.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from decimal import Decimal

import asyncpg
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from orderflow.services.ingest.handlers import Accepted, accept_categorised
from orderflow.services.ingest.http_api import HttpError, read_body
from orderflow.services.ingest.reports import ReportRejected
from orderflow.services.ingest.settings import IngestSettings
from orderflow.services.ingest.webhooks.common import Ignored, Mapped, Outcome
from orderflow.services.ingest.webhooks.platforms import PLATFORMS, Headers, Platform, is_woo_ping
from orderflow.services.ingest.webhooks.signatures import BadSignature
from orderflow.shared import metrics
from orderflow.shared.logging import get_logger
from orderflow.shared.tenants import TenantConfig, TenantRegistry

log = get_logger(__name__)

CHANNEL = "webhook"


def _error(status: int, message: str, path: str = "") -> HttpError:
    return HttpError(status, {"errors": [{"path": path, "message": message}]})


class WebhookApi:
    def __init__(
        self,
        pool: asyncpg.Pool,
        tenants: TenantRegistry,
        settings: IngestSettings,
        committed: Callable[[], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._pool, self._tenants, self._settings = pool, tenants, settings
        self._committed, self._clock = committed, clock
        self._slots = asyncio.Semaphore(settings.max_inflight_requests)

    def routes(self) -> list[Route]:
        return [self._route(platform) for platform in PLATFORMS]

    def _route(self, platform: Platform) -> Route:
        path = f"/v1/webhooks/{platform.name}/{{tenant}}"

        async def endpoint(request: Request) -> Response:
            try:
                response = await self._admit(request, platform)
            except HttpError as exc:
                response = JSONResponse(exc.body, status_code=exc.status, headers=exc.headers)
            metrics.HTTP_REQUESTS.labels("ingest", path, str(response.status_code)).inc()
            return response

        return Route(path, endpoint, methods=["POST"])

    async def _admit(self, request: Request, platform: Platform) -> Response:
        config = self._tenant(request.path_params["tenant"])
        body = await self._read_body(request)
        headers = request.headers
        if platform.name == "woocommerce" and is_woo_ping(body, headers):
            return JSONResponse({"ping": "ok"})
        self._verify(platform, config, body, headers)
        outcome = _adapt(platform, config.tenant, _decode(body), headers)
        if isinstance(outcome, Ignored):
            log.info("webhook_ignored", tenant=config.tenant, platform=platform.name)
            body_out = {"accepted": [], "duplicates": 0, "ignored": outcome.reason}
            return JSONResponse(body_out, status_code=202)
        result = await self._store(outcome)
        self._committed()
        log.info(
            "webhook_accepted",
            tenant=config.tenant,
            platform=platform.name,
            order_id=outcome.report.order_id,
            report_id=result.ids[0],
            duplicate=result.duplicates > 0,
        )
        return JSONResponse({"accepted": result.ids, "duplicates": result.duplicates}, 202)

    def _tenant(self, tenant: str) -> TenantConfig:
        if tenant not in self._tenants:
            raise _error(404, f"unknown tenant {tenant!r}", "tenant")
        return self._tenants.get(tenant)

    def _verify(
        self, platform: Platform, config: TenantConfig, body: bytes, headers: Headers
    ) -> None:
        secret = getattr(config.webhook_secrets, platform.name)
        if secret is None:
            # Nothing can prove the sender: the same answer as a wrong signature, not a 500.
            raise _error(401, f"no {platform.name} webhook secret is configured for this tenant")
        try:
            platform.verify(body, headers, secret.get_secret_value(), self._clock())
        except BadSignature as exc:
            log.warning("webhook_bad_signature", tenant=config.tenant, platform=platform.name)
            raise _error(401, str(exc)) from None

    async def _read_body(self, request: Request) -> bytes:
        return await read_body(request, self._settings.max_body_bytes)

    async def _store(self, mapped: Mapped) -> Accepted:
        if self._slots.locked():
            raise self._overloaded("overloaded, retry later")
        async with self._slots:
            try:
                async with self._pool.acquire(timeout=5.0) as conn, conn.transaction():
                    return await accept_categorised(
                        conn, [(mapped.report, mapped.category)], CHANNEL
                    )
            except (TimeoutError, asyncpg.PostgresConnectionError, OSError) as exc:
                raise self._overloaded("storage unavailable, retry later") from exc

    def _overloaded(self, message: str) -> HttpError:
        retry_after = {"Retry-After": str(self._settings.retry_after_s)}
        return HttpError(429, {"errors": [{"path": "", "message": message}]}, retry_after)


def _decode(body: bytes) -> object:
    try:
        # Decimal, never float: amounts and prices must stay exact.
        return json.loads(body, parse_float=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _error(400, f"body is not JSON: {exc}") from None
    except RecursionError:
        raise _error(400, "body is nested too deeply to parse") from None


def _adapt(platform: Platform, tenant: str, payload: object, headers: Headers) -> Outcome:
    try:
        return platform.adapt(tenant, payload, headers)
    except ReportRejected as exc:
        log.warning(
            "webhook_unmappable",
            tenant=tenant,
            platform=platform.name,
            paths=[e.path for e in exc.errors],
        )
        raise HttpError(422, exc.to_body()) from None
