"""How the tracking tag's routes appear in ingest's OpenAPI document (CONTRACTS §13)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from orderflow.services.ingest.tracking import TagFields
from orderflow.shared.http_openapi import answers, json_body, ref


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    every = answers(None)
    return {status: every[status] for status in statuses}


# The pixel answers the GIF to everything it handles; only the shared edge in front of every
# route can refuse first (a NUL in the URL, a body over the limit, overload, an outage).
PIXEL: dict[str, Any] = {
    "summary": "The tag's pixel: records the order seen; always the GIF (CONTRACTS §13)",
    "response_class": Response,
    "responses": {
        200: {
            "description": "A 1x1 transparent GIF, Cache-Control: no-store",
            "content": {"image/gif": {"schema": {"type": "string", "format": "binary"}}},
        },
        **_errors(400, 413, 429, 503),
    },
}
BEACON: dict[str, Any] = {
    "summary": "The tag's beacon: the pixel's fields as JSON with the key (CONTRACTS §13)",
    "status_code": 204,
    "response_class": Response,
    "responses": {
        204: {"description": "Recorded (a reload of the page is a duplicate, recorded once)"},
        **_errors(400, 401, 403, 404, 413, 422, 429, 503),
    },
    "openapi_extra": json_body([TagFields], ref(TagFields)),
}
PREFLIGHT: dict[str, Any] = {
    "summary": "CORS preflight of the beacon: allowed origins only (CONTRACTS §13)",
    "status_code": 204,
    "response_class": Response,
    "responses": {
        204: {"description": "This origin may POST"},
        **_errors(400, 403, 404, 413, 422, 429, 503),
    },
}
SCRIPT: dict[str, Any] = {
    "summary": "The tag: reads window.orderflowOrder, sends it (CONTRACTS §13)",
    "response_class": Response,
    "responses": {
        200: {
            "description": "The script",
            "content": {"text/javascript": {"schema": {"type": "string"}}},
        },
        **_errors(400, 404, 413, 422, 429, 503),
    },
}
