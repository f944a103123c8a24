"""The HTTP edge's listening socket: answers on a kept-alive connection are not held back
by Nagle's algorithm (asyncio sets TCP_NODELAY only on sockets whose proto says TCP)."""

from __future__ import annotations

import asyncio
import socket

from orderflow.shared.service import bind_socket


async def test_accepted_connections_have_nagle_turned_off() -> None:
    accepted: asyncio.Queue[socket.socket] = asyncio.Queue()

    class Keep(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            accepted.put_nowait(transport.get_extra_info("socket"))

    listening = bind_socket("127.0.0.1", 0)
    server = await asyncio.get_running_loop().create_server(Keep, sock=listening)
    try:
        _, writer = await asyncio.open_connection(*listening.getsockname())
        served = await asyncio.wait_for(accepted.get(), 5)
        assert served.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        writer.close()
    finally:
        server.close()
        await server.wait_closed()
