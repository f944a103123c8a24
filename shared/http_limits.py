"""Overload and fairness: `429` with `Retry-After`, before the work is done.

`InFlight` bounds the API requests a process serves at once (health, readiness, metrics
and the OpenAPI pages are never refused). `TenantBuckets` is a token bucket per tenant,
charged per report, so one tenant's flood empties its own bucket and not the others'.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import asyncpg
from starlette.types import ASGIApp, Receive, Scope, Send

from orderflow.shared.http_errors import error, error_response

OPEN_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"})


class InFlight:
    def __init__(self, app: ASGIApp, limit: int, retry_after_s: int) -> None:
        self._app, self._limit, self._retry_after = app, limit, str(retry_after_s)
        self._serving = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self._app(scope, receive, send)
            return
        if self._serving >= self._limit:
            headers = {"Retry-After": self._retry_after}
            response = error_response(429, [("", "overloaded, retry later")], headers)
            await response(scope, receive, send)
            return
        self._serving += 1
        try:
            await self._app(scope, receive, send)
        finally:
            self._serving -= 1


@contextlib.asynccontextmanager
async def connection(
    pool: asyncpg.Pool, retry_after_s: int, timeout_s: float = 5.0
) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection; every one busy for `timeout_s` is overload (`429`), not an outage."""
    try:
        conn = await pool.acquire(timeout=timeout_s)
    except TimeoutError:
        raise error(429, "overloaded, retry later", Retry_After=str(retry_after_s)) from None
    try:
        yield conn
    finally:
        await pool.release(conn)


@dataclass
class _Bucket:
    tokens: float
    at: float


class TenantBuckets:
    """`rate` tokens a second per tenant, at most `burst` saved; `rate` 0 turns it off."""

    def __init__(
        self,
        rate: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int | None = None,
    ) -> None:
        self._rate, self._burst, self._clock = rate, burst, clock
        self._buckets: dict[str, _Bucket] = {}
        # For keys the public chooses (client addresses): past `max_keys` the least recently
        # charged bucket is forgotten, so memory stays bounded; forgetting only forgives (a
        # new bucket starts full), and the oldest of many is the likeliest to be full anyway.
        self._max_keys = max_keys

    def wait_s(self, tenant: str, cost: int = 1) -> float:
        """Take `cost` tokens and answer 0, or take none and answer how long until they exist."""
        if self._rate <= 0:
            return 0.0
        now = self._clock()
        bucket = self._buckets.pop(tenant, None) or _Bucket(float(self._burst), now)
        self._buckets[tenant] = bucket  # most recently charged last
        if self._max_keys is not None and len(self._buckets) > self._max_keys:
            del self._buckets[next(iter(self._buckets))]
        bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.at) * self._rate)
        bucket.at = now
        if bucket.tokens >= cost:
            bucket.tokens -= cost
            return 0.0
        return (min(cost, self._burst) - bucket.tokens) / self._rate

    def charge(self, tenant: str, cost: int = 1) -> None:
        """Raise `429` with the seconds to wait when the tenant's bucket lacks `cost`."""
        wait = self.wait_s(tenant, cost)
        if wait > 0:
            raise error(
                429,
                f"tenant '{tenant}' is over its rate limit, retry later",
                Retry_After=str(max(1, math.ceil(wait))),
            )
