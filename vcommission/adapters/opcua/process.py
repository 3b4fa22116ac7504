"""The OPC UA server in a process of its own, so many subscribers cannot make the tick late.

asyncua is pure Python: every notification a subscriber gets is built and encoded by the
interpreter that also steps the plant. With 20 clients of 200 items each that work took
most of a core, and a publish of many notifications runs as one piece, so ticks came late
by up to ten milliseconds (``tools/bench/soak.py --subscribers 20 --items 200``).
:class:`OpcUaProcessServer` runs the same :class:`~vcommission.adapters.opcua.OpcUaServer`
in a child process against a mirror of the process image, and the serving process only
forwards what changed:

* each commit goes to the child as one message (the changed indices and their values); the
  child puts them into its mirror and publishes them as the in-process server would;
* a client's accepted write is checked in the child by the same code (so a refusal is
  answered there) and forwarded here, where it is staged into the real image, again checked;
* the child reports its bound port at start, and its connection count as it changes.

The link is a socket pair with length-prefixed pickles (both ends are this package, the
child is our own). Writes here go through an asyncio transport, which buffers: a slow child
never blocks the tick. The child goes when the socket closes, which is also what happens
when this process dies, however it dies.

The child runs at a lower scheduling priority (``niceness``, 19 by default, added to this
process's): the tick and the Modbus link come first, OPC UA gets what they leave. With 20
clients of 200 items beside two PLCs polling every 10 ms on two cores, the child at the
serving process's priority let 1.9% of the ticks run late and the PLCs' request p99 reach
3.6 ms; at 19, 0.5% and 1.3 ms in the same run, with as many notifications delivered
(``tools/bench/soak.py --opcua-niceness``; the README has the other runs).

Reads and subscriptions see a commit a few hundred microseconds later than in-process,
which is why scenario runs (lockstep, deterministic) keep the in-process server and ``serve``
uses this one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from vcommission.adapters.limits import ServerLimits
from vcommission.addressing import opcua_endpoint
from vcommission.config.model import Model
from vcommission.errors import VcommissionError
from vcommission.signals import Direction, ProcessImage, Value

__all__ = ["OpcUaProcessServer"]

log = logging.getLogger(__name__)

_LENGTH = struct.Struct(">I")
#: Seconds the child may take to build its address space and listen.
_START_TIMEOUT_S = 60.0
#: Seconds the child may take to close its sessions before it is killed.
_STOP_TIMEOUT_S = 10.0
#: The largest message either end accepts (a commit of every signal is far below it).
_MAX_MESSAGE = 64 * 2**20


#: The child's command line (``-c``: ``-m`` of a module its package imports warns).
_CHILD = "import sys; from vcommission.adapters.opcua.process import main; sys.exit(main())"


def _frame(message: object) -> bytes:
    body = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(body)) + body


async def _read(reader: asyncio.StreamReader) -> Any:
    """The next message, or None at the end of the stream."""
    try:
        header = await reader.readexactly(_LENGTH.size)
        (size,) = _LENGTH.unpack(header)
        if size > _MAX_MESSAGE:
            raise VcommissionError(f"OPC UA process link: a message of {size} bytes")
        return pickle.loads(await reader.readexactly(size))
    except asyncio.IncompleteReadError:
        return None


class OpcUaProcessServer:
    """:class:`~vcommission.adapters.opcua.OpcUaServer` in a child process; a PlantServer.

    Same arguments, attributes and behaviour towards clients as the in-process server (the
    child runs exactly that class), except that reads see a commit slightly later.

    Args:
        model: The model whose signals are served.
        image: Its process image (accepted client writes are staged into it here).
        host: Interface to listen on.
        port: TCP port; 0 picks a free one (:attr:`port` tells which after start).
        niceness: Added to this process's niceness for the child (0: the same priority).
        options: The remaining keyword arguments of
            :class:`~vcommission.adapters.opcua.OpcUaServer` (``realtime``, ``security``,
            ``cache_dir``, ``limits``, ``on_connect``).
    """

    def __init__(
        self,
        model: Model,
        image: ProcessImage,
        host: str = "127.0.0.1",
        port: int = 4840,
        *,
        on_connect: Callable[[bool], None] | None = None,
        limits: ServerLimits | None = None,
        niceness: int = 19,
        **options: Any,
    ) -> None:
        self.model = model
        self.niceness = niceness
        self.image = image
        self.host = host
        self.port = port
        self.limits = limits if limits is not None else ServerLimits()
        self.on_connect = on_connect
        self._options = options
        #: Namespace index of the model's namespace, known after :meth:`start`.
        self.namespace_index: int | None = None
        #: Wall-clock seconds the child took to start its server.
        self.start_seconds: float | None = None
        #: The child's process id while it runs.
        self.pid: int | None = None
        self._connections = 0
        self._child: asyncio.subprocess.Process | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._listener: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None

    @property
    def endpoint(self) -> str:
        """``opc.tcp://host:port/vcommission/<model>`` (the bound port after :meth:`start`)."""
        return opcua_endpoint(self.host, self.port, self.model.name)

    @property
    def connections(self) -> int:
        """Clients connected now, as the child last reported."""
        return self._connections

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the child, hand it the model and the image's values, and wait until it listens.

        Raises:
            VcommissionError: The child could not start its server (the port cannot be
                bound, a certificate cannot be made) or did not start in time.
        """
        ours, theirs = socket.socketpair()
        try:
            self._child = await asyncio.create_subprocess_exec(
                sys.executable, "-c", _CHILD, str(theirs.fileno()),
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
            )  # fmt: skip
        finally:
            theirs.close()
        self.pid = self._child.pid
        reader, self._writer = await asyncio.open_connection(sock=ours, limit=_MAX_MESSAGE)
        self._writer.write(
            _frame(
                {
                    "model": self.model,
                    "values": self.image.committed,
                    "host": self.host,
                    "port": self.port,
                    "limits": self.limits,
                    "niceness": self.niceness,
                    "options": self._options,
                }
            )
        )
        try:
            answer = await asyncio.wait_for(_read(reader), _START_TIMEOUT_S)
        except TimeoutError:
            answer = ("failed", f"the OPC UA process did not start in {_START_TIMEOUT_S:g} s")
        if not answer or answer[0] != "ready":
            await self._end(kill=True)
            why = answer[1] if answer else "the OPC UA process exited at start"
            raise VcommissionError(why)
        _, self.port, self.namespace_index, self.start_seconds = answer
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._listener = asyncio.create_task(self._listen(reader), name="opcua-process-link")
        log.info("OPC UA server on %s in process %d", self.endpoint, self.pid)

    async def stop(self) -> None:
        """Ask the child to close every session and go; kill it if it does not."""
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        await self._end(kill=False)

    async def _end(self, kill: bool) -> None:
        writer, self._writer = self._writer, None
        child, self._child = self._child, None
        if writer is not None:
            if not kill:
                writer.write(_frame(("stop",)))
                with contextlib.suppress(ConnectionError):
                    await writer.drain()
            writer.close()
        if child is None:
            return
        try:
            if kill:
                child.kill()
            await asyncio.wait_for(child.wait(), _STOP_TIMEOUT_S)
        except TimeoutError:
            child.kill()
            await child.wait()
        self._set_connections(0)

    async def __aenter__(self) -> OpcUaProcessServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- the link ----------------------------------------------------------------------------

    def on_commit(self, now_ns: int, changed: list[int]) -> None:
        """Simulator listener: send the values that changed in this tick to the child.

        Never blocks: the transport buffers if the child is behind. Safe to call from another
        thread than the server's (the send is then handed to the server's loop).
        """
        writer = self._writer
        # A child that died closed the link: asyncio would log every write to it.
        if writer is None or writer.is_closing() or not changed:
            return
        committed = self.image.committed
        frame = _frame(("commit", now_ns, changed, [committed[index] for index in changed]))
        if threading.get_ident() != self._thread:
            assert self._loop is not None
            self._loop.call_soon_threadsafe(writer.write, frame)
            return
        writer.write(frame)

    async def _listen(self, reader: asyncio.StreamReader) -> None:
        """Stage the child's accepted writes; follow its connection count."""
        while (message := await _read(reader)) is not None:
            kind = message[0]
            if kind == "stage":
                _, index, value, allowed = message
                try:
                    self.image.stage(index, value, allowed=allowed)
                except VcommissionError as exc:  # checked in the child already: say so
                    log.warning("OPC UA write not staged: %s", exc)
            elif kind == "connections":
                self._set_connections(message[1])
        log.warning("the OPC UA process ended (exit code %s)", await self._exit_code())
        self._set_connections(0)

    async def _exit_code(self) -> int | None:
        child = self._child
        if child is None:
            return None
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(child.wait(), 1.0)
        return None

    def _set_connections(self, count: int) -> None:
        before, self._connections = self._connections, count
        if self.on_connect is not None:
            for _ in range(count - before):
                self.on_connect(True)
            for _ in range(before - count):
                self.on_connect(False)


