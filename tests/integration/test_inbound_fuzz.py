"""Raw inbound records on the Kafka path, fuzzed (issue 9 item 3): each record is processed
or dead-lettered with a reason, and its partition goes on.

Hypothesis draws rounds of records for `orders.inbound.v1`, `touchpoints.inbound.v1` and
`payments.inbound.v1`:
arbitrary bytes, any JSON value, JSON nested far too deep, integer literals too long to
parse, invalid UTF-8, and reports or touchpoints with their fields broken one or two at a
time (wrong types, missing fields, instants outside the window, huge amounts, unknown
currencies, deep metadata, NUL, unknown tenants, keys that disagree). Every record of a
round goes to partition 0, then one good record: a real broker, ingest in-process. When the
good record's event appears, every record before it must be accounted for: a valid one
stored (its event is there, or an earlier one of the same identity), an invalid one
dead-lettered once at its offset with a reason. What is valid is what the pure parser says,
so a record that made ingest fail in some other way shows up as a mismatch.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from orderflow.services.ingest.payments import parse_payment_record, payment_uuid
from orderflow.services.ingest.reports import (
    ReportRejected,
    parse_report_record,
    parse_touchpoint_record,
    report_uuid,
    touchpoint_uuid,
)
from orderflow.shared import topics
from orderflow.shared.envelope import Envelope
from tests.harness import TENANTS_YAML, TopicReader, kafka_settings, running, write_tenants

pytestmark = pytest.mark.integration

Raw = tuple[str, bytes | None, bytes]  # (logical topic, key, value)
ROUNDS, RECORDS_PER_ROUND = 4, 30
# What a record that can never succeed is dead-lettered as; anything else (an unexpected
# error dead-lettered after its retries) means ingest failed on a record it should judge.
REASONS = {"invalid_report", "invalid_touchpoint", "invalid_payment", "unknown_tenant"}
AT = "2026-11-01T10:00:00Z"
REPORT = {"tenant": "shop", "order_id": "o-1", "status": "OK", "occurred_at": AT}
TOUCHPOINT = {
    "tenant": "shop",
    "touchpoint_id": "tp-1",
    "member_id": "m-1",
    "kind": "click",
    "customer_id": "c-1",
    "occurred_at": AT,
}
PAYMENT = {
    "tenant": "shop",
    "order_id": "o-1",
    "payment_id": "inv-1",
    "status": "succeeded",
    "occurred_at": AT,
    "amount": "12.50",
    "currency": "EUR",
    "payment_system": "acme-pay",
}
INBOUND = [topics.ORDERS_INBOUND, topics.TOUCHPOINTS_INBOUND, topics.PAYMENTS_INBOUND]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)
BROKEN_VALUES = st.sampled_from(
    [
        "0001-01-01T00:00:00Z",
        "9999-12-31T23:59:59Z",
        "1999-12-31T23:59:59Z",
        "2026-11-01T10:00:00",
        "1" + "0" * 30,
        "1e3",
        "NaN",
        -1,
        "",
        "ZZZ",
        "XXX",
        "a\u0000b",
        "\udc00",
        "unknown-tenant",
    ]
)


def nested(levels: int, leaf: object = 1) -> object:
    value = leaf
    for index in range(levels):
        value = {"n": value} if index % 2 else [value]
    return value


@st.composite
def bodies(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """`base` with a few fields broken, or extra ones added; sometimes left valid."""
    body = dict(base)
    identity = {id(REPORT): "order_id", id(PAYMENT): "payment_id"}.get(id(base), "touchpoint_id")
    body[identity] = draw(st.sampled_from(["o-1", "o-2", "tp-1", "tp-2"]))  # repeats: duplicates
    fields = [*base, "amount", "currency", "metadata", "items", "payment", "extra"]
    if base is PAYMENT:
        fields += ["fee", "share_percent", "refunded_amount", "error_code", "comment", "one_click"]
    for _ in range(draw(st.integers(0, 2))):
        field = draw(st.sampled_from(fields))
        change = draw(st.integers(0, 3))
        if change == 0:
            body.pop(field, None)
        elif change == 1:
            body[field] = draw(BROKEN_VALUES)
        elif change == 2:
            body[field] = draw(JSON)
        else:
            body[field] = nested(draw(st.integers(25, 260)))
    if base is REPORT and draw(st.booleans()):
        body.update(amount=draw(st.sampled_from(["12.50", "1" + "0" * 16, "0.001"])))
        body.update(currency=draw(st.sampled_from(["EUR", "JPY", "ZZZ"])))
    if draw(st.booleans()):
        body["tenant"] = draw(st.sampled_from(["shop", "store", "other", "nobody"]))
    return body


def key_of(body: dict[str, Any], id_field: str) -> bytes | None:
    # surrogatepass: a lone surrogate in the body makes a key that is not UTF-8, a poison too
    return f"{body.get('tenant')}:{body.get(id_field)}".encode("utf-8", "surrogatepass")


@st.composite
def records(draw: st.DrawFn) -> Raw:
    topic = draw(st.sampled_from(INBOUND))
    base, id_field = {
        topics.ORDERS_INBOUND: (REPORT, "order_id"),
        topics.TOUCHPOINTS_INBOUND: (TOUCHPOINT, "customer_id"),
        topics.PAYMENTS_INBOUND: (PAYMENT, "order_id"),
    }[topic]
    shape = draw(st.sampled_from([0, 1, 2, 3, 4, 5] + [6] * 10))  # mostly reports, some valid
    if shape == 0:
        return topic, draw(st.none() | st.binary(max_size=8)), draw(st.binary(max_size=64))
    if shape == 1:
        return topic, b"shop:o-1", json.dumps(draw(JSON)).encode()
    if shape == 2:
        depth = draw(st.integers(100, 3000))
        return topic, b"shop:o-1", b"[" * depth + b"]" * depth
    if shape == 3:
        digits = draw(st.integers(4000, 6000))
        return topic, b"shop:o-1", b'{"tenant": "shop", "order_id": ' + b"7" * digits + b"}"
    body = draw(bodies(base))
    value = json.dumps(body).encode()
    if shape == 4:
        value = value[:-1] + b"\xff}"  # not UTF-8
    key = key_of(body, id_field)
    if shape == 5:
        key = draw(st.sampled_from([None, b"shop", b"shop:other-id", b"nobody:o-1"]))
    return topic, key, value


def accepted(topic: str, key: bytes | None, value: bytes) -> str | None:
    """The id ingest gives the record if it accepts it, None if it must dead-letter it."""
    try:
        if topic == topics.ORDERS_INBOUND:
            report = parse_report_record(key, value)
            return str(report_uuid(report)) if report.tenant in TENANTS_YAML else None
        if topic == topics.PAYMENTS_INBOUND:
            payment = parse_payment_record(key, value)
            return str(payment_uuid(payment)) if payment.tenant in TENANTS_YAML else None
        touchpoint = parse_touchpoint_record(key, value)
        return str(touchpoint_uuid(touchpoint)) if touchpoint.tenant in TENANTS_YAML else None
    except ReportRejected:
        return None


def draw_rounds() -> list[list[Raw]]:
    """Hypothesis draws the records (it cannot drive the broker round by round itself); one
    example per record, so they vary as much as separate examples do."""
    drawn: list[Raw] = []

    @settings(
        max_examples=ROUNDS * RECORDS_PER_ROUND,
        phases=[Phase.generate],
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(records())
    def collect(record: Raw) -> None:
        drawn.append(record)

    collect()
    return [drawn[n::ROUNDS] for n in range(ROUNDS)]


@pytest.fixture
def tenants_dir(tmp_path: Path) -> Path:
    return write_tenants(tmp_path / "tenants")


@pytest.fixture
async def send(stack_env: dict[str, str]) -> AsyncIterator[Callable[..., Any]]:
    kafka = kafka_settings(stack_env)
    client = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
    await client.start()

    async def to_partition_0(topic: str, key: bytes | None, value: bytes) -> int:
        sent = await client.send_and_wait(kafka.topic(topic), value, key=key, partition=0)
        return int(sent.offset)

    try:
        yield to_partition_0
    finally:
        await client.stop()


def good(topic: str, n: int) -> tuple[bytes, bytes, str]:
    if topic == topics.ORDERS_INBOUND:
        body = {**REPORT, "order_id": f"good-{n}"}
        key, value = f"shop:good-{n}".encode(), json.dumps(body).encode()
    elif topic == topics.PAYMENTS_INBOUND:
        body = {**PAYMENT, "payment_id": f"good-{n}"}
        key, value = b"shop:o-1", json.dumps(body).encode()
    else:
        body = {**TOUCHPOINT, "touchpoint_id": f"good-{n}"}
        key, value = b"shop:c-1", json.dumps(body).encode()
    ident = accepted(topic, key, value)
    assert ident is not None
    return key, value, ident


def ids_of(event: Envelope) -> str:
    reported = event.type in ("order.reported", "payment.reported")
    return str(event.data["report_id"]) if reported else event.causation_id


async def ids_on(env: dict[str, str], topic: str, until: str | None = None) -> set[str]:
    """The ids of the reports or touchpoints on an internal topic, once `until` is among them."""

    def has(events: list[Envelope]) -> bool:
        return until is not None and until in {ids_of(e) for e in events}

    async with TopicReader(env, topic) as reader:
        events = await reader.read_until(has, 60) if until else await reader.settle(1.0)
    return {ids_of(e) for e in events}


async def test_every_raw_record_is_processed_or_dead_lettered_and_the_partition_goes_on(
    stack_env: dict[str, str], tenants_dir: Path, send: Callable[..., Any]
) -> None:
    rounds = draw_rounds()
    outbound = {topics.ORDERS_INBOUND: topics.ORDER_REPORTS}
    outbound[topics.TOUCHPOINTS_INBOUND] = topics.TOUCHPOINTS_RECORDED
    outbound[topics.PAYMENTS_INBOUND] = topics.PAYMENT_REPORTS
    sent: list[tuple[str, int, str | None]] = []  # (topic, offset, id if accepted)
    async with running("ingest", stack_env, tenants_dir):
        for n, round_ in enumerate(rounds):
            for topic, key, value in round_:
                sent.append((topic, await send(topic, key, value), accepted(topic, key, value)))
            last: dict[str, str] = {}
            for topic in outbound:
                key, value, last[topic] = good(topic, n)
                sent.append((topic, await send(topic, key, value), last[topic]))
            for topic, out in outbound.items():  # each partition went on past the round
                found = await ids_on(stack_env, out, until=last[topic])
                assert last[topic] in found, f"{topic} stalled in round {n}"
        async with TopicReader(stack_env, topics.dead_letter_topic("ingest")) as dlq:
            rejected = sum(1 for *_, ident in sent if ident is None)
            dead = await dlq.read_until(lambda es: len(es) >= rejected, 60)
            dead = await dlq.settle(1.0)
        events = {topic: await ids_on(stack_env, out) for topic, out in outbound.items()}

    letters = {(d.data["topic"], d.data["offset"]): d.data for d in dead}
    assert len(letters) == len(dead), "one dead letter per record"
    for topic, offset, ident in sent:
        letter = letters.get((topic, offset))
        if ident is None:
            assert letter is not None, f"{topic}@{offset} neither processed nor dead-lettered"
            assert letter["error"] and letter["error_type"] in REASONS, letter
        else:
            assert letter is None, f"{topic}@{offset} is valid but was dead-lettered: {letter}"
            assert ident in events[topic], f"{topic}@{offset} was accepted but has no event"
    assert len(dead) == sum(1 for *_, ident in sent if ident is None)
