"""POST /v1/webhooks/{shopify,stripe,woocommerce}/{tenant} (CONTRACTS §4), on the shared edge.

The signature is checked over the raw bytes before anything parses them. `202` is
answered only after the report and the payments it carries are committed, and a retried delivery answers `202` again
as a duplicate, so a platform that retries until it sees `2xx` loses nothing. Only a
verified delivery is charged to the tenant's rate limit: a stranger cannot spend it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from decimal import Decimal

import asyncpg
from fastapi import APIRouter
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from orderflow.services.ingest.handlers import accept_categorised
from orderflow.services.ingest.http_api import AcceptedAnswer, rejected
from orderflow.services.ingest.payment_handlers import accept_payments
from orderflow.services.ingest.payments import PaymentSource
from orderflow.services.ingest.reports import ReportRejected
from orderflow.services.ingest.settings import IngestSettings
from orderflow.services.ingest.webhooks.common import Ignored, Mapped, Outcome
from orderflow.services.ingest.webhooks.platforms import PLATFORMS, Headers, Platform, is_woo_ping
from orderflow.services.ingest.webhooks.signatures import BadSignature
from orderflow.shared.http_body import parse_json
from orderflow.shared.http_errors import error
from orderflow.shared.http_limits import TenantBuckets, connection
from orderflow.shared.http_openapi import answers, json_body
from orderflow.shared.logging import get_logger
from orderflow.shared.tenants import TenantConfig, TenantRegistry

log = get_logger(__name__)

CHANNEL = "webhook"


class WebhookAnswer(AcceptedAnswer):
    ignored: str | None = Field(None, description="Why a delivery changed no order status")


class Ping(BaseModel):
    ping: str = Field(description="WooCommerce's activation ping was received")


class WebhookApi:
    def __init__(
        self,
        pool: asyncpg.Pool,
        tenants: TenantRegistry,
        settings: IngestSettings,
        committed: Callable[[], None],
        clock: Callable[[], float] = time.time,
        buckets: TenantBuckets | None = None,
    ) -> None:
        self._pool, self._tenants = pool, tenants
        self._committed, self._clock = committed, clock
        self._retry_after = settings.retry_after_s
        self._buckets = buckets or TenantBuckets(
            settings.tenant_reports_per_s, settings.tenant_burst_reports
        )

    def routes(self) -> list[BaseRoute]:
        router = APIRouter(tags=["webhooks"])
        for platform in PLATFORMS:
            statuses = answers((202, WebhookAnswer), 400, 404, description="Stored (committed)")
            if platform.name == "woocommerce":
                statuses[200] = {"model": Ping, "description": "Activation ping"}
            router.add_api_route(
                f"/v1/webhooks/{platform.name}/{{tenant}}",
                self._endpoint(platform),
                methods=["POST"],
                summary=f"A signed {platform.name} webhook delivery (docs/webhooks.md)",
                responses=statuses,
                openapi_extra=json_body([], {"type": "object"}),
            )
        return router.routes

    def _endpoint(self, platform: Platform) -> Callable[[Request, str], Awaitable[Response]]:
        async def endpoint(request: Request, tenant: str) -> Response:
            return await self._admit(request, platform, tenant)

        return endpoint

    async def _admit(self, request: Request, platform: Platform, tenant: str) -> Response:
        config = self._tenant(tenant)
        body = await request.body()
        headers = request.headers
        if platform.name == "woocommerce" and is_woo_ping(body, headers):
            return JSONResponse({"ping": "ok"})
        self._verify(platform, config, body, headers)
        # Decimal, never float: amounts and prices must stay exact.
        payload = parse_json(body, request.app.state.max_json_depth, Decimal)
        outcome = _adapt(platform, config.tenant, payload, headers)
        if isinstance(outcome, Ignored):
            log.info("webhook_ignored", tenant=config.tenant, platform=platform.name)
            body_out = {"accepted": [], "duplicates": 0, "ignored": outcome.reason}
            return JSONResponse(body_out, status_code=202)
        reports = [(outcome.report, outcome.category)] if isinstance(outcome, Mapped) else []
        payments = outcome.payments
        self._buckets.charge(config.tenant, len(reports) + len(payments))
        async with connection(self._pool, self._retry_after) as conn, conn.transaction():
            result = await accept_categorised(conn, reports, CHANNEL)
            paid = await accept_payments(conn, payments, PaymentSource(platform.name), CHANNEL)
        self._committed()
        log.info(
            "webhook_accepted",
            tenant=config.tenant,
            platform=platform.name,
            order_id=(reports[0][0] if reports else payments[0]).order_id,
            report_ids=result.ids + paid.ids,
            duplicates=result.duplicates + paid.duplicates,
        )
        answer = {
            "accepted": result.ids + paid.ids,
            "duplicates": result.duplicates + paid.duplicates,
        }
        return JSONResponse(answer, 202)

    def _tenant(self, tenant: str) -> TenantConfig:
        if tenant not in self._tenants:
            raise error(404, f"unknown tenant {tenant!r}", "tenant")
        return self._tenants.get(tenant)

    def _verify(
        self, platform: Platform, config: TenantConfig, body: bytes, headers: Headers
    ) -> None:
        secret = getattr(config.webhook_secrets, platform.name)
        if secret is None:
            # Nothing can prove the sender: the same answer as a wrong signature, not a 500.
            raise error(401, f"no {platform.name} webhook secret is configured for this tenant")
        try:
            platform.verify(body, headers, secret.get_secret_value(), self._clock())
        except BadSignature as exc:
            log.warning("webhook_bad_signature", tenant=config.tenant, platform=platform.name)
            raise error(401, str(exc)) from None


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
        raise rejected(exc) from None
