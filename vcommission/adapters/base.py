"""What every plant server offers, whatever its protocol: :class:`PlantServer`.

Modbus TCP, OPC UA and the coming WebSocket HMI attach to a run the same way::

    async with server:                       # listens; port 0 binds a free port
        sim.listeners.append(server.on_commit)
        print(server.endpoint, server.connections)

This module imports no protocol library.
"""

from __future__ import annotations

from typing import Protocol, Self, runtime_checkable

__all__ = ["PlantServer"]


@runtime_checkable
class PlantServer(Protocol):
    """A server of a plant's process image: an async context manager.

    Entering starts it (``port`` is then the bound port, also when 0 was asked for), leaving
    stops it and closes every connection. It reads the image only through :meth:`on_commit`
    and stages client writes into it; its constructors take an optional
    ``on_connect(connected: bool)`` callback, called as :attr:`connections` changes.
    """

    #: Interface it listens on.
    host: str
    #: TCP port; the bound one once started.
    port: int

    @property
    def endpoint(self) -> str:
        """What a client is given to connect: ``host:port`` for Modbus, a URL for OPC UA."""
        ...

    @property
    def connections(self) -> int:
        """Clients connected now."""
        ...

    def on_commit(self, now_ns: int, changed: list[int]) -> None:
        """Simulator listener: serve the values that changed in the tick that just committed.

        Synchronous and non-blocking, called by the simulator after every commit.

        Args:
            now_ns: Virtual time of the commit.
            changed: Indices (in the signal table) of the signals whose value changed.
        """
        ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(self, *exc: object) -> None: ...
