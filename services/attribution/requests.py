"""The HTTP side's wire format: errors (CONTRACTS §4 style), the confirmation body, the view."""

from __future__ import annotations

from typing import Any

from orderflow.services.attribution.sellers import managers
from orderflow.services.attribution.state import OrderAttribution

MAX_ID = 128


class HttpError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status, self.body = status, body


def error(status: int, path: str, message: str) -> HttpError:
    return HttpError(status, {"errors": [{"path": path, "message": message}]})


def confirmation_of(body: object) -> str | None:
    """`{"manager_id": "…"}` -> the manager; `{"system": true}` -> None; anything else is 422."""
    if not isinstance(body, dict):
        raise error(422, "", 'must be a JSON object: {"manager_id": "..."} or {"system": true}')
    problems = [(key, "unknown field") for key in body if key not in ("manager_id", "system")]
    manager, system = body.get("manager_id"), body.get("system")
    if "manager_id" in body and "system" in body:
        problems.append(("", "give either manager_id or system, not both"))
    elif "manager_id" in body:
        if not isinstance(manager, str) or not 1 <= len(manager) <= MAX_ID:
            problems.append(("manager_id", f"must be a string of 1 to {MAX_ID} characters"))
    elif "system" in body:
        if system is not True:
            problems.append(("system", "must be true"))
    else:
        problems.append(("manager_id", 'field required (or "system": true for a system sale)'))
    if problems:
        raise HttpError(422, {"errors": [{"path": p, "message": m} for p, m in problems]})
    return manager if isinstance(manager, str) else None


def order_view(tenant: str, state: OrderAttribution) -> dict[str, Any]:
    """The order's current credits, how they were decided, and the sale's confirmation."""
    confirmation = state.confirmation
    return {
        "tenant": tenant,
        "order_id": state.order_id,
        "customer_id": state.customer_id,
        "ordered_at": state.ordered_at.isoformat() if state.ordered_at else None,
        "has_ok": state.has_ok,
        "duplicate": state.duplicate,
        "sale": "manager" if managers(state) else "system",
        "sales_manager": sales_manager(state),
        "credits": [
            {
                "member_id": c.member_id,
                "via": c.via.value,
                "model": c.model.value,
                "touchpoint_id": c.touchpoint_id,
                "confirmed": c.confirmed,
            }
            for c in state.credits
        ],
        "confirmation": None
        if confirmation is None
        else {
            "confirmed_by": confirmation.confirmed_by,
            "manager_id": confirmation.manager_id,
            "system": confirmation.manager_id is None,
            "confirmed_at": confirmation.confirmed_at.isoformat(),
        },
    }


def sales_manager(state: OrderAttribution) -> dict[str, Any] | None:
    """The order's current sales manager `{member_id, confirmed}` (CONTRACTS §7); None: system."""
    sellers = managers(state)
    if not sellers:
        return None
    done = state.confirmation
    member = done.manager_id if done is not None and done.manager_id in sellers else sellers[0]
    return {"member_id": member, "confirmed": done is not None and done.manager_id == member}
