"""docs/asyncapi.yaml is what the services declare, and it says what the wire carries."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import jsonschema
import pytest
import yaml
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from orderflow.shared import asyncapi
from orderflow.shared.envelope import new_event
from orderflow.shared.event_types import EventData, EventType, Output, ServiceEvents, payload

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2026, 3, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def services() -> list[ServiceEvents]:
    return asyncapi.declared_services()


@pytest.fixture(scope="module")
def doc(services: list[ServiceEvents]) -> dict[str, Any]:
    return asyncapi.document(services)


def test_committed_document_is_the_generated_one(services: list[ServiceEvents]) -> None:
    committed = (ROOT / asyncapi.DOCUMENT).read_text()
    assert committed == asyncapi.render(services), "docs/asyncapi.yaml is stale: run `make docs`"


def test_document_is_asyncapi_3_and_parses_as_yaml(services: list[ServiceEvents]) -> None:
    parsed = yaml.safe_load(asyncapi.render(services))
    assert parsed["asyncapi"] == "3.0.0"
    assert parsed["servers"]["development"]["protocol"] == "kafka"


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    node: Any = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[unquote(part).replace("~1", "/").replace("~0", "~")]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def test_every_reference_resolves(doc: dict[str, Any]) -> None:
    refs = _refs(doc)
    assert len(refs) > 100
    for ref in refs:
        assert _resolve(doc, ref) is not None, ref


def test_the_document_validates_against_the_official_asyncapi_3_schema(
    doc: dict[str, Any],
) -> None:
    schema = json.loads(
        (Path(__file__).parents[1] / "fixtures" / "asyncapi-3.0.0.schema.json").read_text()
    )
    errors = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(doc)]
    assert errors == []


def test_every_id_is_a_valid_asyncapi_id(doc: dict[str, Any]) -> None:
    valid = re.compile(r"^[A-Za-z0-9_\-]+$")
    ids = [*doc["channels"], *doc["operations"]]
    ids += [m for c in doc["channels"].values() for m in c["messages"]]
    ids += [k for kind in doc["components"].values() for k in kind]
    assert [i for i in ids if not valid.match(i)] == []


def _operations(doc: dict[str, Any], action: str) -> set[tuple[str, str]]:
    """(service, topic) of every operation with this action."""
    found = set()
    for name, operation in doc["operations"].items():
        if operation["action"] == action:
            channel = _resolve(doc, operation["channel"]["$ref"])
            found.add((name.split("_", 1)[0], channel["address"]))
    return found


def test_each_declared_read_and_write_is_an_operation(
    doc: dict[str, Any], services: list[ServiceEvents]
) -> None:
    reads = {(s.service, topic) for s in services for topic in s.reads}
    writes = {(s.service, out.topic) for s in services for out in s.writes}
    dead_letters = {(s.service, f"{s.service}.dlq.v1") for s in services}
    assert _operations(doc, "receive") == reads
    assert _operations(doc, "send") == writes | dead_letters


def _payload(doc: dict[str, Any], operation: str) -> Any:
    message = _resolve(doc, doc["operations"][operation]["messages"][0]["$ref"])
    return _resolve(doc, _resolve(doc, message["$ref"])["payload"]["$ref"])


def test_a_topic_reads_as_it_is_written(doc: dict[str, Any]) -> None:
    written = _payload(doc, asyncapi.identifier("status-tracker:writes:orders.lifecycle.v1"))
    for reader in ("attribution", "rewards", "notifier"):
        assert _payload(doc, asyncapi.identifier(f"{reader}:reads:orders.lifecycle.v1")) == written
    types = [_resolve(doc, one["$ref"])["properties"]["type"]["const"] for one in written["oneOf"]]
    assert types[:4] == [
        "order.status_changed",
        "order.confirmed",
        "order.reversed",
        "order.expired",
    ]
    assert {"order.payment_recorded", "order.refunded"} <= set(types)
    assert "order.note_added" in types


def test_an_event_schema_is_the_envelope_with_its_type_and_data(doc: dict[str, Any]) -> None:
    confirmed = doc["components"]["schemas"]["OrderConfirmed"]
    assert confirmed["properties"]["type"]["const"] == "order.confirmed"
    assert confirmed["properties"]["schema"]["const"] == "orderflow.order.confirmed/1"
    assert confirmed["properties"]["data"]["$ref"] == "#/components/schemas/LifecycleData"
    assert {"event_id", "causation_id", "correlation_id", "produced_at"} <= set(
        confirmed["required"]
    )
    data = doc["components"]["schemas"]["LifecycleData"]
    assert data["properties"]["has_ok"]["type"] == "boolean"
    assert "additionalProperties" not in data  # CONTRACTS: fields may be added


def test_messages_name_their_key_and_where_the_correlation_id_is(doc: dict[str, Any]) -> None:
    messages = doc["components"]["messages"]
    touchpoints = messages[asyncapi.identifier("ingest:writes:ingest.touchpoints.v1:Message")]
    assert touchpoints["bindings"]["kafka"]["key"]["description"] == "<tenant>:<customer_id>"
    assert touchpoints["correlationId"]["location"] == "$message.payload#/correlation_id"
    inbound = messages[asyncapi.identifier("ingest:reads:orders.inbound.v1:SubscribeMessage")]
    assert inbound["bindings"]["kafka"]["key"]["description"] == "<tenant>:<order_id>"
    assert "correlationId" not in inbound  # an upstream report is not an envelope


class PingData(EventData):
    """A test event's data."""

    n: int = Field(description="A number")


def test_envelope_model_accepts_its_own_events_only() -> None:
    ping, pong = EventType("ping.sent", "ping", PingData), EventType("pong.sent", "pong", PingData)
    record = TypeAdapter(payload("t.v1", [ping, pong]))
    event = new_event(
        type="ping.sent", tenant="acme", order_id="1", occurred_at=AT, causation_id="c",
        correlation_id="c", data={"n": 1},
    )  # fmt: skip
    assert record.validate_json(event.to_bytes()).type == "ping.sent"
    other = event.model_copy(update={"type": "other.sent"})
    with pytest.raises(ValidationError):
        record.validate_json(other.to_bytes())
    undeclared = event.model_copy(update={"data": {"n": 1, "extra": True}})
    with pytest.raises(ValidationError):
        record.validate_json(undeclared.to_bytes())


def _service(
    name: str, data: type[BaseModel], reads: dict[str, str] | None = None
) -> ServiceEvents:
    event = EventType(f"{name}.happened", "it happened", data)
    return ServiceEvents(name, reads or {}, (Output(f"{name}.v1", "out", (event,)),))


def test_two_schemas_with_one_name_are_refused() -> None:
    class Same(EventData):
        a: int

    first = Same

    class Same(EventData):  # type: ignore[no-redef]
        b: str

    with pytest.raises(ValueError, match="two different schemas are named 'Same'"):
        asyncapi.document([_service("one", first), _service("two", Same)])


def test_reading_a_topic_nobody_writes_is_refused() -> None:
    with pytest.raises(ValueError, match=r"nowhere\.v1"):
        asyncapi.document([_service("one", PingData, reads={"nowhere.v1": "?"})])
