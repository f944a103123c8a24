"""Inputs of the rewards service as its producers publish them, and its test tenants.

`lifecycle_story` plays a list of statuses the way the status tracker reports them on
orders.lifecycle.v1 (status_changed with has_ok, then order.confirmed once, order.reversed
once); `attributed`/`voided` are the attribution service's events (CONTRACTS §5).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from orderflow.services.rewards.entries import Programme
from orderflow.shared.envelope import Envelope, new_event
from orderflow.shared.tenants import TenantConfig
from orderflow.shared.vocabulary import Category

C = Category
AFFILIATE: dict[str, Category] = {
    "Pending": C.PENDING,
    "Pixel Tracked": C.PENDING,
    "Processing": C.PENDING,
    "Sale": C.CONFIRMED,
    "Refund": C.REFUNDED,
    "Satisfaction Refund": C.REFUNDED,
    "Chargeback": C.CHARGEBACK,
    "Suppression": C.SUPPRESSED,
    "Duplicate": C.DUPLICATE,
}
LOYALTY: dict[str, Category] = {
    "Pending": C.PENDING,
    "OK": C.CONFIRMED,
    "Sent": C.FULFILLED,
    "Cancelled": C.CANCELLED,
    "Refunded": C.REFUNDED,
}
PROFILES = {"aff": AFFILIATE, "loy": LOYALTY}
KEYS = {"aff": "aff-key-0123456789abc", "loy": "loy-key-0123456789abc"}
TENANT_VARS = {"AFF_KEY": KEYS["aff"], "LOY_KEY": KEYS["loy"]}
REVERSALS = {C.REFUNDED, C.CHARGEBACK}

CHALLENGES = """challenges:
  - {id: first-order, when: {first_order_of_member: true}, reward: {points: 100, badge: first-sale}}
  - {id: big-basket, when: {min_amount: "200.00"}, reward: {points: 50}}
  - {id: three-in-thirty, when: {orders_in_days: {count: 3, days: 30}}, reward: {points: 300}}
  - {id: premium-shoes, when: {offer_in: [offer-premium], category_in: [shoes]}, reward: {points: 70}}
"""


def tenant_yaml(tenant: str, holding_days: int = 30) -> str:
    profile = "affiliate" if tenant == "aff" else "loyalty"
    return (
        f"tenant: {tenant}\nstatus_profile: {profile}\napi_keys: ['${{{tenant.upper()}_KEY}}']\n"
        + CHALLENGES
        + 'commission:\n  percent: "10"\n  fixed: "0.50"\n'
        + '  per_offer: {offer-premium: {percent: "15"}, offer-trial: {fixed: "5.00"}}\n'
        + f"  holding_days: {holding_days}\n"
    )


def programme(tenant: str = "aff", **commission: object) -> Programme:
    """The test tenant's programme, commission settings overridden."""
    document = yaml.safe_load(tenant_yaml(tenant))
    document["api_keys"] = []
    document["commission"].update(commission)
    return Programme.of(TenantConfig.model_validate(document))


def write_reward_tenants(directory: Path, holding_days: int = 30) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for tenant in PROFILES:
        (directory / f"{tenant}.yaml").write_text(tenant_yaml(tenant, holding_days))
    return directory


def _event(
    type_: str, tenant: str, order_id: str, at: datetime, data: dict[str, Any], tag: str
) -> Envelope:
    return new_event(
        type=type_,
        tenant=tenant,
        order_id=order_id,
        occurred_at=at,
        causation_id=f"cause:{tenant}:{order_id}:{tag}",
        correlation_id=f"chain:{tenant}:{order_id}",
        data=data,
        discriminator=tag,
    )


def lifecycle_story(
    tenant: str,
    order_id: str,
    statuses: Sequence[str],
    start: datetime,
    amount: str | None = "100.00",
    currency: str = "EUR",
    offer_id: str | None = None,
    items: Sequence[dict[str, Any]] = (),
    step: timedelta = timedelta(hours=1),
) -> list[Envelope]:
    """The lifecycle events of an order whose statuses happened `step` apart, from `start`."""
    profile = PROFILES[tenant]
    summary = {
        "amount": amount,
        "currency": currency if amount is not None else None,
        "customer_id": f"cust-{order_id}",
        "offer_id": offer_id,
        "items": [{"sku": "sku-1", "quantity": 1, "unit_price": "1.00", **i} for i in items],
    }
    events: list[Envelope] = []
    has_ok = reversed_ = False
    previous: tuple[str | None, str | None] = (None, None)
    for index, status in enumerate(statuses):
        at, category = start + index * step, profile[status]
        became_ok = category is C.CONFIRMED and not has_ok
        has_ok = has_ok or became_ok
        data = {**summary, "status": status, "category": category.value, "has_ok": has_ok}
        changed = {**data, "previous_status": previous[0], "previous_category": previous[1]}
        events.append(_event("order.status_changed", tenant, order_id, at, changed, f"sc:{index}"))
        if became_ok:
            events.append(_event("order.confirmed", tenant, order_id, at, data, "confirmed"))
        if has_ok and category in REVERSALS and not reversed_:
            reversed_ = True
            events.append(_event("order.reversed", tenant, order_id, at, data, "reversed"))
        previous = (status, category.value)
    return events


def attributed(
    tenant: str,
    order_id: str,
    member_id: str,
    at: datetime,
    model: str = "explicit",
    touchpoint_id: str | None = None,
    generation: int = 0,
    confirmed: bool = False,
) -> Envelope:
    """`confirmed`: the same credit announced again by a sale confirmation (a new event)."""
    data: dict[str, Any] = {"member_id": member_id, "via": "affiliation", "model": model}
    if touchpoint_id is not None:
        data["touchpoint_id"] = touchpoint_id
    data["confirmed"] = confirmed
    tag = f"attributed:{model}:{member_id}:{touchpoint_id}:{generation}:{confirmed}"
    return _event("order.attributed", tenant, order_id, at, data, tag)


def voided(
    tenant: str,
    order_id: str,
    member_id: str,
    at: datetime,
    model: str = "explicit",
    touchpoint_id: str | None = None,
    generation: int = 0,
) -> Envelope:
    data: dict[str, Any] = {"member_id": member_id, "via": "affiliation", "model": model}
    data.update({"touchpoint_id": touchpoint_id, "reason": "duplicate"})
    tag = f"voided:{model}:{member_id}:{touchpoint_id}:{generation}"
    return _event("order.attribution_voided", tenant, order_id, at, data, tag)
