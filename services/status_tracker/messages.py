"""Translation between envelopes on the wire and the tracker's domain facts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeAlias

from orderflow.services.status_tracker.domain import Decision, LifecycleEvent
from orderflow.services.status_tracker.history import OrderItem, OrderSummary, Report
from orderflow.services.status_tracker.report_details import details_from
from orderflow.shared import topics
from orderflow.shared.envelope import Envelope, new_event
from orderflow.shared.errors import Rejected
from orderflow.shared.vocabulary import Category

REPORTED = "order.reported"
# An outbox row to be: (topic, envelope, key); the key None means `<tenant>:<order_id>`.
Outgoing: TypeAlias = tuple[str, Envelope, bytes | None]


def order_key(event: Envelope) -> tuple[str, str]:
    """(tenant, order_id) of a report; `report_from` has checked it has an order id."""
    assert event.order_id is not None
    return event.tenant, event.order_id


def reports_by_event(events: Sequence[Envelope]) -> dict[str, Report]:
    """Each event's report by event id; every record is checked, the first of an id is kept."""
    reports: dict[str, Report] = {}
    for event in events:
        reports.setdefault(event.event_id, report_from(event))
    return reports


def report_from(event: Envelope) -> Report:
    """The report fact ingest published; anything malformed can never succeed: dead-letter it."""
    if event.type != REPORTED or event.order_id is None:
        raise Rejected(
            f"type: expected {REPORTED} with an order_id, got {event.type}", "unexpected_event"
        )
    data = event.data
    try:
        category = Category(data["category"]) if data.get("category") else None
        return Report(
            report_id=str(data["report_id"]),
            status=str(data["status"]),
            category=category,
            source=str(data.get("source") or "api"),
            occurred_at=event.occurred_at,
            received_at=datetime.fromisoformat(data["received_at"]),
            summary=_summary(data),
            details=details_from(data),
        )
    except (KeyError, ValueError, TypeError, InvalidOperation) as exc:
        raise Rejected(
            f"data: malformed order.reported ({type(exc).__name__}: {exc})", "invalid_event"
        ) from exc


def _summary(data: dict[str, Any]) -> OrderSummary | None:
    customer = data.get("customer") or {}
    items = tuple(
        OrderItem(
            sku=str(i["sku"]),
            quantity=int(i["quantity"]),
            unit_price=Decimal(str(i["unit_price"])),
            name=i.get("name"),
            category=i.get("category"),
            offer_id=i.get("offer_id"),
            offer_name=i.get("offer_name"),
        )
        for i in data.get("items") or []
    )
    summary = OrderSummary(
        amount=Decimal(data["amount"]) if data.get("amount") is not None else None,
        currency=data.get("currency"),
        customer_id=customer.get("id"),
        offer_id=data.get("offer_id"),
        items=items,
    )
    return None if summary == OrderSummary() else summary


def lifecycle_envelope(
    event: LifecycleEvent, tenant: str, order_id: str, causation_id: str, correlation_id: str
) -> Envelope:
    return new_event(
        type=event.type,
        tenant=tenant,
        order_id=order_id,
        occurred_at=event.occurred_at,
        causation_id=causation_id,
        correlation_id=correlation_id,
        data=dict(event.data),
        discriminator=f"{tenant}:{order_id}:{event.discriminator}",
    )


def outgoing(
    decision: Decision, tenant: str, order_id: str, causation_id: str, correlation_id: str
) -> list[Outgoing]:
    """The decision's lifecycle events as outbox rows, in the order they were decided."""
    return [
        (
            topics.ORDERS_LIFECYCLE,
            lifecycle_envelope(event, tenant, order_id, causation_id, correlation_id),
            None,
        )
        for event in decision.events
    ]


NOTE_ADDED = "order.note_added"


def note_added(
    tenant: str, order_id: str, note_id: str, author: str, at: datetime, correlation_id: str
) -> Outgoing:
    """`order.note_added` (CONTRACTS §7): who wrote which note, never its text."""
    envelope = new_event(
        type=NOTE_ADDED,
        tenant=tenant,
        order_id=order_id,
        occurred_at=at,
        causation_id=note_id,
        correlation_id=correlation_id,
        data={"note_id": note_id, "author": author},
        discriminator=f"{tenant}:{order_id}:note:{note_id}",
    )
    return topics.ORDERS_LIFECYCLE, envelope, None


REFUNDED = "order.refunded"


def refunds_first(decided: Sequence[Outgoing], after: Sequence[Outgoing]) -> list[Outgoing]:
    """The rows of a report's decisions with the `order.refunded` that report carries first.

    A report `Refund` with a partial `refunded_amount` is one refund and its status: rewards
    takes the refund's pro-rata share and then reads the status at the same instant as that
    refund's own (docs/rewards.md), so the refund must reach it before the status change and
    `order.reversed` it caused. Other rows of `after` (confirmations by payment) stay last.
    """
    refunds: dict[str, list[Outgoing]] = {}
    rest: list[Outgoing] = []
    for row in after:
        if row[1].type == REFUNDED:
            refunds.setdefault(row[1].causation_id, []).append(row)
        else:
            rest.append(row)
    ordered: list[Outgoing] = []
    for row in decided:
        ordered += refunds.pop(row[1].causation_id, [])
        ordered.append(row)
    return ordered + [row for rows in refunds.values() for row in rows] + rest
