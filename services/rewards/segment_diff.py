"""One segment's membership recomputed from the statistics in one set-based statement.

The target members are the customers the conditions' SQL twins hold for
(segment_conditions.py); a full join with the stored members gives the differences (a hash
or merge join whatever the planner's estimates, so an empty or freshly vacuumed membership
table cannot turn it into a nested loop over the rows the same statement is inserting). The
same statement applies them — new members inserted in key order, former ones deleted — and
writes each as its `customer.segment_entered` / `customer.segment_left` envelope to the
outbox, in event-id order, so both tables' indexes fill page by page rather than at random.

The envelope is `segment_messages.move_template`'s JSON (the live step's, split around the
event id and customer id), so a row costs one concatenation in SQL; building a million
envelopes in Python would take longer than the rebuild. The event id is a name-based UUID
(MD5) of the rebuild's cause, the type, the customer and the segment: stable, and new for
each generation.
"""

from __future__ import annotations

from datetime import datetime

import asyncpg

from orderflow.services.rewards import segment_conditions
from orderflow.services.rewards.segment_messages import ENTERED, LEFT, move_template
from orderflow.shared import topics
from orderflow.shared.tenant_segments import SegmentWhen


class Params:
    """Numbered statement parameters, the first ones fixed (`now`, tenant, segment, …)."""

    def __init__(self, *first: object) -> None:
        self.values: list[object] = list(first)

    def __call__(self, value: object) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


# Both sorts only place rows near each other in the indexes (nothing depends on the order):
# byte order ("C", the cheap comparison) is the indexes' order in a C or C.UTF-8 database,
# and a UUID sorts as its text does.
# $1 now (also each new member's `entered_at`: the instant its event says it entered), $2 tenant, $3 segment, $4 cause, $5 topic, $6 envelope head, $7 / $8 the middle of
# an entered / left one, $9 its tail; the predicate's own values follow.
_STATEMENT = (
    "WITH target AS (SELECT c.customer_id FROM customers c WHERE c.tenant = $2 AND {where}),"
    " stored AS (SELECT m.customer_id FROM segment_members m"
    " WHERE m.tenant = $2 AND m.segment_id = $3),"
    " moves AS MATERIALIZED (SELECT coalesce(t.customer_id, s.customer_id) AS customer_id,"
    f" CASE WHEN s.customer_id IS NULL THEN '{ENTERED}' ELSE '{LEFT}' END AS kind"
    " FROM target t FULL JOIN stored s ON s.customer_id = t.customer_id"
    " WHERE t.customer_id IS NULL OR s.customer_id IS NULL),"
    " entered AS (INSERT INTO segment_members (tenant, segment_id, customer_id, entered_at)"
    f" SELECT $2, $3, customer_id, $1 FROM moves WHERE kind = '{ENTERED}'"
    ' ORDER BY customer_id COLLATE "C"),'
    " gone AS (DELETE FROM segment_members m WHERE m.tenant = $2 AND m.segment_id = $3"
    f" AND m.customer_id = ANY (ARRAY(SELECT customer_id FROM moves WHERE kind = '{LEFT}')))"
    " INSERT INTO outbox (event_id, topic, key, value)"
    " SELECT e.id::text, $5, convert_to(concat($2::text, ':', e.customer_id), 'UTF8'),"
    " convert_to(concat($6::text, e.id, CASE e.kind WHEN"
    f" '{ENTERED}' THEN $7::text ELSE $8::text END, to_json(e.customer_id), $9::text), 'UTF8')"
    " FROM (SELECT m.customer_id, m.kind, md5(concat_ws(chr(31), $4::text, m.kind,"
    " m.customer_id, $3::text))::uuid AS id FROM moves m ORDER BY id) AS e"
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
    head, entered, tail = move_template(tenant, segment_id, True, now, cause)
    left = move_template(tenant, segment_id, False, now, cause)[1]
    params = Params(now, tenant, segment_id, cause, topics.SEGMENTS, head, entered, left, tail)
    where = segment_conditions.predicate(when, params) if when is not None else "false"
    result: str = await conn.execute(_STATEMENT.format(where=where), *params.values)
    return int(result.split()[-1])
