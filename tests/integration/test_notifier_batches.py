"""The notifier's batch handlers on a real connection to its schema, without a broker.

A partition's batch, with redeliveries inside it and orders mixed, gives one notification
per (cause, recipient, channel) and leaves the same contacts, members, kept events and
notifications as the same records handled one at a time, in a fixed number of statements.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from orderflow.services.notifier import handlers
from orderflow.shared import topics
from orderflow.shared.envelope import Envelope, new_event
from orderflow.shared.errors import Rejected
from orderflow.shared.runner import Handler, Record
from orderflow.shared.tenants import TenantRegistry, load_tenants
from tests.batch_support import connect_service, counting, records
from tests.harness import tenant_env
from tests.notifier_support import START, member_event, order_event, reported, status_changed

pytestmark = pytest.mark.integration

TENANT = """\
tenant: store
status_profile: store
api_keys: ['${STORE_KEY}']
notifications:
  email: {from: "orders@store.test", merchant: "owner@store.test"}
  rules:
    - {on: order.status_changed, to: [customer, merchant], channels: [email, in_app]}
    - {on: order.confirmed, to: [member, merchant], channels: [in_app]}
    - {on: order.attribution_voided, to: [member], channels: [in_app]}
    - {on: reward.granted, to: [member], channels: [in_app]}
"""
TABLES = {
    "notifications": "notification_id, cause_event_id, role, recipient_id, channel, template",
    "contacts": "tenant, order_id, customer_id, email, name",
    "order_members": "tenant, order_id, member_id",
    "order_events": "tenant, order_id, event_id, type",
}
Snapshot = dict[str, list[tuple[Any, ...]]]


@pytest.fixture
async def conn(stack_env: dict[str, str]) -> AsyncIterator[asyncpg.Connection]:
    connection = await connect_service(stack_env, "notifier")
    try:
        yield connection
    finally:
        await connection.close()


@pytest.fixture
def tenants(tmp_path: Path) -> TenantRegistry:
    (tmp_path / "store.yaml").write_text(TENANT)
    return load_tenants(tmp_path, env=tenant_env())


def wire(topic: str, events: Sequence[Envelope]) -> list[Record]:
    return records(topic, [(f"{e.tenant}:{e.order_id}".encode(), e.to_bytes()) for e in events])


def without_email(order_id: str, customer_id: str) -> Envelope:
    """A later report of the order naming the customer but no e-mail or name."""
    return new_event(
        type="order.reported",
        tenant="store",
        order_id=order_id,
        occurred_at=START,
        causation_id=f"report:{order_id}:later",
        correlation_id=f"report:{order_id}",
        data={
            "report_id": f"r-{order_id}-2",
            "status": "Accepted",
            "customer": {"id": customer_id},
        },
    )


async def snapshot(conn: asyncpg.Connection) -> Snapshot:
    return {
        table: [tuple(r) for r in await conn.fetch(f"SELECT {cols} FROM {table} ORDER BY 1, 2, 3")]
        for table, cols in TABLES.items()
    }


Step = tuple[Handler, list[Record]]


async def run(conn: asyncpg.Connection, steps: Sequence[Step], one_by_one: bool) -> Snapshot:
    """Each step's batch handled whole (or one record at a time), then the rows, undone after."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        for handler, batch in steps:
            for part in [[r] for r in batch] if one_by_one else [batch]:
                await handler(conn, part)
        return await snapshot(conn)
    finally:
        await transaction.rollback()


async def same_as_one_by_one(conn: asyncpg.Connection, steps: Sequence[Step]) -> Snapshot:
    batched = await run(conn, steps, one_by_one=False)
    assert batched == await run(conn, steps, one_by_one=True)
    return batched


def told(rows: Snapshot, cause: Envelope) -> list[tuple[str, str, str]]:
    return [(r[2], r[3], r[4]) for r in rows["notifications"] if r[1] == cause.event_id]


