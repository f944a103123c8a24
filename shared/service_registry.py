"""The services `orderflow run` starts, in order; HTTP ports follow this order from
ORDERFLOW_HTTP_PORT (ingest 8080, status-tracker 8081, ...)."""

from __future__ import annotations

# service name -> module under orderflow.services
SERVICES: dict[str, str] = {
    "ingest": "ingest",
    "status-tracker": "status_tracker",
    "attribution": "attribution",
    "notifier": "notifier",
    "rewards": "rewards",
}


def service_ports(base: int) -> dict[str, int]:
    return {name: base + index for index, name in enumerate(SERVICES)}
