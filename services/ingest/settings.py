"""Settings of the ingest service."""

from __future__ import annotations

from pydantic import Field

from orderflow.shared.settings import ServiceSettings


class IngestSettings(ServiceSettings):
    http_port: int = 8080
    max_body_bytes: int = Field(1024 * 1024, description="413 above this (CONTRACTS §4: 1 MiB)")
    max_inflight_requests: int = Field(32, ge=1, description="429 with Retry-After beyond this")
    retry_after_s: int = 1
    import_dir: str = Field(
        ".data/import", description="The FTP drop: <dir>/<tenant>/incoming/ is imported"
    )
    import_poll_s: float = Field(1.0, ge=0, description="How often the drop is looked at (0: off)")
    # CONTRACTS §13: the tracking tag, public, is limited per tenant and per client address.
    tracking_tenant_per_s: float = Field(50.0, ge=0, description="Tag requests/s per tenant")
    tracking_tenant_burst: int = Field(500, ge=1, description="Tag requests saved per tenant")
    tracking_client_per_s: float = Field(1.0, ge=0, description="Tag requests/s per address")
    tracking_client_burst: int = Field(10, ge=1, description="Tag requests saved per address")
    tracking_clients_tracked: int = Field(
        100_000, ge=1, description="Client addresses whose tag limit is remembered at once"
    )
