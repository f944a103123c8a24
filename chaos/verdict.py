"""Lost and duplicate effects of one scenario, counted from the topics and the database.

- Lost: a report ingest accepted whose expected effects (EFFECTS) never all appeared on
  the topics, or a poison record that got no dead letter.
- Duplicate effect: one effect (type and order, or a dead letter's record key) published
  under two event ids, or a row the database must hold once held twice: a ledger entry of
  one kind for one order and member, a notification for one (cause type, order, recipient,
  channel), a report stored twice for an order that had one.
- Recovery: seconds from the end of the last fault until every report accepted before it
  had all its effects out (0 when they were already out); none if a report was lost.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from chaos.load import Sent
from chaos.observe import Effect, Observer

EFFECTS = ("order.confirmed", "order.attributed", "commission.accrued", "notification.sent")
DEAD_LETTER = "dead_letter@ingest.dlq.v1"
SAMPLE = 10

# Rows of the services' own schemas that one report of this load causes at most once.
ONCE_IN_DATABASE = {
    "ledger entry": "SELECT order_id, member_id || ' ' || kind FROM rewards.ledger"
    " GROUP BY 1, 2 HAVING count(*) > 1",
    "notification": "SELECT order_id, cause_type || ' ' || recipient_id || ' ' || channel"
    " FROM notifier.notifications GROUP BY 1, 2 HAVING count(*) > 1",
    "tracked report": "SELECT order_id, 'history' FROM status_tracker.history"
    " GROUP BY 1 HAVING count(*) > 1",
    "stored report": "SELECT order_id, 'reports' FROM ingest.reports GROUP BY 1 HAVING count(*) > 1",
}


@dataclass
class Verdict:
    lost: list[str] = field(default_factory=list)  # "<order id>: <missing effects>"
    duplicates: list[str] = field(default_factory=list)
    recovery_s: float | None = None

    def sample(self) -> dict[str, Any]:
        return {"lost_sample": self.lost[:SAMPLE], "duplicate_sample": self.duplicates[:SAMPLE]}


def expected(sent: Sent) -> dict[str, tuple[str, ...]]:
    """Subject -> the effects it must have: every accepted report's, every poison record's."""
    wanted: dict[str, tuple[str, ...]] = dict.fromkeys(sent.accepted_at, EFFECTS)
    wanted.update(dict.fromkeys(sent.poison_at, (DEAD_LETTER,)))
    return wanted


async def judge(
    observer: Observer,
    sent: Sent,
    missing: Sequence[Effect],
    conn: asyncpg.Connection,
    fault_ended_at: float | None,
) -> Verdict:
    verdict = Verdict()
    by_subject: dict[str, list[str]] = {}
    for kind, subject in missing:
        by_subject.setdefault(subject, []).append(kind)
    verdict.lost = [
        f"{subject}: {', '.join(kinds)}" for subject, kinds in sorted(by_subject.items())
    ]
    verdict.duplicates = [
        f"{kind} {subject}: {len(ids)} event ids"
        for (kind, subject), ids in sorted(observer.seen.items())
        if len(ids) > 1
    ]
    for what, query in ONCE_IN_DATABASE.items():
        verdict.duplicates += [f"{what} {r[0]} {r[1]}: twice" for r in await conn.fetch(query)]
    if not verdict.lost:
        verdict.recovery_s = recovery(observer, expected(sent), sent, fault_ended_at)
    return verdict


def recovery(
    observer: Observer,
    wanted: Mapping[str, Sequence[str]],
    sent: Sent,
    fault_ended_at: float | None,
) -> float:
    if fault_ended_at is None:
        return 0.0
    accepted = {**sent.accepted_at, **sent.poison_at}
    before = [s for s, at in accepted.items() if at <= fault_ended_at]
    done = [observer.first_seen((kind, s)) or fault_ended_at for s in before for kind in wanted[s]]
    return round(max(0.0, max(done, default=fault_ended_at) - fault_ended_at), 1)
