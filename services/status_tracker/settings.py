"""Settings of the status-tracker service."""

from __future__ import annotations

from pydantic import Field

from orderflow.shared.settings import ServiceSettings


class TrackerSettings(ServiceSettings):
    http_port: int = 8081
    timer_poll_interval_s: float = Field(
        1.0, gt=0, description="How often due expiry timers are looked for"
    )
    timer_batch_size: int = 100
    recurring_batch_size: int = Field(
        500, ge=1, description="Due recurring charges published per transaction"
    )
