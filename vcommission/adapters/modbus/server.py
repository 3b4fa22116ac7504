"""The Modbus TCP server: a listening socket, its connections, and the store behind them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from vcommission.adapters.limits import RateLimitedLog, ServerLimits
from vcommission.adapters.modbus.framing import _Connection
from vcommission.adapters.modbus.store import ProcessImageStore
from vcommission.errors import VcommissionError
from vcommission.signals import ProcessImage

if TYPE_CHECKING:
    from vcommission.config.model import Model

__all__ = ["ModbusServer"]

log = logging.getLogger(__name__)


class ModbusServer:
    """Modbus TCP server for a model's process image; an async context manager.

    A :class:`~vcommission.adapters.base.PlantServer`: ``port=0`` binds a free port;
    :attr:`port` and :attr:`endpoint` tell which after :meth:`start`. Append
    :meth:`on_commit` to the simulator's listeners.
    """

    def __init__(
        self,
        model: Model,
        image: ProcessImage,
        host: str = "127.0.0.1",
        port: int = 502,
        unit_id: int | None = None,
        on_connect: Callable[[bool], None] | None = None,
        limits: ServerLimits | None = None,
    ) -> None:
        self.store = ProcessImageStore(
            image, model.addresses, model.word_order, unit_id, model.scaling
        )
        self.host = host
        self.port = port
        #: Called with True when a client connects and False when it goes.
        self.on_connect = on_connect
        #: Connection limit, idle timeout and keepalive (see :mod:`vcommission.adapters.limits`).
        self.limits = limits if limits is not None else ServerLimits()
        #: Clients accepted and closed at once because the limit was reached.
        self.refused = 0
        #: Connections closed for sending nothing for ``limits.idle_timeout_s``.
        self.timed_out = 0
        #: One line per kind of client trouble per interval, never one per frame.
        self.events = RateLimitedLog(log)
        self._server: asyncio.Server | None = None
        self._connections: set[_Connection] = set()

    @property
    def endpoint(self) -> str:
        """``host:port`` a Modbus master is given (the bound port after :meth:`start`)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def connections(self) -> int:
        """Clients connected now."""
        return len(self._connections)

    def on_commit(self, now_ns: int, changed: list[int]) -> None:
        """Simulator listener: re-encode the signals that changed in this tick.

        The same as ``store.on_commit``, which keeps working for callers that register it.
        """
        self.store.on_commit(now_ns, changed)

    def write_backlog(self) -> int:
        """Largest number of answer bytes queued in the server for one client.

        Bounded by the transport's high-water mark plus one read's answers: past the mark the
        server stops reading that client's requests (see :mod:`vcommission.adapters.modbus`).
        """
        return max((c.buffered() for c in self._connections), default=0)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(
                lambda: _Connection(self), self.host, self.port, reuse_address=True
            )
        except OSError as exc:
            raise VcommissionError(
                f"Modbus server cannot listen on {self.host}:{self.port}: {exc}"
            ) from exc
        if self._server.sockets:
            self.port = self._server.sockets[0].getsockname()[1]
        log.info("Modbus TCP server on %s:%d", self.host, self.port)

    async def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for connection in list(self._connections):
            connection.close()
        await server.wait_closed()

    async def __aenter__(self) -> ModbusServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()
