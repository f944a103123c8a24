"""The outbox relay on the real broker: order, acknowledgement before marking, parking."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from orderflow.shared import outbox
from orderflow.shared.envelope import Envelope
from orderflow.shared.provision import role_name
from tests.harness import TopicReader, blocked_on_lock, eventually
from tests.relay_support import connect as _connect
from tests.relay_support import event as _event
from tests.relay_support import ingest_relay

pytestmark = pytest.mark.integration
TOPIC = "orders.lifecycle.v1"


async def test_a_refused_row_is_parked_and_holds_back_its_key_until_released(
    stack_env: dict[str, str],
) -> None:
    async with ingest_relay(stack_env) as (conn, relay):
        await outbox.enqueue(conn, TOPIC, _event("o-1", 1))
        # over the record limit: no retry can publish it as it is
        await outbox.enqueue(conn, TOPIC, _event("o-1", 2, padding=2 * 1024 * 1024))
        await outbox.enqueue(conn, TOPIC, _event("o-1", 3))
        await outbox.enqueue(conn, TOPIC, _event("o-2", 1))
        published = await relay.publish_once(conn)
        again = await relay.publish_once(conn)
        rows = await conn.fetch("SELECT sent_at, parked_at, error FROM outbox ORDER BY id")
        assert await outbox.backlog(conn) == (1, 1), "o-1's third event waits, one is parked"
        # The operator fixes the cause (here: the row becomes publishable) and releases it.
        await conn.execute(
            "UPDATE outbox SET value = $1 WHERE parked_at IS NOT NULL",
            _event("o-1", 2).to_bytes(),
        )
        released = await outbox.release(conn)
        after_release = await relay.publish_once(conn)
    async with TopicReader(stack_env, TOPIC) as reader:
        events = await reader.read_until(lambda es: len(es) >= 4)
        events = await reader.settle(1.0)
    assert (published, again, released, after_release) == (2, 0, 1, 2)
    assert rows[0]["sent_at"] and rows[3]["sent_at"], "other keys are not held back"
    assert rows[1]["parked_at"] is not None and "TooLarge" in rows[1]["error"]
    assert rows[2]["sent_at"] is None and rows[2]["parked_at"] is None, "held, not parked"
    assert [e.data["n"] for e in events if e.order_id == "o-1"] == [1, 2, 3], "key order kept"


async def test_resend_republishes_rows_sent_since_a_time_in_their_order(
    stack_env: dict[str, str],
) -> None:
    async with ingest_relay(stack_env) as (conn, relay):
        await outbox.enqueue(conn, TOPIC, _event("o-1", 1))
        await relay.publish_once(conn)
        since = await conn.fetchval("SELECT now()")
        for n in (2, 3):
            await outbox.enqueue(conn, TOPIC, _event("o-1", n))
        await relay.publish_once(conn)
        resent = await outbox.resend(conn, since)
        republished = await relay.publish_once(conn)
    async with TopicReader(stack_env, TOPIC) as reader:
        events = await reader.read_until(lambda es: len(es) >= 5)
        events = await reader.settle(1.0)
    assert (resent, republished) == (2, 2)
    assert [e.data["n"] for e in events] == [1, 2, 3, 2, 3], "same rows, same event ids, in order"
    assert len({e.event_id for e in events}) == 3


async def test_a_resend_waits_for_the_batch_in_flight_and_queues_it_again(
    stack_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch sent just before a broker's loss may be acknowledged, and marked sent, only
    after the operator's resend ran; the resend waits for that mark, so the batch goes again."""
    async with ingest_relay(stack_env) as (conn, relay):
        since = await conn.fetchval("SELECT now()")
        for n in (1, 2):
            await outbox.enqueue(conn, TOPIC, _event("o-1", n))
        in_flight, acknowledged = asyncio.Event(), asyncio.Event()
        send = relay.sender.send

        async def held(batch: Any, topic: str, partition: int) -> asyncio.Future[object]:
            in_flight.set()
            await acknowledged.wait()
            return await send(batch, topic, partition)

        monkeypatch.setattr(relay.sender, "send", held)
        publishing = asyncio.create_task(relay.publish_once(conn))
        await asyncio.wait_for(in_flight.wait(), 10)
        operator, watcher = await _connect(stack_env), await _connect(stack_env)
        try:
            resending = asyncio.create_task(outbox.resend(operator, since))
            relay_pid = conn.get_server_pid()
            await eventually(
                lambda: blocked_on_lock(watcher, role_name("ingest"), relay_pid),
                "the resend to wait for the batch in flight",
                10,
            )
            acknowledged.set()
            published, resent = await publishing, await resending
            republished = await relay.publish_once(conn)
        finally:
            await operator.close()
            await watcher.close()
    async with TopicReader(stack_env, TOPIC) as reader:
        events = await reader.read_until(lambda es: len(es) >= 4)
        events = await reader.settle(1.0)
    assert (published, resent, republished) == (2, 2, 2), "marked, then queued again, then sent"
    assert [e.data["n"] for e in events] == [1, 2, 1, 2]


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from orderflow.shared.cli import main; main()", *args],
        env={**os.environ, "DATABASE_URL": env["DATABASE_URL"]},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_the_cli_releases_parked_rows_and_resends_sent_ones(
    stack_env: dict[str, str],
) -> None:
    conn = await _connect(stack_env)
    try:
        await outbox.enqueue(conn, TOPIC, _event("o-1", 1))
        await outbox.enqueue(conn, TOPIC, _event("o-1", 2))
        await conn.execute("UPDATE outbox SET sent_at = now() - interval '1 hour' WHERE id = 1")
        await outbox.park(conn, 2, "MessageSizeTooLargeError: too large")
        since = datetime.now(UTC) - timedelta(hours=2)
        released = await asyncio.to_thread(
            _cli, stack_env, "outbox", "release", "--service", "ingest"
        )
        resent = await asyncio.to_thread(
            _cli, stack_env, "outbox", "resend", "--since", since.isoformat(), "--service", "ingest"
        )
        unknown = await asyncio.to_thread(_cli, stack_env, "outbox", "release", "--service", "nope")
        assert await outbox.backlog(conn) == (2, 0)
    finally:
        await conn.close()
    assert released.returncode == 0 and "ingest: released 1 parked row(s)" in released.stdout
    assert resent.returncode == 0 and "ingest: 1 row(s) sent since" in resent.stdout
    assert unknown.returncode == 2 and "unknown service(s) nope" in unknown.stdout


