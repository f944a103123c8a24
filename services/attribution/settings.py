"""Settings of the attribution service."""

from __future__ import annotations

from pydantic import Field

from orderflow.shared.settings import ServiceSettings


class AttributionSettings(ServiceSettings):
    http_port: int = 8082
    max_body_bytes: int = Field(64 * 1024, description="413 above this (a confirmation is tiny)")
