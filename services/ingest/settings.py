"""Settings of the ingest service."""

from __future__ import annotations

from pydantic import Field

from orderflow.shared.settings import ServiceSettings


class IngestSettings(ServiceSettings):
    http_port: int = 8080
    max_body_bytes: int = Field(1024 * 1024, description="413 above this (CONTRACTS §4: 1 MiB)")
    max_inflight_requests: int = Field(32, ge=1, description="429 with Retry-After beyond this")
    retry_after_s: int = 1
