"""schemathesis against each service's own OpenAPI document, on the real stack (issue 9 item 3).

Each service runs in-process (tests/harness.py `running`) and answers over real HTTP; the
fuzzer reads `/openapi.json` and sends schema-valid and schema-breaking requests to every
operation, half of them with the path's tenant and the body's tenant set to the key's own,
so authorised requests reach the handlers and the database. No answer may be a 5xx, and
every answer must be one the document declares: status, content type, headers and body.
Bounded: a fixed number of examples per operation and mode, derandomized.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.harness import report, running

pytestmark = pytest.mark.integration

EXAMPLES = 30  # per operation and mode
KEY = "fuzz-shop-key-0123456789"
SCOPES = (
    '["orders:write", "touchpoints:write", "payments:write", "orders:read", "sales:confirm",'
    ' "recurring:manage", "orders:manage"]'
)
TENANTS = {
    "shop": (
        f"tenant: shop\nstatus_profile: loyalty\napi_keys: [{{key: {KEY}, scopes: {SCOPES}}}]\n"
        "webhook_secrets: {shopify: shopify-fuzz-secret, stripe: whsec_fuzz,"
        " woocommerce: wc-fuzz-secret}\n"
        "tracking: {publishable_key: pk_fuzz_0123456789, allowed_origins: ['https://shop.example']}\n"
        "segments: [{id: loyal, when: {min_orders: 2}}, {id: recent, when: {last_purchase_within: 30d}}]\n"
        "validation_rules: [{id: min-basket, cart: {min_amount: '20.00', currency: EUR}},"
        " {id: loyal-only, customer: {segments_any: [loyal]}, metadata: {channel: {exists: true}}}]\n"
    ),
}
NOW = datetime.now(UTC).isoformat()
# Known requests with the answer each must get, checked like the generated ones: the
# documented success answers are proved against real ones, not only the refusals.
KNOWN: dict[str, list[tuple[str, str, dict[str, Any], int]]] = {
    "ingest": [
        ("POST", "/v1/orders", {"body": report("o-known", "Pending", NOW, tenant="shop")}, 202),
        ("POST", "/v1/touchpoints", {"body": {
            "tenant": "shop", "touchpoint_id": "tp-1", "member_id": "m-1", "kind": "click",
            "customer_id": "c-1", "occurred_at": NOW,
        }}, 202),
        ("POST", "/v1/payments", {"body": {
            "tenant": "shop", "order_id": "o-known", "payment_id": "inv-1", "status": "succeeded",
            "occurred_at": NOW, "amount": "5.00", "currency": "EUR", "payment_system": "acme",
        }}, 202),
        ("GET", "/v1/track/{tenant}/pixel.gif", {"path_parameters": {"tenant": "shop"},
         "query": {"key": "pk_fuzz_0123456789", "order_id": "o-tag"}}, 200),
        ("POST", "/v1/track/{tenant}", {"path_parameters": {"tenant": "shop"},
         "headers": {"Origin": "https://shop.example"},
         "body": {"key": "pk_fuzz_0123456789", "order_id": "o-tag-2"}}, 204),
        ("GET", "/v1/track/{tenant}/tag.js", {"path_parameters": {"tenant": "shop"}}, 200),
    ],
    "attribution": [
        ("GET", "/v1/orders/{tenant}/{order_id}/attribution",
         {"path_parameters": {"tenant": "shop", "order_id": "o-unknown"}}, 404),
    ],
    "rewards": [
        ("GET", f"/v1/members/{{tenant}}/{{member_id}}/{what}",
         {"path_parameters": {"tenant": "shop", "member_id": "m-1"}}, 200)
        for what in ("balance", "ledger", "rewards")
    ] + [
        ("GET", "/v1/customers/{tenant}/{customer_id}",
         {"path_parameters": {"tenant": "shop", "customer_id": "c-unknown"}}, 404),
        ("GET", "/v1/segments/{tenant}", {"path_parameters": {"tenant": "shop"}}, 200),
        ("GET", "/v1/segments/{tenant}/{segment_id}/customers",
         {"path_parameters": {"tenant": "shop", "segment_id": "loyal"}}, 200),
        ("GET", "/v1/segments/{tenant}/{segment_id}/export.csv",
         {"path_parameters": {"tenant": "shop", "segment_id": "loyal"}}, 200),
        ("POST", "/v1/validations/{tenant}", {"path_parameters": {"tenant": "shop"}, "body": {
            "customer_id": "c-1", "order": {"amount": "12.00", "currency": "EUR", "items": [
                {"sku": "s-1", "quantity": 2}], "metadata": {"channel": "web"}}}}, 200),
    ],
    "status-tracker": [
        ("GET", "/v1/recurring-orders/{tenant}", {"path_parameters": {"tenant": "shop"}}, 200),
        ("GET", "/v1/recurring-orders/{tenant}/{recurring_order_id}",
         {"path_parameters": {"tenant": "shop", "recurring_order_id": "sub-x"}}, 404),
        ("POST", "/v1/recurring-orders/{tenant}/{recurring_order_id}/pause",
         {"path_parameters": {"tenant": "shop", "recurring_order_id": "sub-x"},
          "body": {"by": "ann"}}, 404),
        ("GET", "/v1/orders/{tenant}", {"path_parameters": {"tenant": "shop"},
                                        "query": {"status": ["OK", "Pending"], "sort": "-amount"}}, 200),
        ("GET", "/v1/orders/{tenant}/export.csv", {"path_parameters": {"tenant": "shop"},
                                                   "query": {"columns": "order_id,amount"}}, 200),
        ("GET", "/v1/orders/{tenant}/{order_id}", {"path_parameters": {"tenant": "shop", "order_id": "o-unknown"}}, 404),
        ("GET", "/v1/members/{tenant}/{member_id}/orders",
         {"path_parameters": {"tenant": "shop", "member_id": "m-1"}}, 200),
        ("GET", "/v1/kpis/{tenant}", {"path_parameters": {"tenant": "shop"}, "query": {"interval": "week"}}, 200),
        ("GET", "/v1/payments/{tenant}", {"path_parameters": {"tenant": "shop"}}, 200),
        ("GET", "/v1/reports/{tenant}/sales",
         {"path_parameters": {"tenant": "shop"}, "query": {"by": "offer"}}, 200),
        ("POST", "/v1/orders/{tenant}/{order_id}/complete",
         {"path_parameters": {"tenant": "shop", "order_id": "o-unknown"}, "body": {"by": "ann"}},
         404),
    ],
    "notifier": [
        ("GET", "/v1/inbox/{tenant}/{role}/{recipient_id}",
         {"path_parameters": {"tenant": "shop", "role": "customer", "recipient_id": "c-1"}}, 200),
        ("POST", "/v1/inbox/{tenant}/{role}/{recipient_id}/read",
         {"path_parameters": {"tenant": "shop", "role": "member", "recipient_id": "m-1"},
          "body": {"ids": ["n-1"]}}, 200),
    ],
}  # fmt: skip
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def tenants_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "tenants"
    directory.mkdir()
    for name, text in TENANTS.items():
        (directory / f"{name}.yaml").write_text(text)
    return directory


def own_tenant(case: schemathesis.Case[Any]) -> None:
    """The key's tenant in the path and in every body item that names one."""
    if case.path_parameters and "tenant" in case.path_parameters:
        case.path_parameters["tenant"] = "shop"
    items = case.body if isinstance(case.body, list) else [case.body]
    for item in items:
        if isinstance(item, dict) and "tenant" in item:
            item["tenant"] = "shop"


