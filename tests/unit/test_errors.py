"""Which failures the runner, relay and timers retry forever, and which they give up on."""

from __future__ import annotations

import asyncpg
import pytest
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, MessageSizeTooLargeError

from orderflow.shared.errors import Rejected, is_transient


@pytest.mark.parametrize(
    "exc",
    [
        asyncpg.exceptions.ConnectionDoesNotExistError("gone"),
        asyncpg.exceptions.CannotConnectNowError("starting"),
        asyncpg.exceptions.AdminShutdownError("shutdown"),
        asyncpg.exceptions.DeadlockDetectedError("deadlock"),
        asyncpg.exceptions.SerializationError("serialization"),
        asyncpg.InterfaceError("closed"),
        asyncpg.exceptions.InternalClientError("connection lost while Postgres shut down"),
        KafkaConnectionError(),
        KafkaTimeoutError(),
        ConnectionRefusedError(),
        TimeoutError(),
    ],
)
def test_infrastructure_trouble_is_transient(exc: BaseException) -> None:
    assert is_transient(exc)


@pytest.mark.parametrize(
    "exc",
    [
        Rejected("items[0].quantity: must be >= 1"),
        ValueError("bad"),
        KeyError("x"),
        asyncpg.exceptions.UniqueViolationError("dup"),
        MessageSizeTooLargeError(),
    ],
)
def test_bugs_rules_and_refusals_are_not_transient(exc: BaseException) -> None:
    assert not is_transient(exc)
