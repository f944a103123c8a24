"""The demo's notifier section: notifications.v1 in each order's timeline, and what the
recipients actually got, the in-app inbox and the local SMTP mailbox, for the demo orders.

Self-contained like demo/attribution_section.py: registering the timeline part is
`Section(TITLE, TOPIC, COLUMNS, row)` in demo/sections.py's SECTIONS; `inbox_lines` and
`mailbox_lines` print the rest for one order. Nothing printed carries an e-mail address
or a name: recipients are shown as `role:id`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx

from orderflow.shared import topics
from orderflow.shared.envelope import Envelope
from orderflow.shared.localmail import read_mailbox

TITLE = "notifications"
TOPIC = topics.NOTIFICATIONS
COLUMNS = ("produced_at", "outcome", "channel", "recipient", "template", "attempts", "error")
# The same ids the notifier writes into every e-mail (services/notifier/mail.py).
ORDER_HEADER, RECIPIENT_HEADER = "X-Orderflow-Order-Id", "X-Orderflow-Recipient"


def row(event: Envelope) -> tuple[str, ...]:
    data = event.data
    recipient = data.get("recipient") or {}
    return (
        event.produced_at.isoformat(timespec="seconds"),
        event.type.removeprefix("notification."),
        str(data.get("channel", "")),
        f"{recipient.get('role', '')}:{recipient.get('id', '')}",
        str(data.get("template", "")),
        str(data.get("attempts", "")),
        str(data.get("error") or ""),
    )


async def inbox_lines(
    notifier_url: str,
    api_key: str,
    tenant: str,
    order_id: str,
    recipients: Iterable[tuple[str, str]],
) -> list[str]:
    """Each recipient's in-app messages about `order_id`, newest first, with unread counts."""
    lines = ["  in-app inbox (GET /v1/inbox/{tenant}/{role}/{id})"]
    headers = {"Authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(base_url=notifier_url, timeout=10.0) as client:
        for role, recipient_id in recipients:
            answer = await client.get(f"/v1/inbox/{tenant}/{role}/{recipient_id}", headers=headers)
            if answer.status_code != 200:
                lines.append(f"    {role}:{recipient_id}: HTTP {answer.status_code}")
                continue
            body: dict[str, Any] = answer.json()
            mine = [item for item in body["items"] if item["order_id"] == order_id]
            lines.append(f"    {role}:{recipient_id} ({body['unread']} unread in all)")
            lines += [f"      {'  ' if i['read'] else '* '}{i['subject']}" for i in mine]
    return lines


def mailbox_lines(directory: Path, order_id: str) -> list[str]:
    """The e-mails about `order_id` that the local SMTP server saved, oldest first."""
    mails = [m for m in read_mailbox(directory) if m.get(ORDER_HEADER) == order_id]
    lines = [f"  mailbox ({directory})"]
    for mail in mails:
        lines.append(f"    to {mail.get(RECIPIENT_HEADER, '?'):<22} {mail.get('Subject', '')}")
    if not mails:
        lines.append("    (none)")
    return lines
