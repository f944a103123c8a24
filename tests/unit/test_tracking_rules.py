"""The order tracking tag (CONTRACTS §13), pure: the tenant's `tracking:` settings, what a tag
request records, its identity, and what it refuses (naming the field)."""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from orderflow.services.ingest import tracking
from orderflow.services.ingest.reports import ReportRejected, report_uuid
from orderflow.services.ingest.tracking_script import GIF, tag_js
from orderflow.shared.tenant_tracking import Tracking
from orderflow.shared.tenants import TenantConfigError, load_tenants
from orderflow.shared.vocabulary import Category, ContributorVia

PK = "pk_live_0123456789ab"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TAG = Tracking(publishable_key=PK, allowed_origins=("https://Shop.Example:443",))


def sent(**fields: Any) -> dict[str, Any]:
    return {"key": PK, "order_id": "A-1", **fields}


def refused(raw: object, tag: Tracking = TAG) -> list[str]:
    with pytest.raises(ReportRejected) as raised:
        tracking.tag_report("shop", tag, raw, NOW)
    return [e.path for e in raised.value.errors]


# --- the tenant's settings ---


def test_origins_are_kept_as_a_browser_writes_them() -> None:
    tag = Tracking(
        publishable_key=PK,
        allowed_origins=("https://Shop.Example:443", "http://localhost:8000", "http://[::1]:80"),
    )
    assert tag.allowed_origins == ("https://shop.example", "http://localhost:8000", "http://[::1]")
    assert tag.allows("https://shop.example") and tag.allows("HTTPS://SHOP.EXAMPLE")
    assert tag.status == "Pixel Tracked", "the contract's default"
    for other in (None, "", "null", "https://shop.example.evil", "http://shop.example", "x:y"):
        assert not tag.allows(other), other


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("allowed_origins", ["https://shop.example/thank-you"]),
        ("allowed_origins", ["shop.example"]),
        ("allowed_origins", ["ftp://shop.example"]),
        ("allowed_origins", []),
        ("publishable_key", "sk_live_0123456789"),
        ("publishable_key", "pk_short"),
        ("status", ""),
    ],
)
def test_bad_tracking_settings_are_refused_naming_the_field(field: str, value: object) -> None:
    settings = {"publishable_key": PK, "allowed_origins": ["https://shop.example"]}
    with pytest.raises(ValidationError) as raised:
        Tracking.model_validate(settings | {field: value})
    assert raised.value.errors()[0]["loc"][0] == field


def test_a_publishable_key_that_is_also_an_api_key_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(f"tenant: a\napi_keys: ['{PK}']\n")
    (tmp_path / "b.yaml").write_text(
        f"tenant: b\ntracking: {{publishable_key: {PK}, allowed_origins: ['https://b.example']}}\n"
    )
    with pytest.raises(TenantConfigError) as raised:
        load_tenants(tmp_path, {})
    assert "b.yaml: tracking.publishable_key: is an API key" in str(raised.value)


# --- what a request records ---


def test_a_tag_request_is_a_pending_report_of_the_tenants_status_from_the_tag() -> None:
    tag = Tracking(publishable_key=PK, allowed_origins=("https://s.example",), status="Sale")
    raw = sent(amount="59.90", currency="EUR", member_id="m-7", click_id="c-1")
    report = tracking.tag_report("shop", tag, raw, NOW)
    assert (report.tenant, report.order_id, report.status, report.source) == (
        "shop",
        "A-1",
        "Sale",
        "tag",
    )
    assert report.occurred_at == NOW and str(report.amount) == "59.90"
    assert report.contributors is not None
    assert [(c.member_id, c.via) for c in report.contributors] == [
        ("m-7", ContributorVia.AFFILIATION)
    ]
    assert report.metadata == {"click_id": "c-1"} and report.customer is None
    assert tracking.CATEGORY is Category.PENDING, "never confirmed, whatever the profile says"


def test_a_reload_is_the_same_report_and_another_status_is_another() -> None:
    first = tracking.tag_report("shop", TAG, sent(), NOW)
    reload = tracking.tag_report(
        "shop", TAG, sent(amount="1.00", currency="EUR"), NOW + timedelta(hours=1)
    )
    other_status = tracking.tag_report(
        "shop", TAG.model_copy(update={"status": "Pending"}), sent(), NOW
    )
    other_order = tracking.tag_report("shop", TAG, sent(order_id="A-2"), NOW)
    assert report_uuid(first) == report_uuid(reload)
    assert len({report_uuid(r) for r in (first, other_status, other_order)}) == 3


def test_empty_optional_values_are_absent_as_a_form_sends_them() -> None:
    report = tracking.tag_report("shop", TAG, sent(member_id="", click_id="", amount=""), NOW)
    assert (report.contributors, report.metadata, report.amount) == (None, None, None)


def test_a_wrong_or_missing_key_is_refused_before_anything_else() -> None:
    for raw in ({"order_id": "A-1"}, sent(key="pk_other_0123456789"), sent(key=5), sent(key="")):
        with pytest.raises(tracking.KeyRefused):
            tracking.tag_report("shop", TAG, {**raw, "email": "x@y.test"}, NOW)


@pytest.mark.parametrize(
    ("raw", "paths"),
    [
        (sent(email="ada@example.test", name="Ada"), ["email", "name"]),
        (sent(address="1 Main St", phone="555"), ["address", "phone"]),
        (sent(customer={"id": "c"}), ["customer"]),
        (sent(coupon="X"), ["coupon"]),
        ({"key": PK}, ["order_id"]),
        (sent(order_id="x" * 129), ["order_id"]),
        (sent(amount="5"), ["currency"]),
        (sent(currency="EUR"), ["amount"]),
        (sent(amount="1.234", currency="EUR"), ["amount"]),
        (sent(amount="-1", currency="EUR"), ["amount"]),
        (sent(amount=5, currency="EUR"), ["amount"]),
        (sent(amount="5", currency="XYZ"), ["currency"]),
        (sent(member_id="m" * 129), ["member_id"]),
        (sent(click_id=7), ["click_id"]),
    ],
)
def test_each_refusal_names_its_field(raw: dict[str, Any], paths: list[str]) -> None:
    assert refused(raw) == paths


def test_a_body_that_is_not_an_object_is_refused() -> None:
    assert refused(["A-1"]) == [""]


# --- what the routes send back ---


def test_the_pixel_is_a_one_by_one_gif() -> None:
    assert GIF[:6] == b"GIF89a" and struct.unpack("<HH", GIF[6:10]) == (1, 1)
    assert GIF.endswith(b";")


def test_tag_js_carries_the_key_and_sends_a_beacon_with_the_pixel_as_fallback() -> None:
    script = tag_js(PK)
    assert f'var key = "{PK}";' in script
    assert "window.orderflowOrder" in script and "navigator.sendBeacon" in script
    assert "/pixel.gif?" in script and "import " not in script and "require(" not in script