def fuzz(
    document: dict[str, Any], base_url: str, known: list[tuple[str, str, dict[str, Any], int]]
) -> tuple[list[str], Counter[int]]:
    """Every operation, positive then negative, and the known requests: the failures
    found, as text, and how many answers of each status were checked."""
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    headers = {"Authorization": f"Bearer {KEY}"}
    for method, path, data, expected in known:
        case = schema[path][method].Case(media_type="application/json", **data)
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        statuses[response.status_code] += 1
        if response.status_code != expected:
            failures.append(f"{method} {path} (known): {response.status_code} {response.text}")
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except Exception as exc:
            failures.append(f"{method} {path} (known): {exc}")
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            extra = [negative_data_rejection] if mode is GenerationMode.NEGATIVE else []
            try:
                examples(operation, mode, base_url, CHECKS + extra, statuses)()
            except Exception as exc:  # the case, the answer and the check that failed
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    return failures, statuses


def examples(
    operation: schemathesis.APIOperation[Any, Any, Any, Any],
    mode: GenerationMode,
    base_url: str,
    checks: list[Any],
    statuses: Counter[int],
) -> Any:
    @given(case=operation.as_strategy(generation_mode=mode), pin=st.booleans())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: schemathesis.Case[Any], pin: bool) -> None:
        if pin:
            own_tenant(case)
        headers = {"Authorization": f"Bearer {KEY}"}
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        statuses[response.status_code] += 1
        case.validate_response(response, checks=checks, headers=headers)

    return run


@pytest.mark.timeout(240)
@pytest.mark.parametrize("name", ["ingest", "attribution", "rewards", "notifier", "status-tracker"])
async def test_every_answer_matches_the_openapi_document_and_none_is_5xx(
    name: str, stack_env: dict[str, str], tenants_dir: Path
) -> None:
    async with running(name, stack_env, tenants_dir) as service:
        base_url = f"http://127.0.0.1:{service.settings.http_port}"
        async with httpx.AsyncClient(base_url=base_url) as client:
            document = (await client.get("/openapi.json")).json()
        # The fuzzer is synchronous; the service answers on this loop meanwhile.
        failures, statuses = await asyncio.to_thread(fuzz, document, base_url, KNOWN[name])
    assert document["openapi"].startswith("3.1")
    assert failures == [], "\n\n".join(failures)
    assert sum(statuses.values()) >= EXAMPLES * len(document["paths"]), statuses
    authorised = sum(n for status, n in statuses.items() if status not in (401, 403))
    assert authorised > len(KNOWN[name]), f"generated requests never got past the key: {statuses}"
    print(name, dict(statuses))
