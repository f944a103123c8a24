"""shared/http_transport.py: a tick's writes leave as one, a large body at once (the real
transport's back-pressure holds), a close sends what was gathered, an abort drops it."""

from __future__ import annotations

import asyncio
from typing import Any

from orderflow.shared.http_transport import FLUSH_BYTES, GatheringTransport


class Recorded(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = self.aborted = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def get_write_buffer_size(self) -> int:
        return 7

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.protocol = protocol

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self.protocol

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self.limits = (high or 0, low or 0)

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self.limits


async def test_one_ticks_writes_leave_as_one_at_its_end() -> None:
    real = Recorded()
    gathering = GatheringTransport(real)
    gathering.write(b"HTTP/1.1 200 OK\r\n\r\n")
    gathering.write(memoryview(b'{"valid":true}'))
    assert real.writes == [] and gathering.get_write_buffer_size() == 7 + 19 + 14
    await asyncio.sleep(0)
    assert real.writes == [b'HTTP/1.1 200 OK\r\n\r\n{"valid":true}']
    gathering.write(b"next")
    await asyncio.sleep(0)
    assert real.writes[1:] == [b"next"]


async def test_a_large_body_goes_at_once_and_a_close_sends_the_rest_first() -> None:
    real = Recorded()
    gathering = GatheringTransport(real)
    gathering.write(b"h")
    gathering.write(b"x" * FLUSH_BYTES)
    assert real.writes == [b"h" + b"x" * FLUSH_BYTES]
    gathering.write(b"tail")
    gathering.close()
    assert real.writes[1:] == [b"tail"] and real.closed
    await asyncio.sleep(0)  # the scheduled flush finds nothing more
    assert len(real.writes) == 2


async def test_an_abort_drops_what_was_gathered() -> None:
    real = Recorded()
    gathering = GatheringTransport(real)
    gathering.write(b"never")
    gathering.abort()
    await asyncio.sleep(0)
    assert real.writes == [] and real.aborted and gathering.is_closing()


async def test_the_protocol_and_write_limits_are_the_real_transports() -> None:
    """An upgrade hands the socket to another protocol: it must reach the real transport."""
    real = Recorded()
    gathering = GatheringTransport(real)
    protocol = asyncio.Protocol()
    gathering.set_protocol(protocol)
    assert real.get_protocol() is protocol and gathering.get_protocol() is protocol
    gathering.set_write_buffer_limits(high=1024, low=256)
    assert gathering.get_write_buffer_limits() == real.get_write_buffer_limits() == (1024, 256)
