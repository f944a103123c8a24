"""The outbound envelope of CONTRACTS §5, and stable event ids.

An event id is a UUIDv5 of what caused the event, so a redelivered cause produces the
same id and every consumer's inbox can drop the repeat.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import to_json

from orderflow.shared.errors import Rejected
from orderflow.shared.ids import uuid5_text

EVENT_NAMESPACE = uuid.UUID("6f0b7c2e-3f0e-4d8a-9a51-0d6c1f7c9e11")


def stable_id(*parts: str) -> str:
    """A deterministic id from the parts that identify one effect."""
    return uuid5_text(EVENT_NAMESPACE, "\x1f".join(parts))


def utcnow() -> datetime:
    return datetime.now(UTC)


class Envelope(BaseModel):
    """Every record on an outbound (and internal) topic."""

    model_config = ConfigDict(populate_by_name=True, frozen=True)

    event_id: str = Field(description="Unique, stable across redelivery", examples=["0b6d…"])
    type: str = Field(description="Past-tense event type", examples=["order.confirmed"])
    tenant: str = Field(examples=["acme"])
    order_id: str | None = Field(None, examples=["1001"])
    occurred_at: datetime = Field(description="When the fact happened upstream")
    produced_at: datetime = Field(description="When orderflow decided it")
    causation_id: str = Field(description="event_id or report id that caused it")
    correlation_id: str = Field(description="id of the first inbound report of the chain")
    schema_: str = Field(alias="schema", examples=["orderflow.order.confirmed/1"])
    data: dict[str, Any] = Field(default_factory=dict)

    def to_bytes(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        return cls.model_validate_json(raw)


def new_event(
    *,
    type: str,
    tenant: str,
    order_id: str | None,
    occurred_at: datetime,
    causation_id: str,
    correlation_id: str,
    data: dict[str, Any],
    discriminator: str = "",
    produced_at: datetime | None = None,
) -> Envelope:
    """Build an envelope whose id is derived from its cause, type and discriminator.

    Built without validation (`model_construct`): every argument is already of its field's
    type (mypy --strict holds the callers to it), and validating a report's whole `data`
    again cost as much as the rest of the event. The bytes are those of `Envelope(...)`.
    """
    return Envelope.model_construct(
        event_id=stable_id(causation_id, type, discriminator),
        type=type,
        tenant=tenant,
        order_id=order_id,
        occurred_at=occurred_at,
        produced_at=produced_at or utcnow(),
        causation_id=causation_id,
        correlation_id=correlation_id,
        schema_=f"orderflow.{type}/1",
        data=data,
    )


@dataclass(frozen=True)
class EncodedEvent:
    """An envelope already serialised, with the fields the outbox reads (`encoded_event`)."""

    event_id: str
    type: str
    tenant: str
    order_id: str | None
    causation_id: str
    value: bytes

    def to_bytes(self) -> bytes:
        return self.value


OutgoingEvent = Envelope | EncodedEvent


def encoded_event(
    *,
    type: str,
    tenant: str,
    order_id: str | None,
    occurred_at: datetime,
    causation_id: str,
    correlation_id: str,
    data: bytes,
    produced_at: datetime,
    discriminator: str = "",
) -> EncodedEvent:
    """`new_event(...).to_bytes()` for a `data` already encoded as a JSON object: the bulk
    of an event is serialised once, straight from its model (ingest's `order.reported`).
    The bytes parse to the same Envelope as new_event's (`Envelope.from_bytes`)."""
    event_id = stable_id(causation_id, type, discriminator)
    head = {
        "event_id": event_id,
        "type": type,
        "tenant": tenant,
        "order_id": order_id,
        "occurred_at": occurred_at,
        "produced_at": produced_at,
        "causation_id": causation_id,
        "correlation_id": correlation_id,
        "schema": f"orderflow.{type}/1",
    }
    value = joined_objects(to_json(head), b'{"data":' + data + b"}")
    return EncodedEvent(event_id, type, tenant, order_id, causation_id, value)


def joined_objects(first: bytes, then: bytes) -> bytes:
    """Two encoded JSON objects with distinct keys as one: `{"a":1}` + `{"b":2}` ->
    `{"a":1,"b":2}` (pydantic cannot embed encoded JSON, so the braces meet here)."""
    if not (first.startswith(b"{") and first.endswith(b"}") and then.startswith(b"{")):
        raise ValueError("joined_objects takes two encoded JSON objects")
    if first == b"{}" or then == b"{}":
        return first if then == b"{}" else then
    return first[:-1] + b"," + then[1:]


def record_key(tenant: str, entity_id: str) -> bytes:
    """`<tenant>:<order_id>` (or `<tenant>:<member_id>`): one entity's records stay in order."""
    return f"{tenant}:{entity_id}".encode()


def parse_envelope(raw: bytes | None) -> Envelope:
    """A consumed record's envelope; one that is not an envelope can never succeed."""
    try:
        return Envelope.from_bytes(raw or b"")
    except ValidationError as exc:
        reason = f"not an orderflow envelope: {exc.errors()[0]['msg']}"
        raise Rejected(reason, "invalid_envelope") from exc
