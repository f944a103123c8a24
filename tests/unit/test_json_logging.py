"""Every stdout line of a service is JSON: the standard library's loggers, aiokafka's
included, go through the same structlog processors as ours (issue 14)."""

from __future__ import annotations

import json
import subprocess
import sys

SCRIPT = """
import asyncio, logging
from aiokafka import AIOKafkaProducer
from orderflow.shared.logging import configure_logging, get_logger

configure_logging("probe")
get_logger("ours").info("decided", tenant="t1", email="someone@example.com")
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("some.library").exception("failed %s", "here")

async def main():
    # A real aiokafka client failing to reach a closed port logs through the `aiokafka` logger.
    producer = AIOKafkaProducer(bootstrap_servers="127.0.0.1:1", request_timeout_ms=1000)
    try:
        await producer.start()
    except Exception:
        pass
    finally:
        await producer.stop()

asyncio.run(main())

from datetime import UTC, datetime
from orderflow.shared import outbox
from orderflow.shared.envelope import new_event
event = new_event(
    type="order.confirmed", tenant="t1", order_id="o-1", occurred_at=datetime.now(UTC),
    causation_id="r-1", correlation_id="r-1", data={"customer": {"email": "x@example.com"}},
)
outbox._decided("orders.lifecycle.v1", event)
"""


def _lines() -> list[dict[str, object]]:
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    lines = [line for line in out.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # a plain-text line fails here


def test_every_stdout_line_is_json_aiokafka_and_stdlib_included() -> None:
    lines = _lines()
    by_logger = {str(line.get("logger")): line for line in lines}
    aiokafka = [line for line in lines if str(line.get("logger", "")).startswith("aiokafka")]
    assert aiokafka, f"no aiokafka line among {lines}"
    assert "Unable connect" in str(aiokafka[0]["event"])
    assert aiokafka[0]["service"] == "probe" and aiokafka[0]["level"] == "error"
    library = by_logger["some.library"]
    assert library["event"] == "failed here" and "ZeroDivisionError" in str(library["exception"])
    ours = next(line for line in lines if line["event"] == "decided")
    assert ours["tenant"] == "t1" and ours["email"] == "[redacted]"


def test_a_decision_is_logged_at_info_with_ids_only() -> None:
    [decided] = [line for line in _lines() if line["event"] == "event_decided"]
    assert decided["level"] == "info" and decided["type"] == "order.confirmed"
    assert decided["tenant"] == "t1" and decided["order_id"] == "o-1"
    assert decided["causation_id"] == "r-1" and decided["topic"] == "orders.lifecycle.v1"
    assert "data" not in decided and "example.com" not in json.dumps(decided)
