"""Translation between envelopes on the wire and the rewards service's facts and events."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from orderflow.services.rewards.entries import CountedOrder, LedgerEntry, RewardGrant
from orderflow.services.rewards.facts import (
    Attributed,
    Confirmed,
    Fact,
    Item,
    OrderSummary,
    Refunded,
    Reversed,
    StatusChanged,
    Voided,
)
from orderflow.shared.envelope import Envelope, new_event, record_key, stable_id
from orderflow.shared.errors import Rejected
from orderflow.shared.vocabulary import Category

REWARD_GRANTED = "reward.granted"
ORDER_COUNTED = "member.order_counted"  # internal: rewards.member-facts.v1


def order_of(event: Envelope) -> str:
    """The event's order: rewards decides nothing about events without an order."""
    if event.order_id is None:
        raise Rejected(f"{event.type} without an order_id", "invalid_event")
    return event.order_id


def lifecycle_fact(event: Envelope) -> Fact | None:
    """The fact an orders.lifecycle.v1 event states; None for a type that changes nothing here."""
    data = event.data
    try:
        if event.type == "order.status_changed":
            category, has_ok = Category(data["category"]), bool(data["has_ok"])
            return StatusChanged(event.event_id, event.occurred_at, category, has_ok)
        if event.type == "order.confirmed":
            return Confirmed(event.event_id, event.occurred_at, _summary(data))
        if event.type == "order.reversed":
            return Reversed(event.event_id, event.occurred_at, Category(data["category"]))
        if event.type == "order.refunded":
            return _refunded(event)
    except (KeyError, ValueError, TypeError, InvalidOperation) as exc:
        raise _malformed(event, exc) from exc
    return None  # order.expired, and types added later


def attribution_fact(event: Envelope) -> Fact | None:
    """The fact an orders.attribution.v1 event states; None for a type that changes nothing here."""
    data = event.data
    try:
        if event.type == "order.attributed":
            return Attributed(
                event.event_id,
                event.occurred_at,
                _text(data["member_id"]),
                str(data.get("via") or ""),
                _text(data["model"]),
                data.get("touchpoint_id"),
            )
        if event.type == "order.attribution_voided":
            return Voided(
                event.event_id,
                event.occurred_at,
                _text(data["member_id"]),
                data.get("model"),
                data.get("touchpoint_id"),
                data.get("reason"),
            )
    except (KeyError, ValueError, TypeError) as exc:
        raise _malformed(event, exc) from exc
    return None


def _refunded(event: Envelope) -> Refunded:
    """`order.refunded` (CONTRACTS §8): amounts are decimal strings, `full` a bool."""
    data = event.data
    amounts = {k: _money(data[k], k) for k in ("refund_amount", "refunded_total", "order_amount")}
    if not isinstance(data["full"], bool):
        raise ValueError(f"full: expected a bool, got {data['full']!r}")
    return Refunded(
        event.event_id,
        event.occurred_at,
        currency=_text(data["currency"]),
        full=data["full"],
        **amounts,
    )


def _money(value: Any, name: str) -> Decimal:
    amount = Decimal(str(value)) if isinstance(value, str | int) else None
    if amount is None or not amount.is_finite() or amount < 0:
        raise ValueError(f"{name}: expected a decimal string >= 0, got {value!r}")
    return amount


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a non-empty string, got {value!r}")
    return value


def _malformed(event: Envelope, exc: Exception) -> Rejected:
    return Rejected(f"data: malformed {event.type} ({type(exc).__name__}: {exc})", "invalid_event")


def _summary(data: dict[str, Any]) -> OrderSummary:
    amount = data.get("amount")
    return OrderSummary(
        amount=None if amount is None else Decimal(str(amount)),
        currency=data.get("currency"),
        offer_id=data.get("offer_id"),
        items=tuple(
            Item(str(i["sku"]), i.get("category"), i.get("offer_id"))
            for i in data.get("items") or []
        ),
    )


def reward_envelope(
    reward: RewardGrant, tenant: str, order_id: str, correlation_id: str
) -> Envelope:
    data: dict[str, Any] = {
        "reward_id": reward.reward_id,
        "member_id": reward.member_id,
        "challenge_id": reward.challenge_id,
        "points": reward.points,
    }
    if reward.badge is not None:
        data["badge"] = reward.badge
    return new_event(
        type=REWARD_GRANTED,
        tenant=tenant,
        order_id=order_id,
        occurred_at=reward.occurred_at,
        causation_id=reward.cause,
        correlation_id=correlation_id,
        data=data,
        discriminator=reward.reward_id,
    )


def entry_envelope(entry: LedgerEntry, tenant: str, order_id: str, correlation_id: str) -> Envelope:
    return new_event(
        type=entry.kind.event_type,
        tenant=tenant,
        order_id=order_id,
        occurred_at=entry.occurred_at,
        causation_id=entry.cause,
        correlation_id=correlation_id,
        data={
            "entry_id": entry.entry_id,
            "member_id": entry.member_id,
            "amount": format(entry.amount, "f"),
            "currency": entry.currency,
            "reason": entry.reason,
        },
        discriminator=entry.entry_id,
    )


def member_key(order: CountedOrder) -> bytes:
    """Member facts are keyed `<tenant>:<member_id>`: one partition owns each member."""
    return record_key(order.tenant, order.member_id)


def counted_envelope(order: CountedOrder, correlation_id: str) -> Envelope:
    """The member fact: its id is what it is (tenant, member, order), whatever caused it."""
    event = new_event(
        type=ORDER_COUNTED,
        tenant=order.tenant,
        order_id=order.order_id,
        occurred_at=order.confirmed_at,
        causation_id=order.cause,
        correlation_id=correlation_id,
        data={
            "member_id": order.member_id,
            "amount": None if order.amount is None else format(order.amount, "f"),
            "currency": order.currency,
            "offer_id": order.offer_id,
            "item_offers": sorted(order.item_offers),
            "item_categories": sorted(order.item_categories),
        },
    )
    event_id = stable_id("member-order", order.tenant, order.member_id, order.order_id)
    return event.model_copy(update={"event_id": event_id})


def counted_fact(event: Envelope) -> CountedOrder:
    """The counted order a member fact states."""
    data = event.data
    try:
        if event.type != ORDER_COUNTED or event.order_id is None:
            raise ValueError(f"not a member fact: {event.type}")
        amount = data.get("amount")
        return CountedOrder(
            tenant=event.tenant,
            member_id=_text(data["member_id"]),
            order_id=event.order_id,
            confirmed_at=event.occurred_at,
            amount=None if amount is None else Decimal(str(amount)),
            currency=data.get("currency"),
            offer_id=data.get("offer_id"),
            item_offers=frozenset(str(o) for o in data.get("item_offers") or []),
            item_categories=frozenset(str(c) for c in data.get("item_categories") or []),
            cause=event.causation_id,
        )
    except (KeyError, ValueError, TypeError, InvalidOperation) as exc:
        raise _malformed(event, exc) from exc
