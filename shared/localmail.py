"""A local SMTP server (aiosmtpd) that keeps what it receives: for `orderflow run` and tests.

Nothing leaves the machine: every message is kept in memory and, given a directory,
saved there as `<n>-<message id>.eml`, readable with any mail client.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def parse(raw: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(raw)


class LocalMailbox:
    """aiosmtpd handler (runs on the controller's thread)."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory
        self._messages: list[EmailMessage] = []
        self._lock = threading.Lock()
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = bytes(envelope.original_content or envelope.content)
        message = parse(raw)
        with self._lock:
            self._messages.append(message)
        if self.directory is not None:
            stem = _UNSAFE.sub("_", str(message.get("Message-ID", "")).strip("<>"))
            (self.directory / f"{time.time_ns()}-{stem}.eml").write_bytes(raw)
        return "250 Message accepted for delivery"

    @property
    def messages(self) -> list[EmailMessage]:
        with self._lock:
            return list(self._messages)


@contextlib.contextmanager
def local_smtp(
    port: int, directory: Path | None = None, host: str = "127.0.0.1"
) -> Iterator[LocalMailbox]:
    """An SMTP server on `host:port` while the block runs."""
    mailbox = LocalMailbox(directory)
    controller = Controller(mailbox, hostname=host, port=port)
    controller.start()
    try:
        yield mailbox
    finally:
        controller.stop()


def read_mailbox(directory: Path) -> list[EmailMessage]:
    """Every saved message, oldest first."""
    if not directory.is_dir():
        return []
    return [parse(file.read_bytes()) for file in sorted(directory.glob("*.eml"))]
