"""Settings of the notifier service (environment variables `ORDERFLOW_<FIELD>`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from orderflow.shared.settings import ServiceSettings


class NotifierSettings(ServiceSettings):
    http_port: int = 8083

    smtp_host: str = Field("127.0.0.1", description="SMTP server (ORDERFLOW_SMTP_HOST)")
    smtp_port: int = Field(2525, description="The local stack's SMTP server listens on 2525")
    smtp_security: Literal["plain", "starttls", "tls"] = Field(
        "plain", description="plain, STARTTLS after connecting, or implicit TLS"
    )
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_validate_certs: bool = True
    smtp_timeout_s: float = Field(10.0, gt=0)

    webhook_timeout_s: float = Field(10.0, gt=0)

    max_attempts: int = Field(8, ge=1, description="Attempts before notification.failed")
    backoff_base_s: float = Field(2.0, gt=0, description="Delay after the first failed attempt")
    backoff_max_s: float = Field(600.0, gt=0, description="Longest delay between two attempts")
    retry_after_max_s: float = Field(3600.0, gt=0, description="Cap on a receiver's Retry-After")

    delivery_poll_interval_s: float = Field(0.5, gt=0)
    delivery_batch_size: int = Field(50, ge=1)
    delivery_lease_s: float = Field(
        60.0, gt=0, description="A claimed delivery is retried after this if its sender died"
    )
    templates_dir: str | None = Field(
        None, description="Per-tenant template overrides: <dir>/<tenant>/<template>.<lang>.<part>"
    )
