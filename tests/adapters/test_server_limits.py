"""Bounded servers: connection limit, idle timeout, keepalive, and logs that do not flood.

Real Modbus TCP servers on loopback, real client sockets; the rate-limited log is driven
by a hand-stepped clock, since its interval is wall-clock pacing for a human reader.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import struct
from collections.abc import AsyncIterator
from typing import Any

import pytest
from asyncua import Client

from tests.helpers import SORTING_LINE
from vcommission.adapters.limits import RateLimitedLog, ServerLimits
from vcommission.adapters.modbus import ModbusServer
from vcommission.adapters.opcua import OpcUaServer
from vcommission.config.model import load_model
from vcommission.plant.plant import Plant

pytestmark = pytest.mark.wire

READ_DI = struct.pack(">HHHBBHH", 1, 0, 6, 1, 2, 0, 10)
#: Bound on every wait: far above what loopback needs, far below a hung test.
TIMEOUT_S = 5.0


@contextlib.asynccontextmanager
async def serving(
    limits: ServerLimits, kind: type[ModbusServer] | type[OpcUaServer] = ModbusServer
) -> AsyncIterator[Any]:
    """A server of ``kind`` for the sorting line with ``limits``, on a free loopback port."""
    model = load_model(SORTING_LINE)
    with Plant(model) as plant:
        async with kind(model, plant.image, port=0, limits=limits) as server:
            yield server


async def ask(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    """One FC2 read of DI 0-9; the whole answer frame."""
    writer.write(READ_DI)
    await writer.drain()
    header = await asyncio.wait_for(reader.readexactly(6), TIMEOUT_S)
    (length,) = struct.unpack(">H", header[4:6])
    return header + await asyncio.wait_for(reader.readexactly(length), TIMEOUT_S)


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    """Whether the server closes this connection (end of stream) within the bound."""
    return await asyncio.wait_for(reader.read(1), TIMEOUT_S) == b""


async def test_past_the_limit_a_client_is_closed_at_once_and_the_others_keep_being_served():
    async with serving(ServerLimits(max_connections=3)) as server:
        clients = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(3)]
        for reader, writer in clients:
            assert (await ask(reader, writer))[7] == 2  # FC2 answered
        extra_reader, extra_writer = await asyncio.open_connection("127.0.0.1", server.port)
        assert await closed_by_server(extra_reader)
        assert server.refused == 1 and server.connections == 3
        for reader, writer in clients:
            assert (await ask(reader, writer))[7] == 2
        # One leaves: its place is free for the next client.
        clients[0][1].close()
        for _ in range(100):
            if server.connections == 2:
                break
            await asyncio.sleep(0.01)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        assert (await ask(reader, writer))[7] == 2
        assert server.refused == 1
        for _, w in [*clients[1:], (reader, writer), (extra_reader, extra_writer)]:
            w.close()


async def test_a_storm_past_the_limit_logs_one_line_not_one_per_client(caplog):
    caplog.set_level(logging.INFO, logger="vcommission.adapters.modbus")
    async with serving(ServerLimits(max_connections=4)) as server:
        held = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(4)]
        storm = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(200)]
        assert all(await asyncio.gather(*(closed_by_server(r) for r, _ in storm)))
        assert server.refused == 200
        refused_lines = [r for r in caplog.records if "refused" in r.getMessage()]
        assert len(refused_lines) == 1, [r.getMessage() for r in refused_lines]
        assert not [r for r in caplog.records if r.exc_info]
        for reader, writer in held:
            assert (await ask(reader, writer))[7] == 2
        for _, writer in held + storm:
            writer.close()


async def test_a_silent_client_is_closed_after_the_idle_timeout_and_a_polling_one_is_not():
    async with serving(ServerLimits(idle_timeout_s=0.3)) as server:
        silent_reader, silent_writer = await asyncio.open_connection("127.0.0.1", server.port)
        polling_reader, polling_writer = await asyncio.open_connection("127.0.0.1", server.port)
        loop = asyncio.get_running_loop()
        started = loop.time()
        silent_closed = asyncio.ensure_future(closed_by_server(silent_reader))
        while loop.time() - started < 0.9:  # three timeouts of polling every 0.1 s
            assert (await ask(polling_reader, polling_writer))[7] == 2
            await asyncio.sleep(0.1)
        assert await silent_closed
        assert server.timed_out == 1 and server.connections == 1
        silent_writer.close()
        polling_writer.close()


async def test_no_idle_timeout_and_no_limit_when_set_to_zero():
    async with serving(ServerLimits(max_connections=0, idle_timeout_s=0)) as server:
        clients = [await asyncio.open_connection("127.0.0.1", server.port) for _ in range(80)]
        await asyncio.sleep(0.2)
        assert server.refused == 0 and server.connections == 80
        assert (await ask(*clients[-1]))[7] == 2
        for _, writer in clients:
            writer.close()


async def test_accepted_connections_have_tcp_keepalive():
    async with serving(ServerLimits(keepalive_s=7)) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        await ask(reader, writer)
        (connection,) = server._connections
        sock = connection.transport.get_extra_info("socket")
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        if hasattr(socket, "TCP_KEEPIDLE"):
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 7
        writer.close()


def test_negative_limits_are_refused():
    with pytest.raises(ValueError, match="idle_timeout_s must not be negative"):
        ServerLimits(idle_timeout_s=-1)


def test_the_rate_limited_log_says_how_many_it_held_back(caplog):
    now = [0.0]
    events = RateLimitedLog(logging.getLogger("limits-test"), interval_s=10, clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger="limits-test")
    logged = [events.event("refused", "refused a client") for _ in range(1000)]
    assert logged.count(True) == 1 and events.held_back("refused") == 999
    assert events.event("idle", "closed an idle client")  # another class has its own tally
    now[0] = 10.0
    assert events.event("refused", "refused a client")
    assert [r.getMessage() for r in caplog.records] == [
        "refused a client",
        "closed an idle client",
        "refused a client (and 999 more in the last 10 s)",
    ]
    assert events.held_back("refused") == 0


# -- OPC UA ----------------------------------------------------------------------------------


async def garbage_frame(port: int, seed: int) -> None:
    """One connection sending one frame of a real message type with a random body."""
    rnd = random.Random(seed)
    body = bytes(rnd.randrange(256) for _ in range(rnd.randrange(8, 60)))
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"MSGF" + struct.pack("<I", 8 + len(body)) + body)
    await writer.drain()
    with contextlib.suppress(TimeoutError, ConnectionError):
        await asyncio.wait_for(reader.read(100), 0.5)
    writer.close()


async def test_opcua_past_the_limit_a_connection_is_closed_and_sessions_keep_working():
    async with (
        serving(ServerLimits(max_connections=1), OpcUaServer) as server,
        Client(server.endpoint, timeout=TIMEOUT_S) as client,
    ):
        estop = client.get_node(f"ns={server.namespace_index};s=estop_ok")
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        assert await closed_by_server(reader)
        writer.close()
        assert await estop.read_value() is True


async def test_opcua_malformed_messages_log_one_traceback_per_interval_not_one_each(caplog):
    caplog.set_level(logging.INFO)
    async with serving(ServerLimits(), OpcUaServer) as server:
        await asyncio.gather(*(garbage_frame(server.port, seed) for seed in range(60)))
        tracebacks = [r for r in caplog.records if r.exc_info]
        assert 1 <= len(tracebacks) <= 2, [r.getMessage() for r in tracebacks]
        async with Client(server.endpoint, timeout=TIMEOUT_S) as client:
            node = client.get_node(f"ns={server.namespace_index};s=estop_ok")
            assert await node.read_value() is True


async def test_opcua_connections_have_tcp_keepalive():
    async with (
        serving(ServerLimits(keepalive_s=9), OpcUaServer) as server,
        Client(server.endpoint, timeout=TIMEOUT_S),
    ):
        (sock,) = [c.transport.get_extra_info("socket") for c in server._server.bserver.clients]
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        if hasattr(socket, "TCP_KEEPIDLE"):
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 9
