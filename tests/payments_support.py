"""Envelopes and batches for the payments tests: `payment.reported` and `order.reported`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from orderflow.shared.envelope import Envelope, new_event
from orderflow.shared.runner import Record
from tests.batch_support import records

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def payment(
    tenant: str,
    order_id: str,
    payment_id: str,
    status: str,
    hours: float,
    amount: str,
    **extra: Any,
) -> Envelope:
    """A `payment.reported` as ingest publishes it (INTERFACES.md)."""
    report_id = f"{tenant}:{payment_id}:{status}:{hours}"
    data = {
        "tenant": tenant,
        "order_id": order_id,
        "payment_id": payment_id,
        "status": status,
        "occurred_at": at(hours).isoformat(),
        "amount": amount,
        "currency": extra.pop("currency", "EUR"),
        "payment_system": extra.pop("payment_system", "stripe"),
        "report_id": report_id,
        "source": "api",
        "received_at": at(hours).isoformat(),
        **extra,
    }
    return new_event(
        type="payment.reported",
        tenant=tenant,
        order_id=order_id,
        occurred_at=at(hours),
        causation_id=report_id,
        correlation_id=report_id,
        data=data,
    )


def order_report(
    tenant: str, order_id: str, status: str, category: str | None, hours: float, **data: Any
) -> Envelope:
    """An `order.reported` as ingest publishes it."""
    report_id = f"{tenant}:{order_id}:{status}:{hours}"
    return new_event(
        type="order.reported",
        tenant=tenant,
        order_id=order_id,
        occurred_at=at(hours),
        causation_id=report_id,
        correlation_id=report_id,
        data={
            "report_id": report_id,
            "status": status,
            "category": category,
            "source": "api",
            "received_at": at(hours).isoformat(),
            **data,
        },
    )


def batch(topic: str, events: Sequence[Envelope]) -> list[Record]:
    return records(topic, [(f"{e.tenant}:{e.order_id}".encode(), e.to_bytes()) for e in events])


async def lifecycle(conn: asyncpg.Connection, order_id: str) -> list[Envelope]:
    rows = await conn.fetch(
        "SELECT value FROM outbox WHERE topic = 'orders.lifecycle.v1' ORDER BY id"
    )
    events = [Envelope.from_bytes(r["value"]) for r in rows]
    return [e for e in events if e.order_id == order_id]
