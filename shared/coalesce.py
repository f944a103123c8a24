"""Concurrent look-ups of one key each, answered by one batched look-up (`= ANY($1)`).

Under load many requests each want one row; one statement for all of them costs the event
loop and the database far less than one statement each. `Coalescer.get(key)` queues the
key; at the end of the event-loop tick the queued keys go out as one `fetch_many(keys)`
(at most `max_in_flight` at once, at most `max_batch` keys each: the rest wait for the next).

Never stale: a key joins only a batch that has not started, so its statement begins after
the `get` was called and sees every transaction committed before it. Nothing is cached
between batches. A failure of `fetch_many` (the database down) is raised to every waiter
of that batch; a waiter that gave up (cancelled) is skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable, Mapping, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Coalescer(Generic[K, V]):
    def __init__(
        self,
        fetch_many: Callable[[Sequence[K]], Awaitable[Mapping[K, V]]],
        missing: V,
        *,
        max_in_flight: int = 1,
        max_batch: int = 1000,
    ) -> None:
        self._fetch_many, self._missing = fetch_many, missing
        self._max_in_flight, self._max_batch = max_in_flight, max_batch
        self._queued: list[tuple[K, asyncio.Future[V]]] = []
        self._in_flight: set[asyncio.Task[None]] = set()
        self._scheduled = False

    async def get(self, key: K) -> V:
        """The value of `key` (`missing` when `fetch_many` does not answer it)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[V] = loop.create_future()
        self._queued.append((key, waiter))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await waiter

    def _flush(self) -> None:
        self._scheduled = False
        while self._queued and len(self._in_flight) < self._max_in_flight:
            batch = self._queued[: self._max_batch]
            del self._queued[: self._max_batch]
            task = asyncio.get_running_loop().create_task(self._answer(batch))
            self._in_flight.add(task)
            task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        if self._queued and not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    async def _answer(self, batch: list[tuple[K, asyncio.Future[V]]]) -> None:
        keys = list(dict.fromkeys(k for k, waiter in batch if not waiter.done()))
        if not keys:
            return
        try:
            found = await self._fetch_many(keys)
        except asyncio.CancelledError:
            for _, waiter in batch:
                waiter.cancel()
            raise
        except Exception as exc:  # each waiter raises it: the route answers as it would alone
            for _, waiter in batch:
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        for key, waiter in batch:
            if not waiter.done():
                waiter.set_result(found.get(key, self._missing))
