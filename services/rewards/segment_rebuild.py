"""Rebuilding membership when a tenant changes a segment's definition: at start, and when a
reload of the tenant files (shared/tenant_reload.py) changes a tenant's segments.

Each segment's definition hash is stored with its membership. At start, a segment whose hash
changed (or that is new) is recomputed from the statistics in SQL, set-based: the predicate
is the conditions' SQL twins (segment_conditions.py), the differences with the stored members
are applied and returned in one statement, and each becomes a `customer.segment_entered` /
`customer.segment_left` event. A segment no longer configured is emptied the same way. The
tenant's segment lock is held exclusively meanwhile, so no live update interleaves, and a
second replica starting at the same time finds the hashes current and does nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from orderflow.services.rewards import segment_conditions
from orderflow.services.rewards.customer_store import tenant_lock
from orderflow.services.rewards.segment_diff import Params, rebuild_segment
from orderflow.shared.envelope import utcnow
from orderflow.shared.errors import is_transient
from orderflow.shared.logging import get_logger
from orderflow.shared.tenant_segments import Segment, SegmentWhen
from orderflow.shared.tenants import TenantRegistry

log = get_logger(__name__)


def definition_hash(when: SegmentWhen) -> str:
    return hashlib.sha256(when.model_dump_json(by_alias=True).encode()).hexdigest()


async def reset_timers(
    conn: asyncpg.Connection, tenant: str, segments: Sequence[Segment], now: datetime
) -> None:
    """Every customer's next due instant under the new definitions (customers.due in SQL)."""
    params = Params(now, tenant)
    found = [e for s in segments for e in segment_conditions.due_expressions(s.when, params)]
    if not found:  # no time condition left: no timer
        await conn.execute(
            "UPDATE customers SET segments_due_at = NULL"
            " WHERE tenant = $1 AND segments_due_at IS NOT NULL",
            tenant,
        )
        return
    # The earliest one still ahead (LEAST skips NULLs): plain expressions, no subquery a row.
    due = f"LEAST({', '.join(f'CASE WHEN {e} > $1 THEN {e} END' for e in found)})"
    await conn.execute(
        f"UPDATE customers c SET segments_due_at = {due}"
        f" WHERE c.tenant = $2 AND c.segments_due_at IS DISTINCT FROM {due}",
        *params.values,
    )


@dataclass(frozen=True)
class Stored:
    definition_hash: str
    generation: int


async def rebuild_tenant(
    conn: asyncpg.Connection, tenant: str, segments: Sequence[Segment], now: datetime
) -> int:
    """Rebuild the tenant's changed segments in this transaction; how many moves it made."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", tenant_lock(tenant))
    rows = await conn.fetch(
        "SELECT segment_id, definition_hash, generation FROM segment_definitions WHERE tenant = $1",
        tenant,
    )
    stored = {r["segment_id"]: Stored(r["definition_hash"], r["generation"]) for r in rows}
    wanted = {s.id: s for s in segments}
    changed = [
        s
        for s in segments
        if s.id not in stored or stored[s.id].definition_hash != definition_hash(s.when)
    ]
    removed = sorted(set(stored) - set(wanted))
    if not changed and not removed:
        return 0
    # Timers first: their update touches pages all over `customers`, and done before the
    # inserts' WAL it is less often caught by a checkpoint (whole pages to the WAL).
    await reset_timers(conn, tenant, segments, now)
    moved = 0
    for segment_id in [s.id for s in changed] + removed:
        segment = wanted.get(segment_id)
        generation = stored[segment_id].generation + 1 if segment_id in stored else 1
        cause = f"segment-rebuild:{tenant}:{segment_id}:{generation}"
        when = segment.when if segment else None
        moved += await rebuild_segment(conn, tenant, segment_id, when, now, cause)
    await conn.execute(
        "DELETE FROM segment_definitions WHERE tenant = $1 AND segment_id = ANY($2::text[])",
        tenant,
        removed,
    )
    await conn.execute(
        "INSERT INTO segment_definitions (tenant, segment_id, definition_hash)"
        " SELECT $1, s, h FROM unnest($2::text[], $3::text[]) AS r(s, h)"
        " ON CONFLICT (tenant, segment_id) DO UPDATE SET definition_hash = EXCLUDED.definition_hash,"
        " generation = segment_definitions.generation + 1",
        tenant,
        [s.id for s in changed],
        [definition_hash(s.when) for s in changed],
    )
    log.info(
        "segments_rebuilt",
        tenant=tenant,
        segments=[s.id for s in changed],
        removed=removed,
        moves=moved,
    )
    return moved


class SegmentRebuild:
    """Rebuilds at start, then whenever a tenant-file reload changes a tenant's segments.

    `segments` is the map the live step, the timers and the routes hold: a changed tenant's
    entry is replaced first (live updates use the new definitions from then on), then its
    rebuild runs under the exclusive tenant lock, so nothing is left computed the old way.
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        tenants: TenantRegistry,
        segments: dict[str, tuple[Segment, ...]],
        committed: Callable[[], None],
        poll_s: float,
    ) -> None:
        self._pool, self._tenants, self._segments = pool, tenants, segments
        self._committed, self._poll_s = committed, poll_s
        self._built: dict[str, tuple[Segment, ...]] = {}

    async def rebuild(self, now: datetime | None = None) -> int:
        wanted = {t: self._tenants.get(t).segments for t in self._tenants.tenants()}
        moved = 0
        for tenant, segments in sorted(wanted.items()):
            if self._built.get(tenant) == segments:
                continue
            self._segments[tenant] = segments
            async with self._pool.acquire() as conn, conn.transaction():
                moved += await rebuild_tenant(conn, tenant, segments, now or utcnow())
            self._built[tenant] = segments
        for gone in set(self._segments) - set(wanted):
            del self._segments[gone]
        if moved:
            self._committed()
        return moved

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                await self.rebuild()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning("segments_rebuild_retrying", error_type=type(exc).__name__)
            if self._poll_s <= 0 and self._built:
                return  # tenant files are not reloaded: the start-up rebuild was all
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), self._poll_s or 1.0)
