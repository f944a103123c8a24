"""Who is told what about an event, through which channel: the tenant's rules, applied.

Pure. One notification per (cause event, recipient, channel): its id is derived from
exactly that, so planning the same cause again (a redelivery, a member who joins the
order late) yields the same ids, and the store's unique key keeps one row each.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from orderflow.shared.envelope import stable_id
from orderflow.shared.tenants import EmailChannel, NotificationRule

Role = Literal["customer", "merchant", "member"]
Channel = Literal["email", "webhook", "in_app"]
ROLES: tuple[Role, ...] = ("customer", "merchant", "member")
CHANNELS: tuple[Channel, ...] = ("email", "in_app", "webhook")
STATUS_CHANGED = "order.status_changed"
RECURRING_STATUS_CHANGED = "recurring_order.status_changed"


@dataclass(frozen=True)
class Cause:
    """An event the notifier may tell someone about."""

    event_id: str
    type: str
    tenant: str
    order_id: str | None
    data: Mapping[str, Any]
    occurred_at: datetime
    correlation_id: str


@dataclass(frozen=True)
class Recipient:
    role: Role
    id: str


@dataclass(frozen=True)
class Recipients:
    """Who the cause concerns, as far as the notifier knows when it arrives."""

    merchant: str
    customer: str | None = None
    members: tuple[str, ...] = ()

    def of(self, role: Role) -> tuple[str, ...]:
        if role == "merchant":
            return (self.merchant,)
        if role == "customer":
            return (self.customer,) if self.customer else ()
        return self.members


@dataclass(frozen=True)
class Planned:
    notification_id: str
    recipient: Recipient
    channel: Channel
    template: str


@dataclass(frozen=True)
class Skipped:
    role: Role
    channel: Channel
    reason: str


def notification_id(tenant: str, cause_event_id: str, recipient: Recipient, channel: str) -> str:
    return stable_id("notification", tenant, cause_event_id, recipient.role, recipient.id, channel)


def template_for(cause: Cause) -> str:
    """One template per event type; an order's status change has one per status category, a
    recurring order's one per status (falling back to the event type's)."""
    category, status = cause.data.get("category"), cause.data.get("status")
    if cause.type == STATUS_CHANGED and isinstance(category, str) and category:
        return f"{STATUS_CHANGED}.{category}"
    if cause.type == RECURRING_STATUS_CHANGED and isinstance(status, str) and status:
        return f"{RECURRING_STATUS_CHANGED}.{status}"
    return cause.type


def plan(
    cause: Cause,
    rules: Sequence[NotificationRule],
    recipients: Recipients,
    email: EmailChannel | None,
    roles: Iterable[Role] = ROLES,
) -> tuple[list[Planned], list[Skipped]]:
    """Every (recipient, channel) the rules ask for, once, in a stable order."""
    wanted = _wanted(cause, rules, frozenset(roles))
    planned: list[Planned] = []
    skipped: list[Skipped] = []
    template = template_for(cause)
    for role, channel in wanted:
        ids = recipients.of(role)
        if not ids:
            skipped.append(Skipped(role, channel, f"no {role} known for this event"))
        for recipient_id in ids:
            recipient = Recipient(role, recipient_id)
            if channel == "email" and not has_static_address(email, recipient):
                skipped.append(Skipped(role, channel, f"no e-mail address for this {role}"))
                continue
            nid = notification_id(cause.tenant, cause.event_id, recipient, channel)
            planned.append(Planned(nid, recipient, channel, template))
    return planned, skipped


def _wanted(
    cause: Cause, rules: Sequence[NotificationRule], roles: frozenset[Role]
) -> list[tuple[Role, Channel]]:
    pairs = {
        (role, channel)
        for rule in rules
        if rule.on == cause.type and holds(rule, cause)
        for role in rule.to
        if role in roles
        for channel in rule.channels
    }
    return sorted(pairs, key=lambda p: (ROLES.index(p[0]), CHANNELS.index(p[1])))


def holds(rule: NotificationRule, cause: Cause) -> bool:
    """The rule's `when`, if it has one: the event's status is one it names."""
    return rule.when is None or cause.data.get("status") in rule.when.status


def has_static_address(email: EmailChannel | None, recipient: Recipient) -> bool:
    """Whether configuration can address this recipient; a customer's address comes later."""
    if email is None:
        return False
    if recipient.role == "member":
        return recipient.id in email.members
    return True


def static_address(email: EmailChannel, recipient: Recipient) -> str | None:
    """The merchant's (`merchant`, else `from`) or a member's configured address."""
    if recipient.role == "merchant":
        return email.merchant or email.sender
    if recipient.role == "member":
        return email.members.get(recipient.id)
    return None


def rules_need_members_of_orders(rules: Sequence[NotificationRule]) -> bool:
    """A rule tells members about an order event, so the order's members must be known."""
    return any(rule.on.startswith("order.") and "member" in rule.to for rule in rules)


def wants_member_join(event_type: str, rules: Sequence[NotificationRule]) -> bool:
    """Keep this order event for a member attributed later."""
    return any(rule.on == event_type and "member" in rule.to for rule in rules)
