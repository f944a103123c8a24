"""The declarations a service's `events.py` makes: the event types it writes, per topic.

Plain data with a pydantic model of each event's `data`; `shared/asyncapi.py` renders them
as the AsyncAPI document and the tests validate every service's real events against them.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from orderflow.shared.envelope import Envelope
from orderflow.shared.topics import dead_letter_topic

ORDER_KEY = "<tenant>:<order_id>"


def _open(schema: dict[str, Any]) -> None:
    schema.pop("additionalProperties", None)


class EventData(BaseModel):
    """Base of every event's `data` model, and of the models inside one.

    Validation forbids fields the model does not name, so the tests catch an event that
    carries a field nobody declared; the document does not, since CONTRACTS allows fields
    to be added within a version and a reader must ignore what it does not know.
    """

    model_config = ConfigDict(extra="forbid", json_schema_extra=_open)


@dataclass(frozen=True)
class EventType:
    """One event type: its name (`order.confirmed`), what it means, the model of its `data`."""

    name: str
    description: str
    data: type[BaseModel]

    @cached_property
    def envelope(self) -> type[Envelope]:
        """The §5 envelope with this `type`, this `schema` and this `data`."""
        model: type[Envelope] = create_model(
            _camel(self.name),
            __base__=Envelope,
            __doc__=self.description,
            type=(_const(self.name), Field(description="Past-tense event type")),
            schema_=(_const(f"orderflow.{self.name}/1"), Field(alias="schema")),
            data=(self.data, Field(description=" ".join((self.data.__doc__ or "").split()))),
        )
        return model


@dataclass(frozen=True)
class Output:
    """A topic a service writes (through its outbox), the events on it and their key."""

    topic: str
    description: str
    events: tuple[EventType, ...]
    key: str = ORDER_KEY


@dataclass(frozen=True)
class Inbound:
    """A public inbound topic: its records are the upstream's own JSON, not an envelope."""

    model: type[BaseModel]
    key: str


@dataclass(frozen=True)
class ServiceEvents:
    """What one service reads (topic -> why) and writes; `inbound` for non-envelope topics."""

    service: str
    reads: Mapping[str, str]
    writes: tuple[Output, ...]
    inbound: Mapping[str, Inbound] = field(default_factory=dict)

    def written(self) -> list[str]:
        """The topics it writes: what its app.py gives `Components.topics` to create."""
        return [out.topic for out in self.writes]

    def outputs(self) -> tuple[Output, ...]:
        """What it writes, and its dead-letter topic (the consumer runner writes that)."""
        return (*self.writes, dead_letter_output(self.service))

    def types(self) -> dict[str, EventType]:
        return {e.name: e for out in self.writes for e in out.events}


class DeadLetterData(EventData):
    """A record the service can never process (CONTRACTS §5 `dead_letter`)."""

    topic: str = Field(description="Topic the record was read from", examples=["ingest.reports.v1"])
    partition: int = Field(description="Its partition", examples=[3])
    offset: int = Field(description="Its offset", examples=[1042])
    key: str = Field(description="Its key, UTF-8 (invalid bytes replaced)", examples=["acme:1001"])
    value: str | None = Field(
        None, description="Its raw value, base64; absent when stored aside (value_ref)",
        examples=["eyJ0ZW5hbnQiOiAiYWNtZSJ9"],
    )  # fmt: skip
    value_ref: str | None = Field(
        None, description="A value too large to travel here: where the service keeps it whole",
        examples=["dead_letter_values/9f86d081…"],
    )  # fmt: skip
    value_sha256: str | None = Field(None, description="With value_ref: the value's SHA-256")
    value_size: int | None = Field(None, description="With value_ref: its size in bytes")
    value_prefix: str | None = Field(None, description="With value_ref: its first KiB, base64")
    error_type: str = Field(description="Reason code", examples=["invalid_report"])
    error: str = Field(description="What was wrong with it", examples=["status: field required"])
    attempts: int = Field(description="How many times it was tried", examples=[1])
    first_failed_at: str = Field(description="When it first failed (RFC 3339)")


DEAD_LETTER = EventType("dead_letter", "A record dead-lettered with its reason", DeadLetterData)


def dead_letter_output(service: str) -> Output:
    """Every service's `<service>.dlq.v1`, written by the consumer runner."""
    return Output(
        dead_letter_topic(service),
        f"Records {service} can never process, each with its reason; the stream goes on",
        (DEAD_LETTER,),
        key="the dead record's own key",
    )


def _const(value: str) -> Any:
    """`Literal[value]` for a value known at run time: what the `type` discriminator needs."""
    return Literal[value]


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.replace(".", "_").split("_"))


def payload(topic: str, events: Iterable[EventType]) -> Any:
    """One record of `topic`: the envelope of one of its event types, picked by `type`."""
    models = [e.envelope for e in events]
    if len(models) == 1:
        return models[0]
    union = functools.reduce(operator.or_, models)
    return Annotated[union, Field(discriminator="type", title=topic)]
