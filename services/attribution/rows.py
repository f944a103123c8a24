"""The mapping between attribution's rows and its domain values (no SQL here)."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from orderflow.services.attribution.credits import Contributor, Credit, Model, Touch
from orderflow.services.attribution.state import Confirmation, OrderAttribution, SellerChoice
from orderflow.shared.vocabulary import ContributorVia, TouchpointKind


def order_values(
    tenant: str, state: OrderAttribution, correlation_id: str | None
) -> tuple[Any, ...]:
    """One `orders` row, in the column order of `store.ORDER_COLUMNS`."""
    confirmation, rank = state.confirmation, state.customer_rank
    return (
        tenant,
        state.order_id,
        state.reported,
        state.ordered_at,
        state.customer_id,
        rank[0] if rank else None,
        rank[1] if rank else None,
        json.dumps([{"member_id": c.member_id, "via": c.via.value} for c in state.contributors]),
        state.has_ok,
        state.duplicate,
        confirmation.confirmed_at if confirmation else None,
        confirmation.manager_id if confirmation else None,
        json.dumps([_credit_json(c) for c in state.credits]),
        json.dumps(list(state.granted)),
        state.choice is not None,
        state.choice.manager_id if state.choice else None,
        # The chain's id comes with the order's first report, not with what may precede it.
        correlation_id if state.reported else None,
    )


def order_state(row: asyncpg.Record) -> OrderAttribution:
    rank_at, rank_report = row["customer_rank_at"], row["customer_rank_report"]
    confirmed_at = row["confirmed_at"]
    return OrderAttribution(
        order_id=row["order_id"],
        reported=row["reported"],
        ordered_at=row["ordered_at"],
        customer_id=row["customer_id"],
        customer_rank=(rank_at, rank_report) if rank_at is not None else None,
        contributors=tuple(
            Contributor(c["member_id"], ContributorVia(c["via"]))
            for c in json.loads(row["contributors"])
        ),
        has_ok=row["has_ok"],
        duplicate=row["duplicate"],
        confirmation=Confirmation(row["confirmed_manager_id"], confirmed_at)
        if confirmed_at is not None
        else None,
        credits=tuple(_credit(c) for c in json.loads(row["credits"])),
        granted=tuple(json.loads(row["granted"])),
        choice=SellerChoice(row["seller_id"]) if row["seller_chosen"] else None,
    )


def touch_values(tenant: str, touch: Touch) -> tuple[Any, ...]:
    """One `touchpoints` row, in the column order of `store.TOUCH_COLUMNS`."""
    return (
        tenant,
        touch.touchpoint_id,
        touch.member_id,
        touch.kind.value,
        touch.customer_id,
        touch.occurred_at,
        touch.order_id,
    )


def touch(row: asyncpg.Record) -> Touch:
    return Touch(
        touchpoint_id=row["touchpoint_id"],
        member_id=row["member_id"],
        kind=TouchpointKind(row["kind"]),
        customer_id=row["customer_id"],
        occurred_at=row["occurred_at"],
        order_id=row["order_id"],
    )


def columns(rows: list[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """Rows turned into one list per column, the arguments of an `unnest(…)` statement."""
    return [list(column) for column in zip(*rows, strict=True)] if rows else [[]] * width


def _credit_json(credit: Credit) -> dict[str, Any]:
    return {
        "member_id": credit.member_id,
        "via": credit.via.value,
        "model": credit.model.value,
        "touchpoint_id": credit.touchpoint_id,
        "confirmed": credit.confirmed,
    }


def _credit(data: dict[str, Any]) -> Credit:
    return Credit(
        member_id=data["member_id"],
        via=ContributorVia(data["via"]),
        model=Model(data["model"]),
        touchpoint_id=data.get("touchpoint_id"),
        confirmed=bool(data.get("confirmed")),
    )
