"""Who calls: the bearer key, its tenant and its scopes (CONTRACTS §4 and Part 2's preamble).

A missing or unknown key is `401`; a key of tenant A on a path of tenant B is `403`; a key
without the route's scope is `403` naming the scope. Every read needs `orders:read`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from orderflow.shared.http_errors import error
from orderflow.shared.tenants import TenantRegistry

READ = "orders:read"
bearer = HTTPBearer(auto_error=False, description="A tenant's API key (CONTRACTS §6 api_keys)")


@dataclass(frozen=True)
class Caller:
    tenant: str
    scopes: frozenset[str]

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise error(403, f"this API key lacks the scope '{scope}'")


Dependency = Callable[..., Awaitable[Caller]]


def bearer_key(authorization: str | None) -> str | None:
    """The key of `Authorization: Bearer <key>`, read as `HTTPBearer` reads it (for a bare
    ASGI route, which has no dependencies)."""
    scheme, credentials = get_authorization_scheme_param(authorization)
    if not (authorization and scheme and credentials) or scheme.lower() != "bearer":
        return None
    return credentials


class Keys:
    """Builds the FastAPI dependency a route declares: `Depends(keys.caller("orders:read"))`."""

    def __init__(self, tenants: TenantRegistry) -> None:
        self._tenants = tenants

    def identify(self, key: str | None) -> Caller:
        found = self._tenants.authenticate(key) if key else None
        if found is None:
            raise error(401, "missing or invalid API key (Authorization: Bearer <key>)")
        config, scopes = found
        return Caller(config.tenant, scopes)

    def authorize(self, key: str | None, scope: str, tenant: str | None) -> Caller:
        """The caller of `key`, holding `scope`; with a `tenant` the key must belong to it."""
        caller = self.identify(key)
        if tenant is not None and caller.tenant != tenant:
            raise error(403, f"this API key belongs to tenant '{caller.tenant}', not '{tenant}'")
        caller.require(scope)
        return caller

    def caller(self, scope: str, *, tenant_in_path: bool = True) -> Dependency:
        """The route's caller; with `tenant_in_path` the key must belong to `{tenant}`."""

        async def dependency(
            request: Request,
            credentials: HTTPAuthorizationCredentials | None = Security(bearer),
        ) -> Caller:
            key = credentials.credentials if credentials else None
            # A path without `{tenant}` matches no key's tenant: refused, never let through.
            tenant = request.path_params.get("tenant", "") if tenant_in_path else None
            return self.authorize(key, scope, tenant)

        return dependency
