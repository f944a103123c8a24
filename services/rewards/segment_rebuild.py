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

from orderflow.services.rewards import segment_conditions, segment_messages
from orderflow.services.rewards.customer_store import tenant_lock
from orderflow.shared import topics
from orderflow.shared.envelope import utcnow
from orderflow.shared.errors import is_transient
from orderflow.shared.logging import get_logger
from orderflow.shared.tenant_segments import Segment, SegmentWhen
from orderflow.shared.tenants import TenantRegistry

log = get_logger(__name__)


def definition_hash(when: SegmentWhen) -> str:
    return hashlib.sha256(when.model_dump_json(by_alias=True).encode()).hexdigest()


class Params:
    """Numbered statement parameters, the first ones fixed (`now`, tenant, segment, …)."""

    def __init__(self, *first: object) -> None:
        self.values: list[object] = list(first)

    def __call__(self, value: object) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


# The segments.v1 envelope of each move (segment_messages.move_envelope, written in SQL: a
# rebuild may move every customer, and building a million envelopes in Python would take
# longer than the rebuild itself). The event id is a name-based UUID (MD5) of the rebuild's
# cause, the type, the customer and the segment: stable, and new for each generation.
_EVENTS = (
    " INSERT INTO outbox (event_id, topic, key, value)"
    " SELECT e.id, $5, convert_to(concat($2::text, ':', e.customer_id), 'UTF8'),"
    ' convert_to(concat(\'{"event_id":"\', e.id, \'","type":"\', e.kind,'
    ' \'","tenant":\', to_json($2::text), \',"order_id":null,"occurred_at":\','
    " to_json($1::timestamptz), ',\"produced_at\":', to_json(now()),"
    " ',\"causation_id\":', to_json($4::text), ',\"correlation_id\":', to_json($4::text),"
    ' \',"schema":"orderflow.\', e.kind, \'/1","data":\','
    " json_build_object('customer_id', e.customer_id, 'segment_id', $3::text), '}'), 'UTF8')"
    " FROM (SELECT m.customer_id, m.kind, md5(concat_ws(chr(31), $4::text, m.kind,"
    " m.customer_id, $3::text))::uuid::text AS id FROM moves m) AS e"
)


async def rebuild_segment(
    conn: asyncpg.Connection,
    tenant: str,
    segment_id: str,
    when: SegmentWhen | None,
    now: datetime,
    cause: str,
) -> int:
    """Members of the segment recomputed from statistics (emptied when `when` is None), each
    difference written to the outbox as its event, in one statement; how many moved."""
    params = Params(now, tenant, segment_id, cause, topics.SEGMENTS)
    where = segment_conditions.predicate(when, params) if when is not None else "false"
    result: str = await conn.execute(
        "WITH target AS (SELECT c.customer_id FROM customers c WHERE c.tenant = $2"
        f" AND {where}),"
        " entered AS (INSERT INTO segment_members (tenant, segment_id, customer_id)"
        " SELECT $2, $3, t.customer_id FROM target t WHERE NOT EXISTS (SELECT 1"
        " FROM segment_members m WHERE m.tenant = $2 AND m.segment_id = $3"
        " AND m.customer_id = t.customer_id) RETURNING customer_id),"
        " gone AS (DELETE FROM segment_members m WHERE m.tenant = $2 AND m.segment_id = $3"
        " AND NOT EXISTS (SELECT 1 FROM target t WHERE t.customer_id = m.customer_id)"
        " RETURNING customer_id),"
        f" moves AS (SELECT customer_id, '{segment_messages.ENTERED}' AS kind FROM entered"
        f" UNION ALL SELECT customer_id, '{segment_messages.LEFT}' FROM gone)" + _EVENTS,
        *params.values,
    )
    return int(result.split()[-1])


async def reset_timers(
    conn: asyncpg.Connection, tenant: str, segments: Sequence[Segment], now: datetime
) -> None:
    """Every customer's next due instant under the new definitions (customers.due in SQL)."""
    params = Params(now, tenant)
    found = [e for s in segments for e in segment_conditions.due_expressions(s.when, params)]
    due = "CASE WHEN $1::timestamptz IS NULL THEN NULL END"
    if found:
        due = f"(SELECT min(x) FROM unnest(ARRAY[{', '.join(found)}]) AS x WHERE x > $1)"
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
    moved = 0
    for segment_id in [s.id for s in changed] + removed:
        segment = wanted.get(segment_id)
        generation = stored[segment_id].generation + 1 if segment_id in stored else 1
        cause = f"segment-rebuild:{tenant}:{segment_id}:{generation}"
        when = segment.when if segment else None
        moved += await rebuild_segment(conn, tenant, segment_id, when, now, cause)
    await reset_timers(conn, tenant, segments, now)
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