async def test_contacts_and_order_events_batch_like_one_by_one_with_one_row_each(
    conn: asyncpg.Connection, tenants: TenantRegistry
) -> None:
    on_event = partial(handlers.on_event, tenants=tenants)
    first, second = reported("o-1", "c-1", "store"), reported("o-2", "c-2", "store")
    contacts = [first, second, first, without_email("o-1", "c-1")]
    received = status_changed("o-1", "c-1", "Received", "pending")
    unnamed = status_changed("o-2", "", "Received", "pending")  # customer from the contact
    accepted = status_changed("o-1", "c-1", "Accepted", "confirmed", step=1)
    confirmed = order_event("order.confirmed", "o-1", "c-1", step=1)
    lifecycle = [received, unnamed, received, accepted, confirmed, accepted]
    rows = await same_as_one_by_one(
        conn,
        [
            (handlers.on_order_reported, wire(topics.ORDER_REPORTS, contacts)),
            (on_event, wire(topics.ORDERS_LIFECYCLE, lifecycle)),
        ],
    )
    assert rows["contacts"] == [
        ("store", "o-1", "c-1", "c-1@customers.test", "Zoé Quill"),
        ("store", "o-2", "c-2", "c-2@customers.test", "Zoé Quill"),
    ], "a later report without an e-mail keeps the earlier one's"
    everyone = [
        ("customer", "c-1", "email"),
        ("customer", "c-1", "in_app"),
        ("merchant", "store", "email"),
        ("merchant", "store", "in_app"),
    ]
    assert sorted(told(rows, received)) == sorted(told(rows, accepted)) == everyone
    assert sorted(told(rows, unnamed))[:2] == [
        ("customer", "c-2", "email"),
        ("customer", "c-2", "in_app"),
    ]
    assert told(rows, confirmed) == [("merchant", "store", "in_app")], "no member known yet"
    assert len(rows["notifications"]) == 13
    assert [r[2] for r in rows["order_events"]] == [confirmed.event_id], "kept for late members"


async def test_members_joining_leaving_and_rejoining_in_one_batch_hear_of_kept_events_once(
    conn: asyncpg.Connection, tenants: TenantRegistry
) -> None:
    confirmed = order_event("order.confirmed", "o-1", "c-1")
    joined = member_event("order.attributed", "m-1", {}, "o-1")
    voided = member_event("order.attribution_voided", "m-1", {}, "o-1")
    other = member_event("order.attributed", "m-2", {}, "o-1")
    back = member_event("order.attributed", "m-1", {}, "o-1", generation=1)
    elsewhere = member_event("order.attributed", "m-3", {}, "o-2")
    attributions = [joined, joined, elsewhere, voided, other, back]
    rows = await same_as_one_by_one(
        conn,
        [
            (
                partial(handlers.on_event, tenants=tenants),
                wire(topics.ORDERS_LIFECYCLE, [confirmed]),
            ),
            (
                partial(handlers.on_attribution, tenants=tenants),
                wire(topics.ORDERS_ATTRIBUTION, attributions),
            ),
        ],
    )
    assert sorted(told(rows, confirmed)) == [
        ("member", "m-1", "in_app"),
        ("member", "m-2", "in_app"),
        ("merchant", "store", "in_app"),
    ], "each late member once, though m-1 joined twice"
    assert told(rows, voided) == [("member", "m-1", "in_app")], "told before it leaves"
    assert rows["order_members"] == [
        ("store", "o-1", "m-1"),
        ("store", "o-1", "m-2"),
        ("store", "o-2", "m-3"),
    ], "the void cleared o-1's members; m-2 and m-1 came after it"


