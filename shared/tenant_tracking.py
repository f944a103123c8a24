"""Tenant configuration of CONTRACTS §13: `tracking:`, the order tracking tag.

Schema only; what a tag request records lives in services/ingest/tracking.py. The
publishable key is public (it sits in the shop's web page), so it is no secret and no API
key: it can do nothing but §13, and a file that reuses an API key as one is refused.
"""

from __future__ import annotations

import hmac
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

from orderflow.shared.tenant_types import Strict

PUBLISHABLE_KEY = r"^pk_[A-Za-z0-9_-]{8,120}$"
DEFAULT_STATUS = "Pixel Tracked"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_origin(origin: str) -> str:
    """`scheme://host[:port]` as a browser writes it in `Origin`: lower case, no default port."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"{origin!r} is not an origin such as https://shop.example")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"{origin!r} is an origin only: scheme, host and port, no path")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{origin!r} has no valid port") from None
    host = parts.hostname.lower()
    if ":" in host:  # IPv6, written in brackets in an origin
        host = f"[{host}]"
    shown = "" if port in (None, _DEFAULT_PORTS[parts.scheme]) else f":{port}"
    return f"{parts.scheme}://{host}{shown}"


Origin = Annotated[str, AfterValidator(normalise_origin)]


class Tracking(Strict):
    publishable_key: str = Field(pattern=PUBLISHABLE_KEY)
    allowed_origins: Annotated[tuple[Origin, ...], Field(min_length=1)]
    # Recorded with source `tag`; never a confirmed status, whatever the profile says.
    status: str = Field(DEFAULT_STATUS, min_length=1, max_length=64)

    def allows(self, origin: str | None) -> bool:
        """Whether a browser's `Origin` header is one of the allowed origins."""
        if not origin:
            return False
        try:
            return normalise_origin(origin) in self.allowed_origins
        except ValueError:
            return False

    def key_matches(self, presented: str) -> bool:
        return hmac.compare_digest(presented.encode(), self.publishable_key.encode())
