"""attribution as a real process, SIGKILLed mid-transaction and restarted: nothing lost, nothing twice.

To crash at a known point, the test holds the lock of one order that the next batch needs
(the advisory lock every decision about that order takes), waits until the service is seen
blocked on it inside its transaction (the batch's inbox claims written, not committed), and
only then kills it.
"""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from orderflow.services.attribution import messages, store
from orderflow.services.attribution.domain import OrderAttribution, decide
from orderflow.shared import locks, topics
from orderflow.shared.envelope import Envelope
from orderflow.shared.supervisor import Supervisor
from tests.harness import TopicReader, blocked_on_lock, eventually, free_port, producer
from tests.integration.attribution_inputs import (
    publish,
    reported,
    touched,
    write_attribution_tenants,
)

pytestmark = pytest.mark.integration

T = datetime(2026, 3, 1, 12, tzinfo=UTC)
LOOKBACK = timedelta(days=30)  # the shop tenant's


def orders(first: int, last: int) -> list[Envelope]:
    """Even orders name a contributor; odd ones are credited by their customer's one touch."""
    inputs: list[Envelope] = []
    for n in range(first, last):
        order_id = f"k-{n:03d}"
        if n % 2 == 0:
            inputs.append(reported(order_id, "Pending", T, contributors=[(f"m-{n}", "coupon")]))
        else:
            inputs.append(touched(f"tp-{n}", f"aff-{n}", f"c-{n}", T - timedelta(hours=n)))
            inputs.append(reported(order_id, "Pending", T, customer=f"c-{n}"))
    return inputs


def expected_ids(inputs: list[Envelope]) -> set[str]:
    """What the pure domain decides for these inputs (each order's outcome does not depend
    on how its reports and its one touch interleave)."""
    touches = [messages.touch_from(e) for e in inputs if e.type == "touchpoint.recorded"]
    states: dict[str, OrderAttribution] = {}
    ids: set[str] = set()
    for event in inputs:
        if event.type != "order.reported" or event.order_id is None:
            continue
        state = states.get(event.order_id, OrderAttribution(event.order_id))
        decision = decide(state, messages.reported_from(event), touches, LOOKBACK)
        states[event.order_id] = decision.state
        ids |= {messages.event_id("shop", event.order_id, e.discriminator) for e in decision.events}
    return ids


async def test_sigkill_mid_transaction_loses_and_duplicates_no_credit(
    stack_env: dict[str, str], tmp_path: Path, supervisor: Supervisor, db: asyncpg.Connection
) -> None:
    port = free_port()
    env = {
        **stack_env,
        "ORDERFLOW_TENANTS_DIR": str(write_attribution_tenants(tmp_path / "tenants")),
        "ORDERFLOW_HTTP_PORT": str(port),
    }
    ready = f"http://127.0.0.1:{port}/readyz"
    block = [
        reported("o-block", "Pending", T, contributors=[("m-first", "coupon")]),
        reported("o-block", "Pending", T + timedelta(hours=1), contributors=[("m-late", "coupon")]),
    ]
    before, after = [block[0], *orders(0, 60)], [block[1], *orders(60, 200)]
    expected = expected_ids([*before, *after])
    supervisor.start("attribution", "orderflow.services.attribution", env)
    async with (
        producer(stack_env) as send,
        TopicReader(stack_env, topics.ORDERS_ATTRIBUTION) as out,
    ):
        await supervisor.wait_ready({"attribution": ready})
        await publish(send, *before)
        await out.read_until(lambda es: len({e.event_id for e in es}) >= 61, timeout=90)

        held = db.transaction()
        await held.start()
        await locks.take(db, store.order_locks([("shop", "o-block")]))
        await publish(send, *after)
        await eventually(
            lambda: blocked_on_lock(db, "orderflow_attribution", db.get_server_pid()),
            "a blocked batch",
        )
        supervisor.kill("attribution", signal.SIGKILL)
        await asyncio.to_thread(supervisor.stop, "attribution")  # reaps the killed process
        await held.rollback()
        seen_at_kill = {e.event_id for e in out.envelopes()}

        await asyncio.to_thread(supervisor.restart, "attribution")
        await supervisor.wait_ready({"attribution": ready})
        await out.read_until(lambda es: {e.event_id for e in es} >= expected, timeout=120)
        events = await out.settle(3.0)

    distinct = {e.event_id for e in events}
    assert seen_at_kill < expected, "the kill came mid-stream"
    assert distinct == expected, "no credit lost, none under a second id"
    by_id = {e.event_id: e.data for e in events}
    assert all(e.data == by_id[e.event_id] for e in events), "a repeat is the same event"
