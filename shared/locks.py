"""Transaction-scoped advisory locks on entity keys, all of a batch's in one statement.

Keys are taken in sorted order, so two transactions locking overlapping sets wait for each
other instead of deadlocking (a deadlock would still be detected and retried as transient).
"""

from __future__ import annotations

from collections.abc import Iterable

import asyncpg


async def take(conn: asyncpg.Connection, keys: Iterable[str]) -> None:
    """Lock every key until the transaction ends (call inside it)."""
    ordered = sorted(set(keys))
    if not ordered:
        return
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended(k, 0))"
        " FROM unnest($1::text[]) WITH ORDINALITY AS t(k, n) ORDER BY n",
        ordered,
    )
