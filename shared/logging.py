"""structlog JSON logs with ids bound per message, and no personal data.

Every stdout line is one JSON object: the standard library's loggers (aiokafka's, uvicorn's,
FastStream's, asyncpg's) go through the same structlog processors as our own, so a log
shipper never meets a plain-text line.

Personal data (customer email, name, address) must never reach a log line (STYLE §11):
`drop_personal_data` removes such keys at any depth and masks e-mail-shaped values, so a
careless `log.info(..., report=report_dict)` still leaks nothing.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

PERSONAL_KEYS = frozenset(
    {
        "email",
        "name",
        "first_name",
        "last_name",
        "address",
        "phone",
        "billing",
        "shipping",
        "billing_address",
        "shipping_address",
        "customer_email",
        "customer_name",
    }
)
EMAIL_RE = re.compile(r"[^\s@\"'<>]+@[^\s@\"'<>]+\.[A-Za-z]{2,}")
REDACTED = "[redacted]"


def _scrub(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if str(k).lower() in PERSONAL_KEYS else _scrub(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    if isinstance(value, str):
        return EMAIL_RE.sub(REDACTED, value)
    return value


def drop_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: redact personal keys and e-mail-shaped strings."""
    for key in list(event_dict):
        if key.lower() in PERSONAL_KEYS:
            event_dict[key] = REDACTED
        else:
            event_dict[key] = _scrub(event_dict[key])
    return event_dict


def _processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _stdlib_handler() -> logging.Handler:
    """The root logger's one handler: a stdlib record becomes the same JSON as ours, with its
    logger's name (e.g. `aiokafka.consumer.group_coordinator`) under `logger`."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*_processors(), structlog.stdlib.add_logger_name],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                drop_personal_data,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    return handler


def configure_logging(service: str, level: str = "INFO") -> None:
    root = logging.getLogger()
    root.handlers = [_stdlib_handler()]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "faststream"):
        # Libraries that bring their own handlers (plain text, stderr) log through ours.
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
    structlog.configure(
        processors=[
            *_processors(),
            structlog.processors.format_exc_info,
            drop_personal_data,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(sys.stdout),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
