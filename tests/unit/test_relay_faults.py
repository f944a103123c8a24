"""Which publish failures park a row: only what no retry can fix."""

from __future__ import annotations

from aiokafka.errors import (
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotLeaderForPartitionError,
    UnknownError,
    UnknownTopicOrPartitionError,
)

from orderflow.shared.relay import can_never_publish


def test_a_record_too_large_can_never_be_published() -> None:
    assert can_never_publish(MessageSizeTooLargeError("2 MiB"))


def test_unknown_and_missing_topic_errors_are_retried_not_parked() -> None:
    # Tansu answers UnknownError while it restarts; a topic lost with the broker comes back.
    for error in (
        UnknownError(),
        UnknownTopicOrPartitionError(),
        NotLeaderForPartitionError(),
        KafkaTimeoutError(),
        ConnectionResetError(),
    ):
        assert not can_never_publish(error), error
