"""One trace from the HTTP request through all five services (CONTRACTS §5 headers, issue 8).

All five services run in this process on the real broker and Postgres, sharing one SDK
tracer provider with an in-memory exporter: every span each service opens for the order is
collected, and they must all carry the trace id the client sent in its `traceparent`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from orderflow.shared.cli import SERVICES
from orderflow.shared.service import Service
from tests.harness import TEST_KEYS, eventually, running, write_tenants

pytestmark = pytest.mark.integration

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PROGRAMME = """commission:
  percent: "10"
notifications:
  rules:
    - on: commission.accrued
      to: [member]
      channels: [in_app]
"""


@pytest.fixture(scope="module")
def spans() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)  # once per process: the API ignores a second call
    return exporter


@contextlib.asynccontextmanager
async def five_services(env: dict[str, str], tenants: Path) -> AsyncIterator[dict[str, Service]]:
    async with contextlib.AsyncExitStack() as stack:
        started = {
            name: await stack.enter_async_context(running(name, env, tenants)) for name in SERVICES
        }
        yield started


def traced(exporter: InMemorySpanExporter, kind: trace.SpanKind) -> list[ReadableSpan]:
    return [
        s
        for s in exporter.get_finished_spans()
        if s.kind == kind
        and s.context is not None
        and format(s.context.trace_id, "032x") == TRACE_ID
    ]


def consumed_by(exporter: InMemorySpanExporter) -> set[tuple[str, str]]:
    """(service, topic) of every consumer span of the trace."""
    return {
        (str(s.attributes["orderflow.service"]), s.name.removesuffix(" process"))
        for s in traced(exporter, trace.SpanKind.CONSUMER)
        if s.attributes is not None
    }


async def test_one_trace_runs_from_http_through_every_service(
    stack_env: dict[str, str], tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    tenants = write_tenants(tmp_path / "tenants")
    shop = tenants / "shop.yaml"
    shop.write_text(shop.read_text() + PROGRAMME)
    body = {
        "tenant": "shop",
        "order_id": "traced-1",
        "status": "OK",
        "occurred_at": "2026-11-30T10:00:00Z",
        "amount": "80.00",
        "currency": "EUR",
        "contributors": [{"member_id": "m-1", "via": "affiliation"}],
    }
    async with five_services(stack_env, tenants) as services:
        port = services["ingest"].settings.http_port
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            answer = await client.post(
                "/v1/orders",
                json=body,
                headers={
                    "Authorization": f"Bearer {TEST_KEYS['shop']}",
                    "traceparent": f"00-{TRACE_ID}-00f067aa0ba902b7-01",
                },
            )
            assert answer.status_code == 202, answer.text

        async def notifier_consumed_the_accrual() -> bool:
            return ("notifier", "commissions.v1") in consumed_by(spans)

        await eventually(notifier_consumed_the_accrual, "the notifier's span of commission.accrued")

    # ingest answers the request (the server span, then its outbox row) -> ingest.reports.v1
    # -> the tracker -> orders.lifecycle.v1 -> attribution -> orders.attribution.v1 -> rewards
    # -> commissions.v1 -> the notifier: every hop is a child in the client's trace.
    assert [s.name for s in traced(spans, trace.SpanKind.SERVER)] == ["POST /v1/orders"]
    assert {
        ("status-tracker", "ingest.reports.v1"),
        ("attribution", "orders.lifecycle.v1"),
        ("rewards", "orders.attribution.v1"),
        ("notifier", "commissions.v1"),
    } <= consumed_by(spans)
    published = {s.name for s in traced(spans, trace.SpanKind.PRODUCER)}
    assert any(name.endswith("commissions.v1 publish") for name in published), published
