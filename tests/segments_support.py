"""Test tenants with segments and validation rules, and `order.confirmed` as the tracker sends it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from orderflow.shared.envelope import Envelope, new_event
from orderflow.shared.tenant_segments import Segment, ValidationRule
from orderflow.shared.tenants import TenantConfig

KEY = "seg-key-0123456789abc"
WRITE_ONLY_KEY = "seg-writer-0123456789abc"  # scope orders:write only: no reads
SEGMENTS_YAML = """segments:
  - {id: loyal, when: {min_orders: 3}}
  - {id: big-spenders, when: {min_spent: {amount: "500.00", currency: EUR}}}
  - {id: recent, when: {last_purchase_within: RECENT}}
  - {id: lapsed, when: {no_purchase_within: RECENT, min_orders: 1}}
  - {id: one-timer, when: {max_orders: 1}}
validation_rules:
  - {id: min-basket, cart: {min_amount: "20.00", currency: EUR}}
  - id: shoes-for-loyal
    cart: {required: {categories: [shoes], match: any}, max_items: 10}
    customer: {segments_any: [loyal]}
  - {id: mobile-only, metadata: {channel: {in: [mobile_app]}}}
"""


def segments_yaml(tenant: str, recent: str = "90d", key: str = KEY) -> str:
    writer = f", {{key: {WRITE_ONLY_KEY}, scopes: [orders:write]}}" if key == KEY else ""
    return (
        f"tenant: {tenant}\nstatus_profile: loyalty\napi_keys: ['{key}'{writer}]\n"
        + SEGMENTS_YAML.replace("RECENT", recent)
    )


def write_segment_tenants(directory: Path, recent: str = "90d") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "seg.yaml").write_text(segments_yaml("seg", recent))
    (directory / "segb.yaml").write_text(
        segments_yaml("segb", recent, key="segb-key-0123456789abc")
    )
    return directory


def config(recent: str = "90d", extra: str = "") -> TenantConfig:
    document = yaml.safe_load(segments_yaml("seg", recent) + extra)
    document["api_keys"] = []
    return TenantConfig.model_validate(document)


def segments(recent: str = "90d") -> tuple[Segment, ...]:
    return config(recent).segments


def rules() -> tuple[ValidationRule, ...]:
    return config().validation_rules


def confirmed(
    tenant: str,
    order_id: str,
    customer_id: str | None,
    at: datetime,
    amount: str | None = "100.00",
    currency: str = "EUR",
    items: Sequence[dict[str, Any]] = (),
) -> Envelope:
    data = {
        "status": "OK",
        "category": "confirmed",
        "has_ok": True,
        "amount": amount,
        "currency": currency if amount is not None else None,
        "customer_id": customer_id,
        "offer_id": None,
        "items": list(items),
    }
    return new_event(
        type="order.confirmed",
        tenant=tenant,
        order_id=order_id,
        occurred_at=at,
        causation_id=f"cause:{tenant}:{order_id}",
        correlation_id=f"chain:{tenant}:{order_id}",
        data=data,
        discriminator="confirmed",
    )
