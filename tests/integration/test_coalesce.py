"""`shared/coalesce.py` on the real Postgres: concurrent look-ups answered by few batched
statements with the same answers as one each, never a stale answer, failures to each waiter."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence

import asyncpg
import pytest

from orderflow.services.rewards import customer_queries
from orderflow.shared.coalesce import Coalescer
from tests.batch_support import service_pool

pytestmark = pytest.mark.integration
Key = tuple[str, str]
Found = Mapping[Key, tuple[int, list[str]]]


@pytest.fixture
async def pool(stack_env: dict[str, str]) -> AsyncIterator[asyncpg.Pool]:
    async with service_pool(stack_env, "rewards") as opened:
        yield opened


async def seed(pool: asyncpg.Pool, count: int) -> None:
    await pool.execute(
        "INSERT INTO customers (tenant, customer_id, orders_count, first_purchase_at,"
        " last_purchase_at) SELECT t, 'c-' || n, n, now(), now()"
        " FROM unnest(ARRAY['a', 'b']) AS t, generate_series(1, $1) AS n",
        count,
    )
    await pool.execute(
        "INSERT INTO segment_members (tenant, segment_id, customer_id)"
        " SELECT 'a', s, 'c-' || n FROM generate_series(1, $1) AS n,"
        " unnest(ARRAY['even', 'loyal']) AS s WHERE n % 2 = 0",
        count,
    )


class Counted:
    """`customer_queries.shoppers` on the pool, recording each batch of keys."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool, self.batches = pool, list[list[Key]]()

    async def __call__(self, keys: Sequence[Key]) -> Found:
        self.batches.append(list(keys))
        async with self.pool.acquire() as conn:
            return await customer_queries.shoppers(conn, keys)


async def alone(pool: asyncpg.Pool, key: Key) -> tuple[int, list[str]]:
    async with pool.acquire() as conn:
        return (await customer_queries.shoppers(conn, [key])).get(key, (0, []))


async def test_concurrent_lookups_share_statements_and_get_what_each_alone_would(
    pool: asyncpg.Pool,
) -> None:
    await seed(pool, 50)
    fetch = Counted(pool)
    shoppers = Coalescer(fetch, (0, list[str]()), max_in_flight=2, max_batch=64)
    keys = [(t, f"c-{n}") for n in range(0, 60) for t in ("a", "b", "zz")] * 2  # dup, unknown
    got = await asyncio.gather(*(shoppers.get(k) for k in keys))
    expected = [await alone(pool, k) for k in keys]
    assert [(c, sorted(s)) for c, s in got] == [(c, sorted(s)) for c, s in expected]
    four = got[keys.index(("a", "c-4"))]
    assert four[0] == 4 and sorted(four[1]) == ["even", "loyal"]
    assert all(len(b) <= 64 and len(b) == len(set(b)) for b in fetch.batches)
    assert len(fetch.batches) == -(-len(keys) // 64)  # 64 waiters a batch, all queued at once


async def test_a_lookup_never_joins_a_batch_already_sent(pool: asyncpg.Pool) -> None:
    """A batch read before a commit is not the answer of a look-up made after it."""
    await seed(pool, 3)
    read, release = asyncio.Event(), asyncio.Event()
    first = True

    async def slow_after_reading(keys: Sequence[Key]) -> Found:
        nonlocal first
        async with pool.acquire() as conn:
            found = await customer_queries.shoppers(conn, keys)
        if first:
            first = False
            read.set()
            await release.wait()  # this batch's answer is read, not yet handed out
        return found

    shoppers = Coalescer(slow_after_reading, (0, list[str]()))
    before = asyncio.create_task(shoppers.get(("a", "c-2")))
    await read.wait()  # the first batch has read c-2 with 2 orders and waits
    await pool.execute(
        "UPDATE customers SET orders_count = 7 WHERE tenant = 'a' AND customer_id = 'c-2'"
    )
    await pool.execute("DELETE FROM segment_members WHERE tenant = 'a' AND customer_id = 'c-2'")
    after = asyncio.create_task(shoppers.get(("a", "c-2")))
    await asyncio.sleep(0.05)
    release.set()
    assert sorted((await before)[1]) == ["even", "loyal"] and (await before)[0] == 2
    assert await after == (7, [])


async def test_a_failure_reaches_every_waiter_of_its_batch_and_the_next_batch_goes_on(
    pool: asyncpg.Pool,
) -> None:
    await seed(pool, 3)
    fail = True

    async def sometimes(keys: Sequence[Key]) -> Found:
        async with pool.acquire() as conn:
            if fail:
                await conn.fetch("SELECT 1 FROM no_such_table")
            return await customer_queries.shoppers(conn, keys)

    shoppers = Coalescer(sometimes, (0, list[str]()))
    failed = await asyncio.gather(
        *(shoppers.get(("a", f"c-{n}")) for n in range(1, 4)), return_exceptions=True
    )
    assert all(isinstance(e, asyncpg.UndefinedTableError) for e in failed), failed
    fail = False
    assert (await shoppers.get(("a", "c-3")))[0] == 3


async def test_a_waiter_that_gave_up_is_skipped(pool: asyncpg.Pool) -> None:
    await seed(pool, 3)
    fetch = Counted(pool)
    shoppers = Coalescer(fetch, (0, list[str]()))
    gone = asyncio.create_task(shoppers.get(("a", "c-1")))
    kept = asyncio.create_task(shoppers.get(("a", "c-3")))
    await asyncio.sleep(0)
    gone.cancel()
    assert (await kept)[0] == 3
    assert gone.cancelled() and fetch.batches == [[("a", "c-3")]]
