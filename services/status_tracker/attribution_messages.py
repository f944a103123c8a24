"""`orders.attribution.v1` envelopes as credit facts; anything malformed is dead-lettered."""

from __future__ import annotations

from orderflow.services.status_tracker.order_credits import ATTRIBUTED, VOIDED, CreditFact
from orderflow.shared.envelope import Envelope
from orderflow.shared.errors import Rejected

_KINDS = {ATTRIBUTED: "attributed", VOIDED: "voided"}


def credit_fact(event: Envelope) -> CreditFact:
    kind = _KINDS.get(event.type)
    if kind is None or event.order_id is None:
        raise Rejected(
            f"type: expected {ATTRIBUTED} or {VOIDED} with an order_id, got {event.type}",
            "unexpected_event",
        )
    data = event.data
    try:
        return CreditFact(
            event_id=event.event_id,
            kind="attributed" if kind == "attributed" else "voided",
            member_id=_text(data["member_id"], "member_id"),
            via=_text(data["via"], "via"),
            model=_text(data["model"], "model"),
            confirmed=bool(data.get("confirmed", False)),
            at=event.occurred_at,
        )
    except KeyError as exc:
        raise Rejected(f"data.{exc.args[0]}: field required", "invalid_event") from exc


def _text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise Rejected(f"data.{field}: must be a non-empty string", "invalid_event")
    return value
