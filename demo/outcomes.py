"""What an order left behind once its events arrived, as the services' APIs answer it: the
credited members' rewards and ledgers, the in-app inboxes, the local mailbox, the webhooks.

Who to ask about comes from the order's own events (the members attribution credited, the
recipients the notifier reached by each channel), so nothing here repeats the tenant rules.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from demo.events import EventLog
from demo.notifier_section import inbox_lines, mailbox_lines
from demo.rewards_section import member_lines
from demo.scenarios import Scenario
from demo.webhooks import WebhookReceiver, webhook_lines
from orderflow.shared import topics


@dataclass(frozen=True)
class Outlets:
    """Where the demo reads the outcomes, and the keys it reads them with (by tenant)."""

    rewards_url: str
    notifier_url: str
    mail_dir: Path
    webhooks: WebhookReceiver
    api_keys: Mapping[str, str]
    hook_secrets: Mapping[str, str]


async def outcome_lines(log: EventLog, scenario: Scenario, outlets: Outlets) -> list[str]:
    tenant, order_id, key = scenario.tenant, scenario.order_id, outlets.api_keys[scenario.tenant]
    lines: list[str] = []
    if members := credited(log, scenario):
        lines += await member_lines(outlets.rewards_url, key, tenant, members)
    if readers := reached(log, scenario, "in_app"):
        lines += await inbox_lines(outlets.notifier_url, key, tenant, order_id, readers)
    if reached(log, scenario, "email"):
        lines += mailbox_lines(outlets.mail_dir, order_id)
    if reached(log, scenario, "webhook"):
        lines += webhook_lines(outlets.webhooks, tenant, order_id, outlets.hook_secrets)
    return lines


def credited(log: EventLog, scenario: Scenario) -> list[str]:
    """Every member attribution credited with the order (even if voided later), in order."""
    events = log.of(scenario, topics.ORDERS_ATTRIBUTION)
    members = (e.data["member_id"] for e in events if e.type == "order.attributed")
    return list(dict.fromkeys(members))


def reached(log: EventLog, scenario: Scenario, channel: str) -> list[tuple[str, str]]:
    """The (role, id) of every recipient told about the order by `channel`, in order."""
    events = log.of(scenario, topics.NOTIFICATIONS)
    recipients = (
        (e.data["recipient"]["role"], e.data["recipient"]["id"])
        for e in events
        if e.type == "notification.sent" and e.data.get("channel") == channel
    )
    return list(dict.fromkeys(recipients))
