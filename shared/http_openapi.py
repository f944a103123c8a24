"""What a route tells the OpenAPI 3.1 document: its answers and, for raw bodies, its body.

Bodies are read by the service's own parser (the edge's safe JSON, then the service's
validation and error paths), so a route documents its body here instead of letting FastAPI
parse it: `json_body(...)` puts the schema under `requestBody`, with the models it refers to
under `x-components`, which `merge_components` moves to `components.schemas`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from orderflow.shared.http_errors import Errors

REF = "#/components/schemas/{model}"
_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before sending it again",
        "schema": {"type": "integer"},
    }
}
_MEANING = {
    400: "The body is not JSON this service accepts, or the URL holds a NUL character",
    401: "Missing or unknown API key (or signature)",
    403: "The key's tenant is not the path's or body's, or the key lacks the scope",
    404: "Not found (an unknown order, role or tenant; a path that names nothing)",
    409: "Conflicts with what was already decided",
    413: "Body too large",
    422: "Invalid request: every bad field is named",
    429: "Overloaded, or the tenant is over its rate limit",
    503: "Database or broker unavailable; nothing was done",
}
ALWAYS = (400, 401, 403, 404, 413, 422, 429, 503)


def answers(
    ok: tuple[int, type[BaseModel]] | None, *statuses: int, description: str = "Done"
) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route: its success model and the error answers it can give."""
    found: dict[int | str, dict[str, Any]] = {}
    if ok is not None:
        found[ok[0]] = {"model": ok[1], "description": description}
    for status in sorted({*ALWAYS, *statuses}):
        entry: dict[str, Any] = {"model": Errors, "description": _MEANING[status]}
        if status in (429, 503):
            entry["headers"] = _RETRY_AFTER
        found[status] = entry
    return found


def json_body(
    models: Sequence[type[BaseModel]], schema: dict[str, Any], *, required: bool = True
) -> dict[str, Any]:
    """`openapi_extra` for a JSON body described by `schema` (refer to a model as `ref(M)`)."""
    _, defs = models_json_schema([(m, "validation") for m in models], ref_template=REF)
    components = defs.get("$defs", {})
    return {
        "requestBody": {"required": required, "content": {"application/json": {"schema": schema}}},
        "x-components": components,
    }


def ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": REF.format(model=model.__name__)}


def merge_components(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for path in document.get("paths", {}).values():
        for operation in path.values():
            schemas.update(operation.pop("x-components", {}))
    return document
