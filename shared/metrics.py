"""Prometheus metrics shared by every service (one registry per process)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES = Counter(
    "orderflow_messages_total",
    "Records handled by a consumer, by outcome (processed, duplicate, dead_lettered)",
    ["service", "topic", "outcome"],
)
RETRIES = Counter(
    "orderflow_retries_total",
    "Batches retried after a transient failure",
    ["service", "error_type"],
)
HANDLE_SECONDS = Histogram(
    "orderflow_batch_seconds", "Time to handle and commit one partition batch", ["service"]
)
BATCH_RECORDS = Histogram(
    "orderflow_batch_records",
    "Records in one partition batch handled in one transaction",
    ["service", "topic"],
    buckets=(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000),
)
CONSUMER_LAG = Gauge(
    "orderflow_consumer_lag",
    "Records behind the partition's high watermark after the last committed batch",
    ["service", "topic", "partition"],
)
RELAY_PUBLISHED = Counter("orderflow_relay_published_total", "Outbox rows published", ["service"])
OUTBOX_PENDING = Gauge(
    "orderflow_outbox_pending", "Outbox rows not yet published (parked rows excluded)", ["service"]
)
OUTBOX_PARKED = Gauge(
    "orderflow_outbox_parked",
    "Outbox rows the broker can never take, held with their error until released",
    ["service"],
)
NOTIFICATIONS = Counter(
    "orderflow_notifications_total",
    "Notification attempts recorded by the notifier, by tenant, channel and outcome "
    "(sent, failed: final, retried: another attempt is scheduled)",
    ["tenant", "channel", "outcome"],
)
STATUS_UNMAPPED = Counter(
    "orderflow_status_unmapped_total",
    "Reports whose external status the tenant's profile does not know (status.unmapped)",
    ["tenant"],
)
HTTP_REQUESTS = Counter(
    "orderflow_http_requests_total",
    "HTTP requests by route template and status",
    ["service", "route", "status"],
)
HTTP_SECONDS = Histogram(
    "orderflow_http_request_seconds",
    "Time from a request's arrival to its answer, by route template and status",
    ["service", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
TENANT_RELOADS = Counter(
    "orderflow_tenant_reloads_total",
    "Reloads of changed tenant files: applied, partial (a bad file refused, the rest applied),"
    " refused (nothing changed)",
    ["outcome"],
)
TIMERS_FIRED = Counter(
    "orderflow_timers_fired_total",
    "Durable timers found due and fired, by timer loop (expiry_timers, approval_timers, ...)",
    ["timer"],
)
TIMER_LATENESS = Gauge(
    "orderflow_timer_lateness_seconds",
    "How long the earliest due timer of a loop has waited to fire (0: none is due), refreshed"
    " at most once a second: a loop that falls behind or cannot fire grows it",
    ["timer"],
)
