"""How the operator's commands find the system: as the services do (CONTRACTS §12).

`DATABASE_URL` (an admin or owner role) when set; otherwise the embedded stack of
`make run` / `orderflow run` (ORDERFLOW_DATA_DIR, ORDERFLOW_PG_PORT), whose admin password
is in `<data dir>/pgpass`. The same for Kafka: KAFKA_* settings, else ORDERFLOW_KAFKA_PORT.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import structlog

from orderflow.shared.cli_preflight import demo_defaults
from orderflow.shared.localstack import LocalStack
from orderflow.shared.provision import schema_name
from orderflow.shared.service_registry import SERVICES
from orderflow.shared.settings import KafkaSettings
from orderflow.shared.tenants import TenantConfigError, TenantRegistry, load_tenants


class NotFound(RuntimeError):
    """The system is not where the commands look; the message says which variable to set."""


def quiet_logs() -> None:
    """The commands print their results; the code they share with the services logs only
    warnings and errors (JSON, on stderr) there."""
    structlog.configure(
        processors=[structlog.processors.add_log_level, structlog.processors.JSONRenderer()],
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        # As the services do: a module's logger is bound once, so a filtered-out INFO line
        # (one per event an import writes) costs a no-op call, not a bind.
        cache_logger_on_first_use=True,
    )


def database_url() -> str:
    if url := os.environ.get("DATABASE_URL"):
        return url
    stack = LocalStack.from_env(with_kafka=False)
    if not stack.passfile.exists():
        raise NotFound(
            f"no DATABASE_URL and no local stack here ({stack.passfile} is missing): set"
            " DATABASE_URL, or ORDERFLOW_DATA_DIR to the data directory of `orderflow run`"
        )
    return stack.database_url


def kafka_settings() -> KafkaSettings:
    if os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        return KafkaSettings()
    port = os.environ.get("ORDERFLOW_KAFKA_PORT", "9092")
    return KafkaSettings(bootstrap_servers=f"127.0.0.1:{port}", enable_idempotence=False)


def tenants_dir() -> Path:
    return Path(os.environ.get("ORDERFLOW_TENANTS_DIR", "config/tenants"))


def known_service(name: str) -> str:
    if name not in SERVICES:
        raise NotFound(f"--service: {name!r} is not a service; one of {', '.join(SERVICES)}")
    return name


@contextlib.asynccontextmanager
async def connect(service: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection working in `service`'s schema."""
    known_service(service)
    try:
        conn = await asyncpg.connect(
            database_url(), server_settings={"search_path": schema_name(service)}
        )
    except (OSError, asyncpg.PostgresError) as exc:
        raise NotFound(
            f"cannot reach the database ({exc}); is `orderflow run` up? (DATABASE_URL,"
            " ORDERFLOW_PG_PORT)"
        ) from exc
    try:
        yield conn
    finally:
        await conn.close()


def tenant_registry() -> TenantRegistry:
    """The tenants as the services of `orderflow run` load them (unset DEMO_* filled alike)."""
    directory = tenants_dir()
    if directory.is_dir():
        demo_defaults(directory, os.environ)
    try:
        return load_tenants(directory)
    except TenantConfigError as exc:
        raise NotFound(f"{exc}\n(`orderflow tenants check` says the same)") from exc


def described(doc: str | None) -> dict[str, Any]:
    """`add_parser` options showing a command's module docstring as its --help text."""
    return {"description": doc, "formatter_class": argparse.RawDescriptionHelpFormatter}