# -- the child ---------------------------------------------------------------------------------


class _MirrorImage(ProcessImage):
    """The child's copy of the image: commits arrive from the parent, writes go back to it."""

    def __init__(self, model: Model, values: tuple[Value, ...], send: Callable[[Any], None]):
        super().__init__(model.table)
        self.committed = tuple(values)
        self._send = send

    def stage(
        self, name: str | int, value: object, allowed: Iterable[Direction] = (Direction.TO_PLANT,)
    ) -> None:
        """Check the write as the parent will (a refusal is answered here), then forward it."""
        super().stage(name, value, allowed)
        index = name if isinstance(name, int) else self.table.index(name)
        self._send(("stage", index, self._staged.pop(index), tuple(allowed)))

    def apply(self, changed: list[int], values: list[Value]) -> None:
        committed = list(self.committed)
        for index, value in zip(changed, values, strict=True):
            committed[index] = value
        self.committed = tuple(committed)


async def _serve_child(fd: int) -> int:
    from vcommission.adapters.opcua.server import OpcUaServer

    sock = socket.socket(fileno=fd)
    reader, writer = await asyncio.open_connection(sock=sock, limit=_MAX_MESSAGE)
    config = await _read(reader)
    if config is None:
        return 1
    # Below the serving process before the address space is built: its start is work too.
    os.nice(config["niceness"])

    def send(message: object) -> None:
        writer.write(_frame(message))

    image = _MirrorImage(config["model"], config["values"], send)
    server: OpcUaServer

    def connected(_: bool) -> None:
        send(("connections", server.connections))

    server = OpcUaServer(
        config["model"],
        image,
        config["host"],
        config["port"],
        limits=config["limits"],
        on_connect=connected,
        **config["options"],
    )
    try:
        await server.start()
    except Exception as exc:  # the parent reports it, with its message
        send(("failed", str(exc)))
        await writer.drain()
        return 1
    send(("ready", server.port, server.namespace_index, server.start_seconds))
    try:
        while (message := await _read(reader)) is not None and message[0] != "stop":
            _, now_ns, changed, values = message
            image.apply(changed, values)
            server.on_commit(now_ns, changed)
    finally:
        await server.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Child entry point: ``main([FD])``, FD the socket to the serving process."""
    args = sys.argv[1:] if argv is None else argv
    # Ctrl-C reaches the whole process group: the parent decides when this server stops.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="opcua process: %(message)s")
    return asyncio.run(_serve_child(int(args[0])))