async def test_a_member_hears_of_an_order_event_whichever_arrives_first(
    conn: asyncpg.Connection, tenants: TenantRegistry
) -> None:
    confirmed = order_event("order.confirmed", "o-1", "c-1")
    joined = member_event("order.attributed", "m-1", {}, "o-1")
    event: Step = (
        partial(handlers.on_event, tenants=tenants),
        wire(topics.ORDERS_LIFECYCLE, [confirmed]),
    )
    attribution: Step = (
        partial(handlers.on_attribution, tenants=tenants),
        wire(topics.ORDERS_ATTRIBUTION, [joined]),
    )
    event_first = await run(conn, [event, attribution], one_by_one=False)
    attribution_first = await run(conn, [attribution, event], one_by_one=False)
    assert told(event_first, confirmed) == told(attribution_first, confirmed)
    assert ("member", "m-1", "in_app") in told(event_first, confirmed)


async def test_a_redelivered_batch_adds_nothing(
    conn: asyncpg.Connection, tenants: TenantRegistry
) -> None:
    on_event = partial(handlers.on_event, tenants=tenants)
    lifecycle = wire(
        topics.ORDERS_LIFECYCLE,
        [status_changed(f"o-{i}", f"c-{i}", "Received", "pending") for i in range(5)],
    )
    once = await run(conn, [(on_event, lifecycle)], one_by_one=False)
    twice = await run(conn, [(on_event, lifecycle), (on_event, lifecycle)], one_by_one=False)
    assert once == twice and len(once["notifications"]) == 20


async def test_an_unknown_tenant_fails_the_batch_and_its_record_alone_not_the_others(
    conn: asyncpg.Connection, tenants: TenantRegistry
) -> None:
    good = status_changed("o-1", "c-1", "Received", "pending")
    stranger = Envelope.model_validate({**good.model_dump(), "tenant": "nobody", "event_id": "x"})
    on_event = partial(handlers.on_event, tenants=tenants)
    batch = wire(topics.ORDERS_LIFECYCLE, [good, stranger])
    for alone in (batch, batch[1:]):
        with pytest.raises(Rejected) as raised:
            await run(conn, [(on_event, alone)], one_by_one=False)
        assert raised.value.error_type == "unknown_tenant"
    rows = await run(conn, [(on_event, batch[:1])], one_by_one=False)
    assert len(told(rows, good)) == 4, "replayed alone, the good record goes through"


async def statements_of(conn: asyncpg.Connection, steps: Sequence[Step]) -> int:
    """The statements the last step's handler runs, after the steps before it (undone after)."""
    transaction = conn.transaction()
    await transaction.start()
    try:
        for handler, batch in steps[:-1]:
            await handler(conn, batch)
        handler, batch = steps[-1]
        with counting(conn) as statements:
            await handler(conn, batch)
            return await statements.count()
    finally:
        await transaction.rollback()


async def test_a_batch_costs_the_same_statements_as_one_record(
    conn: asyncpg.Connection, tenants: TenantRegistry
) -> None:
    on_event = partial(handlers.on_event, tenants=tenants)
    on_attribution = partial(handlers.on_attribution, tenants=tenants)
    orders = [f"o-{i}" for i in range(50)]
    reports = wire(topics.ORDER_REPORTS, [reported(o, f"c-{o}", "store") for o in orders])
    confirmed = wire(topics.ORDERS_LIFECYCLE, [order_event("order.confirmed", o) for o in orders])
    attributed = wire(
        topics.ORDERS_ATTRIBUTION,
        [member_event("order.attributed", f"m-{i}", {}, o) for i, o in enumerate(orders)],
    )
    cases: list[tuple[str, list[Step], Handler, list[Record]]] = [
        ("reports", [], handlers.on_order_reported, reports),
        ("lifecycle", [], on_event, confirmed),
        ("attribution", [(on_event, confirmed)], on_attribution, attributed),
    ]
    costs = {
        name: tuple([await statements_of(conn, [*before, (handler, batch[:n])]) for n in (1, 50)])
        for name, before, handler, batch in cases
    }
    # reports: claim, contacts; lifecycle: claim, locks, load, notifications, kept events;
    # attribution: claim, locks, load, kept events, members, notifications of the kept events.
    assert costs == {"reports": (2, 2), "lifecycle": (5, 5), "attribution": (6, 6)}