async def test_each_record_carries_its_event_id_and_the_trace_context_of_its_cause(
    stack_env: dict[str, str],
) -> None:
    """CONTRACTS §5: correlation_id = event_id; traceparent/tracestate as stored with the row."""
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    traced, untraced = _event("o-t", 1), _event("o-u", 1)
    async with ingest_relay(stack_env) as (conn, relay):
        await outbox.enqueue(conn, TOPIC, untraced)
        await outbox.enqueue(conn, TOPIC, traced)
        await conn.execute(
            "UPDATE outbox SET headers = $1 WHERE event_id = $2",
            json.dumps({"traceparent": parent, "tracestate": "vendor=1", "baggage": "k=v"}),
            traced.event_id,
        )
        assert await relay.publish_once(conn) == 2
    async with TopicReader(stack_env, TOPIC) as reader:
        await reader.read_until(lambda es: {traced.event_id, untraced.event_id} <= _ids(es))
        by_event = {
            Envelope.from_bytes(v).event_id: h
            for (_, v), h in zip(reader.records, reader.headers, strict=True)
        }
    assert by_event[traced.event_id] == {
        "content-type": b"",
        "correlation_id": traced.event_id.encode(),
        "traceparent": parent.encode(),
        "tracestate": b"vendor=1",
    }, "no SDK installed: the cause's context unchanged, as FastStream's middleware sent it"
    assert by_event[untraced.event_id] == {
        "content-type": b"",
        "correlation_id": untraced.event_id.encode(),
    }


def _ids(events: list[Envelope]) -> set[str]:
    return {e.event_id for e in events}
