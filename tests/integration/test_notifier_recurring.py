"""The notifier reads recurring.v1: a tenant rule on `recurring_order.status_changed` with
`when: {status: [failed]}` tells the initial order's customer when the plan failed, and
no other status change (handler layer, real connection)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from functools import partial
from pathlib import Path

import asyncpg
import pytest

from orderflow.services.notifier import handlers
from orderflow.services.status_tracker.recurring import decide
from orderflow.services.status_tracker.recurring_messages import outgoing
from orderflow.services.status_tracker.recurring_schedule import Interval
from orderflow.services.status_tracker.recurring_state import (
    ChargeDue,
    ChargeFailed,
    InitialPaid,
    Policy,
    RecurringOrder,
    Terms,
)
from orderflow.shared import topics
from orderflow.shared.envelope import Envelope
from orderflow.shared.tenants import load_tenants
from tests.batch_support import connect_service, records
from tests.harness import tenant_env
from tests.notifier_support import START, reported

pytestmark = pytest.mark.integration
TENANT = """\
tenant: store
status_profile: store
api_keys: ['${STORE_KEY}']
notifications:
  rules:
    - {on: recurring_order.status_changed, when: {status: [failed]}, to: [customer],
       channels: [in_app]}
"""


@pytest.fixture
async def conn(stack_env: dict[str, str]) -> AsyncIterator[asyncpg.Connection]:
    connection = await connect_service(stack_env, "notifier")
    try:
        yield connection
    finally:
        await connection.close()


def plan_that_fails() -> list[Envelope]:
    """The tracker's own events of a plan whose first charge fails (no retries)."""
    terms = Terms("o-1", Interval.parse("1d"), None, None, None, customer_id="c-1")
    order = RecurringOrder("store", "sub-1", terms, "chain")
    events: list[Envelope] = []
    day = START + timedelta(days=1)
    for fact in (InitialPaid(START), ChargeDue(day), ChargeFailed(2, day)):
        decision = decide(order, fact, Policy(()))
        order = decision.order
        events += [e for _, e, _ in outgoing(decision, f"cause-{len(events)}", START)]
    return events


async def test_a_rule_on_a_failed_recurring_order_tells_its_customer(
    conn: asyncpg.Connection, tmp_path: Path
) -> None:
    (tmp_path / "store.yaml").write_text(TENANT)
    tenants = load_tenants(tmp_path, env=tenant_env())
    contact = reported("o-1", "c-1")
    async with conn.transaction():
        await handlers.on_order_reported(conn, records(topics.ORDER_REPORTS,
                                                       [(b"store:o-1", contact.to_bytes())]))  # fmt: skip
    events = plan_that_fails()
    assert [e.data.get("status") for e in events if "status" in e.data] == [
        "active", "processing", "failed",
    ]  # fmt: skip
    wire: list[tuple[bytes | None, bytes]] = [(b"store:sub-1", e.to_bytes()) for e in events]
    async with conn.transaction():
        await partial(handlers.on_event, tenants=tenants)(conn, records(topics.RECURRING, wire))
    rows = await conn.fetch("SELECT role, recipient_id, channel, template FROM notifications")
    assert [tuple(r) for r in rows] == [
        ("customer", "c-1", "in_app", "recurring_order.status_changed.failed")
    ]
