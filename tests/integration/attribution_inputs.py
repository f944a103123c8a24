"""Inputs of the attribution service, built the way ingest and the status tracker build them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orderflow.services.ingest import domain as ingest
from orderflow.services.ingest.reports import (
    OrderReport,
    Touchpoint,
    report_uuid,
    touchpoint_uuid,
)
from orderflow.shared import topics
from orderflow.shared.envelope import Envelope, new_event
from orderflow.shared.vocabulary import Category

RECEIVED = datetime(2026, 3, 10, tzinfo=UTC)
KEYS = {
    "shop": "shop-key-0123456789",
    "shop-sales": "shop-sales-key-0123456789",
    "crm": "crm-key-0123456789",
    "crm-sales": "crm-sales-key-0123456789",
}
# Literal keys: these files live only in a test's tmp_path.
TENANTS = {
    "shop": f"""tenant: shop
status_profile: loyalty
status_overrides: {{"Duplicate": duplicate}}
attribution: {{lookback_days: 30}}
api_keys: ["{KEYS["shop"]}"]
""",
    "crm": f"""tenant: crm
status_profile: crm
attribution: {{lookback_days: 90}}
api_keys:
  - "{KEYS["crm"]}"
  - {{key: "{KEYS["crm-sales"]}", scopes: ["orders:write", "sales:confirm"]}}
""",
}
Send = Callable[[str, str, Any], Awaitable[None]]


def write_attribution_tenants(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in TENANTS.items():
        (directory / f"{name}.yaml").write_text(text)
    return directory


def reported(
    order_id: str,
    status: str,
    at: datetime,
    category: Category | None = Category.PENDING,
    *,
    tenant: str = "shop",
    customer: str | None = None,
    contributors: Iterable[tuple[str, str]] = (),
) -> Envelope:
    body: dict[str, Any] = {
        "tenant": tenant,
        "order_id": order_id,
        "status": status,
        "occurred_at": at.isoformat(),
    }
    if customer is not None:
        body["customer"] = {"id": customer, "email": "someone@example.test"}
    if named := [{"member_id": m, "via": v} for m, v in contributors]:
        body["contributors"] = named
    report = OrderReport.model_validate(body)
    return ingest.reported_event(report, str(report_uuid(report)), category, RECEIVED)


def touched(
    touchpoint_id: str,
    member: str,
    customer: str,
    at: datetime,
    *,
    tenant: str = "shop",
    order_id: str | None = None,
) -> Envelope:
    body = {
        "tenant": tenant,
        "touchpoint_id": touchpoint_id,
        "member_id": member,
        "kind": "click",
        "customer_id": customer,
        "occurred_at": at.isoformat(),
        "order_id": order_id,
    }
    touchpoint = Touchpoint.model_validate(body)
    return ingest.touchpoint_event(touchpoint, str(touchpoint_uuid(touchpoint)), RECEIVED)


def status_changed(
    order_id: str, status: str, category: Category, at: datetime, *, tenant: str = "shop"
) -> Envelope:
    """The tracker's `order.status_changed` (only the fields attribution reads matter)."""
    data = {"status": status, "category": category.value, "has_ok": category is Category.CONFIRMED}
    return new_event(
        type="order.status_changed", tenant=tenant, order_id=order_id, occurred_at=at,
        causation_id=f"{order_id}:{status}", correlation_id=order_id, data=data,
        discriminator=f"status_changed:{status}",
    )  # fmt: skip


async def publish(send: Send, *events: Envelope) -> None:
    """Each event on its internal topic with the key its producer uses."""
    for event in events:
        if event.type == "touchpoint.recorded":
            topic, key = topics.TOUCHPOINTS_RECORDED, f"{event.tenant}:{event.data['customer_id']}"
        elif event.type == "order.reported":
            topic, key = topics.ORDER_REPORTS, f"{event.tenant}:{event.order_id}"
        else:
            topic, key = topics.ORDERS_LIFECYCLE, f"{event.tenant}:{event.order_id}"
        await send(topic, key, event.to_bytes())


def credit_of(event: Envelope) -> tuple[str, str | None, str, str, str | None]:
    """(type, order, member, model, touchpoint) of an orders.attribution.v1 event."""
    data = event.data
    return (event.type, event.order_id, data["member_id"], data["model"], data.get("touchpoint_id"))
