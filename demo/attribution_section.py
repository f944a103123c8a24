"""The demo's section for orders.attribution.v1: who was credited, how, and what was voided.

Self-contained (it does not import demo.sections, so that module can import it at the top):
registering it is `Section(TITLE, TOPIC, COLUMNS, row)` in demo/sections.py's SECTIONS.
"""

from __future__ import annotations

from orderflow.shared import topics
from orderflow.shared.envelope import Envelope

TITLE = "attribution"
TOPIC = topics.ORDERS_ATTRIBUTION
COLUMNS = ("occurred_at", "event", "member", "via", "model", "touchpoint", "note")


def row(event: Envelope) -> tuple[str, ...]:
    data = event.data
    if event.type == "order.attribution_voided":
        note = f"voided: {data.get('reason', 'duplicate')}"
    elif data.get("confirmed"):
        note = f"confirmed by {data.get('confirmed_by')}"
    else:
        note = ""
    return (
        event.occurred_at.isoformat(timespec="seconds"),
        event.type.removeprefix("order."),
        str(data.get("member_id", "")),
        str(data.get("via", "")),
        str(data.get("model", "")),
        str(data.get("touchpoint_id") or "-"),
        note,
    )
