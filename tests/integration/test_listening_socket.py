"""The API's socket: accepted connections must have TCP_NODELAY (else keep-alive answers stall ~40 ms)."""

from __future__ import annotations

import asyncio
import socket

from driver.service.process import listening_socket


async def test_accepted_connections_get_tcp_nodelay() -> None:
    sock = listening_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted: socket.socket = writer.get_extra_info("socket")
        seen.set_result(accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(on_connect, sock=sock)
    async with server:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(seen, 5) != 0
        writer.close()
        await writer.wait_closed()


def test_port_zero_binds_a_free_port() -> None:
    sock = listening_socket("127.0.0.1", 0)
    try:
        assert sock.getsockname()[1] > 0
    finally:
        sock.close()
