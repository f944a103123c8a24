"""Settings of the rewards service."""

from __future__ import annotations

from pydantic import Field

from orderflow.shared.settings import ServiceSettings


class RewardsSettings(ServiceSettings):
    http_port: int = 8084
    timer_poll_interval_s: float = Field(
        1.0, gt=0, description="How often due approval timers are looked for"
    )
    timer_batch_size: int = Field(100, ge=1)
    page_max: int = Field(500, ge=1, description="Largest `limit` of a ledger or rewards page")
