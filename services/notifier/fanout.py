"""Whom a batch of events tells, folded over the batch in offset order. Pure.

The handlers load what the store knows of the batch's orders once (`Known`, under the
orders' locks), and these functions apply `plan` to each event in turn, keeping the
order's members up to date in memory as attributions come and go, exactly as if the
events had been handled one at a time. What they return is written in one statement
per table (`BatchPlan`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from orderflow.services.notifier.domain import (
    ROLES,
    Cause,
    Planned,
    Recipients,
    Role,
    Skipped,
    plan,
    wants_member_join,
)
from orderflow.services.notifier.messages import (
    ATTRIBUTED,
    ATTRIBUTION_VOIDED,
    customer_of,
    member_of,
)
from orderflow.shared.tenants import Notifications

OrderKey = tuple[str, str]  # (tenant, order_id)


def order_key(cause: Cause) -> OrderKey | None:
    return (cause.tenant, cause.order_id) if cause.order_id is not None else None


@dataclass
class Known:
    """What the store knows of the batch's orders when the batch starts."""

    customers: Mapping[OrderKey, str] = field(default_factory=dict)
    members: dict[OrderKey, tuple[str, ...]] = field(default_factory=dict)
    kept: Mapping[OrderKey, Sequence[Cause]] = field(default_factory=dict)


@dataclass
class BatchPlan:
    """The batch's writes: each notification once (first planned wins), in planning order."""

    notifications: dict[str, tuple[Cause, Planned]] = field(default_factory=dict)
    skipped: list[tuple[Cause, Skipped]] = field(default_factory=list)
    kept: list[Cause] = field(default_factory=list)
    members_cleared: set[OrderKey] = field(default_factory=set)
    members_added: dict[OrderKey, list[str]] = field(default_factory=dict)

    def tell(
        self,
        cause: Cause,
        rules: Notifications,
        recipients: Recipients,
        roles: Sequence[Role] = ROLES,
    ) -> None:
        planned, skipped = plan(cause, rules.rules, recipients, rules.email, roles)
        for p in planned:
            self.notifications.setdefault(p.notification_id, (cause, p))
        self.skipped.extend((cause, s) for s in skipped)


def concerns_a_rule(rules: Notifications, cause: Cause) -> bool:
    """Most events concern no rule: they need no lookups and no lock."""
    return any(rule.on == cause.type for rule in rules.rules)


def recipients_of(cause: Cause, known: Known) -> Recipients:
    """Whom the cause names, completed by what is known of its order."""
    key = order_key(cause)
    customer, member = customer_of(cause.data), member_of(cause.data)
    if customer is None and key is not None:
        customer = known.customers.get(key)
    members: tuple[str, ...] = (member,) if member is not None else ()
    if member is None and key is not None:
        members = known.members.get(key, ())
    return Recipients(merchant=cause.tenant, customer=customer, members=members)


def plan_events(events: Sequence[tuple[Notifications, Cause]], known: Known) -> BatchPlan:
    """Lifecycle, reward and commission events: tell whom the rules name; keep the order
    events a member attributed later must still hear of."""
    batch = BatchPlan()
    for rules, cause in events:
        batch.tell(cause, rules, recipients_of(cause, known))
        if cause.order_id is not None and wants_member_join(cause.type, rules.rules):
            batch.kept.append(cause)
    return batch


def plan_attributions(events: Sequence[tuple[Notifications, Cause]], known: Known) -> BatchPlan:
    """Attribution events change the order's members; a member who joins hears of the kept
    order events. Whom an event itself concerns is read before it changes the members, so a
    voided attribution still reaches the member it takes the order from; a void without a
    `member_id` takes the order from every member."""
    batch, known = BatchPlan(), Known(known.customers, dict(known.members), known.kept)
    for rules, cause in events:
        key = order_key(cause)
        if key is None:
            continue
        recipients = recipients_of(cause, known)
        member = member_of(cause.data)
        if cause.type == ATTRIBUTED and member is not None:
            _join(batch, known, key, member)
            joined = Recipients(merchant=cause.tenant, members=(member,))
            for past in known.kept.get(key, ()):
                batch.tell(past, rules, joined, roles=("member",))
        elif cause.type == ATTRIBUTION_VOIDED:
            # Only the voided member leaves (a reassigned sale keeps its affiliate, §14);
            # the order's members are then written whole: cleared, and the rest re-added.
            rest = tuple(
                m for m in known.members.get(key, ()) if member is not None and m != member
            )
            known.members[key] = rest
            batch.members_cleared.add(key)
            batch.members_added[key] = list(rest)
        batch.tell(cause, rules, recipients)
    return batch


def _join(batch: BatchPlan, known: Known, key: OrderKey, member: str) -> None:
    members = known.members.get(key, ())
    if member not in members:
        known.members[key] = tuple(sorted((*members, member)))
        batch.members_added.setdefault(key, []).append(member)
