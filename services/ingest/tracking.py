"""The order tracking tag (CONTRACTS §13): what a tag request records. Pure.

A tag request (the pixel's query or the beacon's JSON) names an order seen on the shop's
thank-you page. It becomes a §3.1 report of the tenant's `tracking.status`, source `tag`,
judged by the §3.1 rules, identified by `(tenant, tag, order_id, status)` so a reload of the
page is a duplicate, and always `pending`: a browser can never confirm an order, whatever
the profile says of the status. No personal data is taken: there is no field for it.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from orderflow.services.ingest.report_scalars import STRICT, Currency, Id, Money
from orderflow.services.ingest.reports import (
    FieldError,
    OrderReport,
    ReportRejected,
    error_path,
    parse_report_batch,
)
from orderflow.shared.tenant_tracking import Tracking
from orderflow.shared.vocabulary import Category, ContributorVia

SOURCE = "tag"
CATEGORY = Category.PENDING
# Fixed forever: it names every tag report ingest has stored.
_TAG_NAMESPACE = uuid.UUID("3b8f6a1e-7c2d-4e59-a0b4-9d1e5f7c2a68")
PERSONAL = frozenset({"email", "name", "first_name", "last_name", "phone", "address", "customer"})


class TagFields(BaseModel):
    """What the tag sends: the order, its amount and who referred the buyer."""

    model_config = STRICT
    key: str
    order_id: Id
    amount: Money | None = None
    currency: Currency | None = None
    member_id: Id | None = None
    click_id: Id | None = None


class KeyRefused(Exception):
    """The request's key is missing or not this tenant's publishable key."""


def tag_report_id(order_id: str, status: str) -> str:
    """The report's upstream id: one per (order, status), whenever the page is loaded."""
    return str(uuid.uuid5(_TAG_NAMESPACE, json.dumps([order_id, status])))


def tag_report(tenant: str, tracking: Tracking, raw: object, now: datetime) -> OrderReport:
    """The report a tag request records; `KeyRefused` for a wrong key, `ReportRejected`
    naming every bad field. Empty optional values count as absent (a form's `member_id=`)."""
    if not isinstance(raw, dict):
        raise ReportRejected([FieldError("", "must be a JSON object")])
    given = {k: v for k, v in raw.items() if v != "" or k in ("key", "order_id")}
    key = given.get("key")
    if not isinstance(key, str) or not tracking.key_matches(key):
        raise KeyRefused
    fields = _fields(given)
    report: dict[str, Any] = {
        "tenant": tenant,
        "order_id": fields.order_id,
        "status": tracking.status,
        "occurred_at": now,
        "report_id": tag_report_id(fields.order_id, tracking.status),
        "source": SOURCE,
        "amount": None if fields.amount is None else format(fields.amount, "f"),
        "currency": fields.currency,
    }
    if fields.member_id:
        report["contributors"] = [
            {"member_id": fields.member_id, "via": ContributorVia.AFFILIATION}
        ]
    if fields.click_id:
        report["metadata"] = {"click_id": fields.click_id}
    (parsed,) = parse_report_batch({k: v for k, v in report.items() if v is not None}, now)
    return parsed


def _fields(given: dict[str, Any]) -> TagFields:
    personal = sorted(PERSONAL & set(given))
    errors = [FieldError(name, "is personal data: the tag takes none") for name in personal]
    try:
        fields = TagFields.model_validate({k: v for k, v in given.items() if k not in personal})
    except ValidationError as exc:
        for err in exc.errors(include_url=False, include_input=False):
            message = "field required" if err["type"] == "missing" else err["msg"]
            errors.append(FieldError(error_path(err["loc"]), message))
        raise ReportRejected(errors) from None
    if errors:
        raise ReportRejected(errors)
    if (fields.amount is None) != (fields.currency is None):
        missing = "amount" if fields.amount is None else "currency"
        raise ReportRejected([FieldError(missing, "amount and currency go together")])
    return fields
