"""Ingest's decisions, pure: what category a report has and which internal event it becomes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pydantic_core import to_json

from orderflow.services.ingest.profiles import categorise
from orderflow.services.ingest.report_fields import refund_problem
from orderflow.services.ingest.reports import (
    FieldError,
    OrderReport,
    ReportRejected,
    Touchpoint,
    error_path,
)
from orderflow.shared.envelope import (
    EncodedEvent,
    Envelope,
    encoded_event,
    joined_objects,
    new_event,
)
from orderflow.shared.tenants import TenantConfig, TenantRegistry
from orderflow.shared.vocabulary import Category

REPORTED = "order.reported"
TOUCHPOINT_RECORDED = "touchpoint.recorded"


def category_of(tenant: TenantConfig, report: OrderReport) -> Category | None:
    """The tenant's profile and overrides decide; None means the status is unmapped."""
    return categorise(tenant.status_profile, tenant.status_overrides, report.status)


def check_refunds(tenants: TenantRegistry, reports: Sequence[OrderReport], indexed: bool) -> None:
    """`ReportRejected` naming each `refunded_amount` whose status is not a refund (§8); a
    report of an unknown tenant is left to the tenant check. `indexed`: the body was a list."""
    errors = []
    for index, report in enumerate(reports):
        if report.refunded_amount is None or report.tenant not in tenants:
            continue
        problem = refund_problem(
            report.refunded_amount, category_of(tenants.get(report.tenant), report)
        )
        if problem:
            loc = (index, "refunded_amount") if indexed else ("refunded_amount",)
            errors.append(FieldError(error_path(loc), problem))
    if errors:
        raise ReportRejected(errors)


def reported_event(
    report: OrderReport, report_id: str, category: Category | None, received_at: datetime
) -> Envelope:
    """The internal `order.reported` event as its consumers read it (`reported_record`)."""
    return Envelope.from_bytes(reported_record(report, report_id, category, received_at).value)


def reported_record(
    report: OrderReport, report_id: str, category: Category | None, received_at: datetime
) -> EncodedEvent:
    """The internal `order.reported` event, serialised: the external status untouched, plus
    its category. The report is dumped straight to JSON once (not to a dict that is then
    validated into an Envelope and dumped again)."""
    extra = {
        "report_id": report_id,
        "upstream_report_id": report.report_id,
        "category": category.value if category else None,
        "received_at": received_at.isoformat(),
    }
    data = joined_objects(report.model_dump_json(exclude=_NOT_IN_DATA).encode(), to_json(extra))
    return encoded_event(
        type=REPORTED,
        tenant=report.tenant,
        order_id=report.order_id,
        occurred_at=report.occurred_at,
        causation_id=report_id,
        correlation_id=report_id,
        data=data,
        produced_at=received_at,
    )


_NOT_IN_DATA = {"tenant", "order_id", "report_id"}


def touchpoint_event(
    touchpoint: Touchpoint, touchpoint_uuid: str, received_at: datetime
) -> Envelope:
    data: dict[str, Any] = touchpoint.model_dump(mode="json", exclude={"tenant"})
    data.update(received_at=received_at.isoformat())
    return new_event(
        type=TOUCHPOINT_RECORDED,
        tenant=touchpoint.tenant,
        order_id=touchpoint.order_id,
        occurred_at=touchpoint.occurred_at,
        causation_id=touchpoint_uuid,
        correlation_id=touchpoint_uuid,
        data=data,
        produced_at=received_at,
    )
