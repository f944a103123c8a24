"""The wire side of customers and segments: `order.confirmed` in, segments.v1 events out."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from pydantic import Field

from orderflow.services.rewards.customers import Move, Purchase
from orderflow.shared import topics
from orderflow.shared.envelope import Envelope, new_event, record_key
from orderflow.shared.errors import Rejected
from orderflow.shared.event_types import EventData, EventType, Output

ENTERED = "customer.segment_entered"
LEFT = "customer.segment_left"


def purchase_of(event: Envelope) -> tuple[str, Purchase] | None:
    """The customer and Has OK order an `order.confirmed` states; None for any other event
    and for an order without a customer (nobody's statistics change)."""
    if event.type != "order.confirmed" or event.order_id is None:
        return None
    data = event.data
    customer_id, amount, currency = (
        data.get("customer_id"),
        data.get("amount"),
        data.get("currency"),
    )
    if customer_id is None:
        return None
    try:
        if not isinstance(customer_id, str) or not customer_id:
            raise ValueError(f"customer_id must be a non-empty string, got {customer_id!r}")
        money = None if amount is None else Decimal(str(amount))
        if money is not None and (not money.is_finite() or not isinstance(currency, str)):
            raise ValueError("amount must be a finite decimal with a currency")
    except (ValueError, InvalidOperation) as exc:
        reason = f"data: malformed order.confirmed ({type(exc).__name__}: {exc})"
        raise Rejected(reason, "invalid_event") from exc
    purchase = Purchase(
        event.order_id, event.occurred_at, money, currency if money is not None else None
    )
    return customer_id, purchase


def move_envelope(
    tenant: str, move: Move, occurred_at: datetime, causation_id: str, correlation_id: str
) -> Envelope:
    return new_event(
        type=ENTERED if move.entered else LEFT,
        tenant=tenant,
        order_id=None,
        occurred_at=occurred_at,
        causation_id=causation_id,
        correlation_id=correlation_id,
        data={"customer_id": move.customer_id, "segment_id": move.segment_id},
        discriminator=f"{move.customer_id}\x1f{move.segment_id}",
    )


_EVENT_MARK, _CUSTOMER_MARK = "@event-id@", "@customer-id@"


def move_template(
    tenant: str, segment_id: str, entered: bool, occurred_at: datetime, cause: str
) -> tuple[str, str, str]:
    """`move_envelope`'s JSON for a rebuild (cause = causation = correlation), split around
    its event id and customer id: `head + event_id + middle + json(customer_id) + tail` is
    the envelope (an event id is a UUID: nothing to escape), so SQL writes a million of them
    with a concatenation a row."""
    move = Move(_CUSTOMER_MARK, segment_id, entered)
    event = move_envelope(tenant, move, occurred_at, cause, cause)
    text = event.model_copy(update={"event_id": _EVENT_MARK}).to_bytes().decode()
    head, rest = text.split(_EVENT_MARK)
    middle, tail = rest.split(f'"{_CUSTOMER_MARK}"')
    return head, middle, tail


def customer_key(tenant: str, customer_id: str) -> bytes:
    """segments.v1 is keyed `<tenant>:<customer_id>`: one customer's moves stay in order."""
    return record_key(tenant, customer_id)


class SegmentMoveData(EventData):
    """A customer entered or left one of the tenant's segments (CONTRACTS §11)."""

    customer_id: str = Field(description="The customer", examples=["c-42"])
    segment_id: str = Field(description="The tenant's segment", examples=["loyal"])


SEGMENTS_OUTPUT = Output(
    topics.SEGMENTS,
    "Segment membership changes: after an order, when a time condition's time passes, and "
    "when a changed definition is rebuilt at start (docs/segments.md)",
    (
        EventType(
            ENTERED, "The customer now meets every condition of the segment", SegmentMoveData
        ),
        EventType(LEFT, "The customer no longer meets a condition of the segment", SegmentMoveData),
    ),
    key="<tenant>:<customer_id>",
)
