"""The outbox's two narrow lists (migration 0007) on the real Postgres: every writer keeps
them, marking sent is a heap-only update, and the migration lists the rows already there."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial

import asyncpg
import pytest

from orderflow.shared import outbox
from orderflow.shared.db import SHARED_MIGRATIONS
from orderflow.shared.envelope import Envelope, new_event
from tests.batch_support import connect_service

pytestmark = pytest.mark.integration
TOPIC = "orders.lifecycle.v1"


_new = partial(
    new_event, type="order.status_changed", tenant="shop", correlation_id="c",
    occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
)  # fmt: skip


def _event(order_id: str, n: int) -> Envelope:
    return _new(order_id=order_id, causation_id=f"{order_id}-{n}", data={"n": n})


async def _lists(conn: asyncpg.Connection) -> tuple[list[int], list[tuple[int, str, bytes]]]:
    pending = [r["id"] for r in await conn.fetch("SELECT id FROM outbox_pending ORDER BY id")]
    parked = await conn.fetch("SELECT id, topic, key FROM outbox_parked ORDER BY id")
    return pending, [(r["id"], r["topic"], r["key"]) for r in parked]


async def test_every_writer_keeps_the_lists_and_the_relay_reads_them(
    stack_env: dict[str, str],
) -> None:
    conn = await connect_service(stack_env, "ingest")
    try:
        await outbox.enqueue_many(conn, [(TOPIC, _event("o-1", n), None) for n in (1, 2, 3)])
        await outbox.enqueue(conn, TOPIC, _event("o-2", 1))
        # a writer of its own statement (the dead letter store, segment diffs) is listed too
        await conn.execute(
            "INSERT INTO outbox (event_id, topic, key, value) VALUES ('e-5', $1, 'k', 'v')", TOPIC
        )
        listed_at_first = await _lists(conn)
        await outbox.park(conn, 1, "MessageSizeTooLargeError: too large")
        held_back = [r.id for r in await outbox.fetch_unsent(conn, 10)]
        backlog_parked = await outbox.backlog(conn)
        await outbox.mark_sent(conn, held_back)
        after_marking = await _lists(conn)
        released = await outbox.release(conn)
        after_release = [r.id for r in await outbox.fetch_unsent(conn, 10)]
        await outbox.mark_sent(conn, after_release)
        emptied = (await _lists(conn), await outbox.backlog(conn))
        resent = await outbox.resend(conn, datetime(2000, 1, 1, tzinfo=UTC))
        after_resend = await _lists(conn)
        await outbox.mark_sent(conn, [r.id for r in await outbox.fetch_unsent(conn, 10)])
        await outbox.enqueue_again(conn, [(TOPIC, _event("o-2", 1), None)])
        replayed = await _lists(conn)
    finally:
        await conn.close()
    assert listed_at_first == ([1, 2, 3, 4, 5], [])
    assert held_back == [4, 5], "o-1's later rows wait behind its parked row"
    assert backlog_parked == (4, 1)
    assert after_marking == ([1, 2, 3], [(1, TOPIC, b"shop:o-1")])
    assert (released, after_release) == (1, [1, 2, 3])
    assert emptied == (([], []), (0, 0))
    assert (resent, after_resend) == (5, ([1, 2, 3, 4, 5], []))
    assert replayed == ([4], []), "a replayed row is listed again"


async def test_marking_sent_is_a_heap_only_update(stack_env: dict[str, str]) -> None:
    conn = await connect_service(stack_env, "ingest")
    try:
        await outbox.enqueue_many(conn, [(TOPIC, _event(f"o-{n}", n), None) for n in range(40)])
        rows = await outbox.fetch_unsent(conn, 100)
        async with conn.transaction():
            await outbox.mark_sent(conn, [r.id for r in rows])
            counts = await conn.fetchrow(
                "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables"
                " WHERE relid = 'outbox'::regclass"
            )
    finally:
        await conn.close()
    assert counts is not None
    assert (len(rows), counts["n_tup_upd"], counts["n_tup_hot_upd"]) == (40, 40, 40)


async def test_prune_removes_old_sent_rows_and_stale_ids(stack_env: dict[str, str]) -> None:
    conn = await connect_service(stack_env, "ingest")
    try:
        await outbox.enqueue_many(conn, [(TOPIC, _event("o-1", n), None) for n in (1, 2, 3)])
        await conn.execute("UPDATE outbox SET sent_at = now() - interval '2 days' WHERE id = 1")
        await conn.execute("UPDATE outbox SET sent_at = now() WHERE id = 2")
        await conn.execute("DELETE FROM outbox WHERE id = 3")  # by hand, unsent
        pruned = await outbox.prune_sent(conn, 24.0)
        left = [r["id"] for r in await conn.fetch("SELECT id FROM outbox ORDER BY id")]
        lists = await _lists(conn)
    finally:
        await conn.close()
    assert (pruned, left, lists) == (1, [2], ([], []))


async def test_the_migration_lists_the_rows_already_in_the_outbox(
    db: asyncpg.Connection,
) -> None:
    await db.execute("CREATE SCHEMA before_lists")
    await db.execute("SET search_path = before_lists")
    files = sorted(SHARED_MIGRATIONS.glob("*.sql"))
    lists = next(f for f in files if f.name == "0007_outbox_pending.sql")
    for file in files[: files.index(lists)]:
        await db.execute(file.read_text())
    await db.execute(
        "INSERT INTO outbox (event_id, topic, key, value, sent_at, parked_at) VALUES"
        " ('sent', 't', 'a', 'v', now(), NULL), ('waiting', 't', 'a', 'v', NULL, NULL),"
        " ('parked', 't', 'b', 'v', NULL, now())"
    )
    await db.execute(lists.read_text())
    pending, parked = await _lists(db)
    assert (pending, parked) == ([2, 3], [(3, "t", b"b")])
