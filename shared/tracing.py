"""One trace from the HTTP request to the last service: W3C trace context through the outbox.

- `configure` installs the OpenTelemetry SDK with an OTLP exporter when
  `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and nothing otherwise (the API's no-op tracer then
  costs nothing and still passes an incoming `traceparent` along unchanged).
- The runner opens one consumer span per record (`consumed`), a child of the context in the
  record's Kafka headers. The relay publishes each event with its event id as FastStream's
  `correlation_id` header, so the span is found by the event id without parsing the value.
- `carrier_for(causation_id)` is what the outbox stores with a row: the context of the record
  that caused the event, else the current one (the HTTP request's span).
- `producing(topic, event_id, carrier)` is what the relay writes from it (it bypasses
  FastStream's per-record middleware, `shared/relay_publish.py`): the stored context as is
  when no SDK is installed, else that of a PRODUCER span `<topic> publish`, child of it.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator, Mapping, Sequence

from aiokafka import ConsumerRecord
from opentelemetry import propagate, trace
from opentelemetry.trace import ProxyTracerProvider, Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_tracer = trace.get_tracer("orderflow")
_W3C = TraceContextTextMapPropagator()  # what FastStream's middleware writes on publish
# Per partition batch: the consumer span of each record, by the event id it carries.
_spans_by_event: contextvars.ContextVar[dict[str, Span] | None] = contextvars.ContextVar(
    "orderflow_spans_by_event", default=None
)


def configure(service: str) -> None:
    """The SDK and OTLP exporter, only when an endpoint is configured."""
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
        return
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(
        resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", service)})
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)


def _headers(record: ConsumerRecord[bytes, bytes]) -> dict[str, str]:
    return {k: v.decode(errors="replace") for k, v in record.headers or ()}


@contextlib.contextmanager
def consumed(
    service: str, topic: str, records: Sequence[ConsumerRecord[bytes, bytes]]
) -> Iterator[None]:
    """One consumer span per record of a partition batch, open while the batch is handled."""
    spans: list[Span] = []
    by_event: dict[str, Span] = {}
    for record in records:
        headers = _headers(record)
        span = _tracer.start_span(
            f"{topic} process",
            context=propagate.extract(headers),
            kind=SpanKind.CONSUMER,
            attributes={
                "orderflow.service": service,
                "messaging.system": "kafka",
                "messaging.destination.name": topic,
                "messaging.destination.partition.id": str(record.partition),
                "messaging.kafka.offset": record.offset,
            },
        )
        spans.append(span)
        by_event.setdefault(headers.get("correlation_id", ""), span)
    token = _spans_by_event.set(by_event)
    try:
        yield
    finally:
        _spans_by_event.reset(token)
        for span in spans:
            span.end()


def carrier_for(causation_id: str) -> dict[str, str]:
    """The W3C headers (`traceparent`, …) an outgoing event caused by `causation_id` carries."""
    events = _spans_by_event.get()
    span = events.get(causation_id) if events is not None else None
    ctx = trace.set_span_in_context(span) if span is not None else None
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=ctx)
    return carrier


def carriers_for(causation_ids: Sequence[str]) -> list[dict[str, str]]:
    """`carrier_for` of each id; one injection for them all when no consumer span is bound
    (an HTTP request's or a command's events all carry the current context)."""
    if _spans_by_event.get() is None:
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        return [carrier] * len(causation_ids)
    return [carrier_for(causation_id) for causation_id in causation_ids]


def sdk_installed() -> bool:
    """Whether spans are recorded (an SDK's tracer provider is set); the relay asks once a
    batch, not once a row (the answer reads the environment while no provider is set)."""
    return not isinstance(
        trace.get_tracer_provider(), ProxyTracerProvider | trace.NoOpTracerProvider
    )


def producing(
    topic: str, event_id: str, carrier: Mapping[str, str] | None, sdk: bool | None = None
) -> dict[str, str]:
    """The `traceparent`/`tracestate` headers of an outbox row published on `topic`;
    `sdk` is `sdk_installed()` when the caller already asked."""
    if not (sdk_installed() if sdk is None else sdk):
        # No SDK: a span would be a non-recording copy of its parent; pass the parent along.
        return {k: v for k, v in (carrier or {}).items() if k in _W3C.fields}
    span = _tracer.start_span(
        f"{topic} publish",
        context=_W3C.extract(dict(carrier or {})),
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "kafka",
            "messaging.destination.name": topic,
            "messaging.message.conversation_id": event_id,
            "messaging.operation": "publish",
        },
    )
    headers: dict[str, str] = {}
    _W3C.inject(headers, context=trace.set_span_in_context(span))
    span.end()
    return headers
