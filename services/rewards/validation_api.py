"""`POST /v1/validations/{tenant}` (CONTRACTS §11, scope orders:read): the hot route.

Declared to FastAPI like every route (its OpenAPI entry: body, answers, security), served
as a bare ASGI app (`shared/http_bare.py`): the same checks in the same order as FastAPI's
dependencies made them (unknown query parameter `422`, key `401`/`403`, body `400`/`422`),
without FastAPI's per-request machinery, which cost several times the validation itself.
The customer is read only when a chosen rule has `customer` conditions, through a
`Coalescer` (`shared/coalesce.py`): concurrent requests' customers in one statement.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import asyncpg
from fastapi import Depends
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from orderflow.services.rewards import customer_queries, validation
from orderflow.services.rewards import validation_request as body
from orderflow.services.rewards.validation import Shopper
from orderflow.shared import http_bare
from orderflow.shared.coalesce import Coalescer
from orderflow.shared.http_auth import READ, Caller, Keys, bearer_key
from orderflow.shared.http_body import only_query, parse_json
from orderflow.shared.http_errors import ApiError
from orderflow.shared.http_openapi import answers, json_body, ref
from orderflow.shared.tenants import TenantRegistry

VALIDATIONS = "/v1/validations/{tenant}"
CustomerKey = tuple[str, str]  # (tenant, customer_id)


def _dumps(answer: dict[str, Any]) -> bytes:
    """The bytes Starlette's `JSONResponse` would send."""
    text = json.dumps(answer, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return text.encode("utf-8")


class ValidationApi:
    def __init__(self, pool: asyncpg.Pool, tenants: TenantRegistry, keys: Keys) -> None:
        self._pool, self._tenants, self._keys = pool, tenants, keys
        # Concurrent requests' customers in one statement per event-loop tick, never cached.
        self._shoppers = Coalescer(self._read_shoppers, validation.Shopper())

    async def _read_shoppers(self, keys: Sequence[CustomerKey]) -> dict[CustomerKey, Shopper]:
        async with self._pool.acquire() as conn:
            found = await customer_queries.shoppers(conn, keys)
        return {k: Shopper(count, frozenset(segments)) for k, (count, segments) in found.items()}

    def route(self) -> http_bare.BareRoute:
        reads = self._keys.caller(READ)

        async def validate(tenant: str, c: Caller = Depends(reads)) -> Response:
            raise AssertionError("served by ValidationApi.__call__")  # pragma: no cover

        return http_bare.BareRoute(
            VALIDATIONS,
            validate,
            serve=self,
            methods=["POST"],
            dependencies=[Depends(only_query())],
            summary="Validate a cart against the tenant's rules (no side effect)"
            " (scope orders:read)",
            responses=answers((200, body.ValidationOut)),
            openapi_extra=json_body([body.ValidationIn], ref(body.ValidationIn)),
            tags=["customers"],
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        http_bare.refuse_query(scope)
        tenant = scope["path_params"]["tenant"]
        self._keys.authorize(bearer_key(http_bare.header(scope, b"authorization")), READ, tenant)
        raw = await http_bare.body(receive)
        if raw is None:
            return  # the client left
        value = parse_json(raw, scope["app"].state.max_json_depth, Decimal)
        await http_bare.send_json(send, _dumps(await self.validate(tenant, value)))

    async def validate(self, tenant: str, raw: object) -> dict[str, Any]:
        request = body.parse(raw)
        configured = {rule.id: rule for rule in self._tenants.get(tenant).validation_rules}
        asked = request.rules
        unknown = [
            (f"rules[{i}]", f"no rule {r!r}")
            for i, r in enumerate(asked or [])
            if r not in configured
        ]
        if unknown:
            raise ApiError(422, unknown)
        rules = (
            [configured[r] for r in dict.fromkeys(asked)]
            if asked is not None
            else list(configured.values())
        )
        shopper = validation.Shopper()
        if request.customer_id is not None and validation.needs_customer(rules):
            shopper = await self._shoppers.get((tenant, request.customer_id))
        return body.answer(validation.verdicts(rules, body.cart_of(request.order), shopper))
