"""Which failures are worth retrying, and the error a handler raises to dead-letter a record."""

from __future__ import annotations

import asyncpg
from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError


class Rejected(Exception):
    """The record can never succeed (undecodable, invalid, breaks a rule): dead-letter it."""

    def __init__(self, reason: str, error_type: str = "invalid") -> None:
        super().__init__(reason)
        self.reason = reason
        self.error_type = error_type


_TRANSIENT_PG = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    # What asyncpg's pool raises for a connection lost under it mid-operation (seen while
    # Postgres shut down: `make chaos`, postgres-down); the next attempt gets a new one.
    asyncpg.exceptions.InternalClientError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.LockNotAvailableError,
)


def is_transient(exc: BaseException) -> bool:
    """Infrastructure trouble that may pass: retried with backoff, never skipped."""
    if isinstance(exc, (*_TRANSIENT_PG, KafkaConnectionError, KafkaTimeoutError)):
        return True
    if isinstance(exc, KafkaError) and getattr(exc, "retriable", False):
        return True
    return isinstance(exc, OSError | TimeoutError | ConnectionError)
