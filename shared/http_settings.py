"""What every service's HTTP edge reads from the environment (ORDERFLOW_…)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class HttpSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERFLOW_", extra="ignore")

    max_body_bytes: int = Field(1024 * 1024, ge=1, description="413 above this, on every route")
    max_json_depth: int = Field(
        512, ge=8, description="400 for a body nested deeper (arrays and objects)"
    )
    max_inflight_requests: int = Field(
        32, ge=1, description="API requests served at once; 429 with Retry-After beyond"
    )
    retry_after_s: int = Field(1, ge=1, description="Retry-After of a 429 or 503")
    tenant_reports_per_s: float = Field(
        5000.0,
        ge=0,
        description="Per-tenant token bucket on ingest's write paths, in reports per second"
        " (0: no limit); 429 with Retry-After when a tenant's bucket is empty",
    )
    tenant_burst_reports: int = Field(
        20000, ge=1000, description="The bucket's size: a full batch (1000) always fits"
    )
