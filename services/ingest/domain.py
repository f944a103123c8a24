"""Ingest's decisions, pure: what category a report has and which internal event it becomes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, fields
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
    report_id,
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


@dataclass(frozen=True)
class Prepared:
    """Reports as they are stored, column by column (ids, columns, raw JSON), with the
    `order.reported` event each becomes if it is new: all decided before the database is
    touched, so an import can make them in another process (`import_judging`). Columns
    because that is what the statements take and what crosses a process boundary cheaply."""

    report_ids: list[str] = field(default_factory=list)
    tenants: list[str] = field(default_factory=list)
    order_ids: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    categories: list[Category | None] = field(default_factory=list)
    occurred_at: list[datetime] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    event_ids: list[str] = field(default_factory=list)
    event_values: list[bytes] = field(default_factory=list)

    def add(
        self,
        report: OrderReport,
        category: Category | None,
        received_at: datetime,
        encoded: bytes | None = None,
    ) -> None:
        """What storing `report` (of this category, received at `received_at`) writes;
        `encoded`: `to_json(report)`, when judging it already made it (`parse_report`)."""
        rid = report_id(report)
        encoded = to_json(report) if encoded is None else encoded
        self.report_ids.append(rid)
        self.tenants.append(report.tenant)
        self.order_ids.append(report.order_id)
        self.sources.append(report.source)
        self.statuses.append(report.status)
        self.categories.append(category)
        self.occurred_at.append(report.occurred_at)
        self.raw.append(encoded.decode())
        event = reported_record(report, rid, category, received_at, encoded)
        self.event_ids.append(event.event_id)
        self.event_values.append(event.value)

    def __len__(self) -> int:
        return len(self.report_ids)

    def event(self, i: int) -> EncodedEvent:
        """The `order.reported` event of the i-th report (`reported_record`'s)."""
        rid = self.report_ids[i]
        tenant, order_id = self.tenants[i], self.order_ids[i]
        return EncodedEvent(
            self.event_ids[i], REPORTED, tenant, order_id, rid, self.event_values[i]
        )

    def taking(self, indexes: list[int]) -> Prepared:
        """Only the reports at these indexes, in that order."""
        if len(indexes) == len(self) and indexes == list(range(len(self))):
            return self
        columns = (getattr(self, f.name) for f in fields(self))
        return Prepared(*([column[i] for i in indexes] for column in columns))


def reported_event(
    report: OrderReport, report_id: str, category: Category | None, received_at: datetime
) -> Envelope:
    """The internal `order.reported` event as its consumers read it (`reported_record`)."""
    return Envelope.from_bytes(reported_record(report, report_id, category, received_at).value)


def reported_record(
    report: OrderReport,
    report_id: str,
    category: Category | None,
    received_at: datetime,
    encoded: bytes | None = None,
) -> EncodedEvent:
    """The internal `order.reported` event, serialised: the external status untouched, plus
    its category. The report is dumped straight to JSON once (not to a dict that is then
    validated into an Envelope and dumped again); `encoded`: that JSON, if already made."""
    extra = {
        "report_id": report_id,
        "upstream_report_id": report.report_id,
        "category": category.value if category else None,
        "received_at": received_at.isoformat(),
    }
    fields_json = (None if encoded is None else data_of(report, encoded)) or report.model_dump_json(
        exclude=_NOT_IN_DATA
    ).encode()
    data = joined_objects(fields_json, to_json(extra))
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


def data_of(report: OrderReport, encoded: bytes) -> bytes | None:
    """`model_dump_json(exclude=_NOT_IN_DATA)` cut out of `to_json(report)`: the fields come
    in declaration order, `tenant`, `order_id`, `status`, `occurred_at`, `report_id` first,
    so the three left out are found where their own JSON says. None if the bytes are not
    of that shape (then the caller dumps)."""
    head = b'{"tenant":%s,"order_id":%s,' % (to_json(report.tenant), to_json(report.order_id))
    kept = b'"status":%s,"occurred_at":%s,' % (
        to_json(report.status),
        to_json(report.occurred_at),
    )
    left_out = b'"report_id":%s,' % to_json(report.report_id)
    at = len(head) + len(kept)
    if not (
        encoded.startswith(head)
        and encoded.startswith(kept, len(head))
        and encoded.startswith(left_out, at)
    ):
        return None
    return b"{" + kept + encoded[at + len(left_out) :]


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
