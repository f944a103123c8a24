"""The edge's server span (shared/http.py TraceRequests): an incoming `traceparent` is the
parent of what the request does, with or without the SDK; without one and without the SDK
the request goes on with no span (the invalid span of an empty context, as before)."""

from __future__ import annotations

import asyncio

from opentelemetry import trace
from starlette.types import Message, Receive, Scope, Send

from orderflow.shared.http import TraceRequests

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


def seen_trace_id(headers: list[tuple[bytes, bytes]]) -> int:
    found: list[int] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        found.append(trace.get_current_span().get_span_context().trace_id)

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        return None

    scope = {"type": "http", "method": "GET", "path": "/x", "headers": headers}
    asyncio.run(TraceRequests(app)(scope, receive, send))
    return found[0]


def test_an_incoming_traceparent_is_the_requests_trace() -> None:
    parent = f"00-{TRACE_ID}-00f067aa0ba902b7-01".encode()
    assert seen_trace_id([(b"traceparent", parent)]) == int(TRACE_ID, 16)


def test_without_trace_headers_a_trace_starts_only_with_the_sdk() -> None:
    sdk = not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
    # (test_tracing.py installs the SDK in the process of a whole-suite run)
    assert (seen_trace_id([(b"host", b"edge")]) != 0) is sdk
