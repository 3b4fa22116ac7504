"""The one composition root: every run of a plant is assembled here (:class:`SessionBuilder`).

A session is a plant, the simulator that steps it, a recorder, and whatever the run needs
around them: an in-process PLC on its :class:`~vcommission.adapters.inprocess.InProcessLink`,
protocol servers (Modbus TCP, OPC UA; anything that is a
:class:`~vcommission.adapters.base.PlantServer`), the link proxy an external PLC connects
through, a Modbus client-mode poller, and the PLC communication watchdog. ``vcommission run``
(the scenario runner), ``serve``, ``demo`` and the pytest ``Harness`` all ask the builder, so
they get the same wiring, started in order and torn down in reverse (Drake's
``DiagramBuilder``: add the parts, ``build()``, run).

Building is synchronous (the plant, the simulator, the PLC, the recorder, the watchdog); the
servers, the proxy and the poller are asyncio resources, started by ``async with session``.
A session without them may be used as a plain ``with`` block, or not at all.

Which protocol servers exist is a table (:data:`SERVERS`, protocol -> factory), so a new one
(the coming WebSocket HMI) is one entry; the factories import their protocol library only
when called, so building a session without servers imports none.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from vcommission.adapters.inprocess import InProcessLink
from vcommission.clock import ClockMode
from vcommission.plant.plant import Plant
from vcommission.plc import PlcProgram, SoftPlc
from vcommission.signals import ProcessImage
from vcommission.simulator import ChangeRecorder, Simulator
from vcommission.watchdog import CommWatchdog, WatchdogConfig

if TYPE_CHECKING:
    from vcommission.adapters.base import PlantServer
    from vcommission.adapters.proxy import LinkProxy
    from vcommission.config.model import Model

__all__ = ["SERVERS", "ServerProtocol", "Session", "SessionBuilder", "stop_on_signals"]

logger = logging.getLogger(__name__)


class ServerProtocol(str, Enum):
    """How a served plant is reached."""

    MODBUS = "modbus"
    OPCUA = "opcua"


def _modbus_server(model: Model, image: ProcessImage, host: str, port: int, **options: Any):
    from vcommission.adapters.modbus import ModbusServer

    return ModbusServer(model, image, host, port, **options)


def _opcua_server(
    model: Model, image: ProcessImage, host: str, port: int, process: bool = False, **options: Any
):
    """The OPC UA server; ``process=True`` runs it in a child process (see its module)."""
    from vcommission.adapters.opcua import OpcUaProcessServer, OpcUaServer

    # A served plant runs on the wall clock, so the server keeps its own clock running.
    options.setdefault("realtime", True)
    factory = OpcUaProcessServer if process else OpcUaServer
    return factory(model, image, host, port, **options)


#: Protocol -> ``factory(model, image, host, port, **options) -> PlantServer``.
SERVERS: dict[ServerProtocol, Callable[..., PlantServer]] = {
    ServerProtocol.MODBUS: _modbus_server,
    ServerProtocol.OPCUA: _opcua_server,
}

#: ``watchdog()`` argument meaning "the model's own ``plc_watchdog``".
MODEL_WATCHDOG: Any = object()


@dataclass(frozen=True)
class _ServerPlan:
    protocol: ServerProtocol
    host: str
    port: int
    options: dict[str, Any]


@dataclass
class Session:
    """One assembled run; see the module docstring. Made by :meth:`SessionBuilder.build`."""

    model: Model
    plant: Plant
    sim: Simulator
    #: Records every committed change (a :class:`ChangeRecorder` or a subclass); None when
    #: asked for none (``serve`` runs for days: it must not keep every change).
    recorder: ChangeRecorder | None
    #: The in-process PLC and its link (both None without one).
    plc: SoftPlc | None = None
    link: InProcessLink | None = None
    watchdog: CommWatchdog | None = None
    #: The servers, in the order they were asked for (filled by :meth:`start`).
    servers: list[PlantServer] = field(default_factory=list)
    #: The proxy in front of the first server (link faults act on it), if asked for.
    proxy: LinkProxy | None = None
    #: The Modbus client-mode poller, if asked for.
    poller: Any = None
    #: Whether :meth:`close` closes the plant (the builder made it).
    owns_plant: bool = False
    _plans: list[_ServerPlan] = field(default_factory=list)
    _want_proxy: bool = False
    _proxy_endpoint: tuple[str | None, int] = (None, 0)
    _poller_plan: tuple[str, int, Any] | None = None
    #: Servers that need the whole session (the web HMI), made at start by ``factory(self)``.
    _attached: list[Callable[[Session], PlantServer]] = field(default_factory=list)
    _stack: contextlib.AsyncExitStack | None = None

    # -- asyncio resources

    async def start(self) -> None:
        """Start the servers in order, then the proxy and the poller; undo all on failure."""
        stack = contextlib.AsyncExitStack()
        await stack.__aenter__()
        try:
            for plan in self._plans:
                server = SERVERS[plan.protocol](
                    self.model, self.plant.image, plan.host, plan.port, **plan.options
                )
                await stack.enter_async_context(server)
                self.servers.append(server)
                self.sim.listeners.append(server.on_commit)
                stack.callback(self.sim.listeners.remove, server.on_commit)
            for factory in self._attached:
                server = await stack.enter_async_context(factory(self))
                self.servers.append(server)
                self.sim.listeners.append(server.on_commit)
                stack.callback(self.sim.listeners.remove, server.on_commit)
            if self._want_proxy:
                from vcommission.adapters.proxy import LinkProxy

                first = self.servers[0]
                host, port = self._proxy_endpoint
                self.proxy = await stack.enter_async_context(
                    LinkProxy(first.host, first.port, host=host or first.host, port=port)
                )
            if self._poller_plan is not None:
                from vcommission.adapters.modbus import ModbusClientLink

                host, port, mapping = self._poller_plan
                self.poller = await stack.enter_async_context(
                    ModbusClientLink(self.model, self.plant.image, host, port, mapping)
                )
        except BaseException:
            await stack.aclose()
            self.servers.clear()
            self.proxy = self.poller = None
            raise
        self._stack = stack

    async def stop(self) -> None:
        """Tear down what :meth:`start` started, in reverse."""
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()
        self.servers.clear()
        self.proxy = self.poller = None

    async def __aenter__(self) -> Session:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the plant if this session made it (a kept plant is the owner's)."""
        if self.owns_plant:
            self.plant.close()

    # -- what clients are given

    def served(self) -> list[tuple[ServerProtocol, PlantServer]]:
        """The started servers with their protocols, in the order they were asked for."""
        return [(plan.protocol, server) for plan, server in zip(self._plans, self.servers)]  # noqa: B905 - servers may be fewer while starting

    def dialled(self, server: PlantServer) -> str:
        """``server``'s endpoint as a client dials it: the proxy's when one stands in front.

        The server's own endpoint with the proxy's host and port in it (OPC UA URLs carry a
        path; an IPv6 host is in brackets in both).
        """
        if self.proxy is None or not self.servers or server is not self.servers[0]:
            return server.endpoint
        return server.endpoint.replace(
            _host_port(server.host, server.port), _host_port(self.proxy.host, self.proxy.port), 1
        )

    def connections(self) -> int:
        """Clients connected to all servers now."""
        return sum(server.connections for server in self.servers)


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class SessionBuilder:
    """Assembles a :class:`Session`; every method returns the builder.

    Args:
        model: The model to run.
        plant: A plant of ``model`` to run (kept by its owner, e.g. a worker's cache, and
            already reset); by default the builder makes one, closed with the session.
        seed: The new plant's seed (ignored with ``plant``).
    """

    def __init__(self, model: Model, plant: Plant | None = None, seed: int | None = None):
        self._model = model
        self._plant = plant
        self._seed = seed
        self._mode = ClockMode.FAST
        self._speed = 1.0
        self._rt_priority = 0
        self._program: PlcProgram | None = None
        self._recorder: Callable[[ProcessImage], ChangeRecorder] | None = ChangeRecorder
        self._watchdog: Any = MODEL_WATCHDOG
        self._plans: list[_ServerPlan] = []
        self._proxy = False
        self._proxy_endpoint: tuple[str | None, int] = (None, 0)
        self._poller: tuple[str, int, Any] | None = None
        self._attached: list[Callable[[Session], PlantServer]] = []

    def clock(self, mode: ClockMode, speed: float = 1.0, rt_priority: int = 0) -> SessionBuilder:
        """How time runs (``fast`` by default; ``realtime`` at ``speed`` times real time).

        ``rt_priority`` (1-99; 0: none): the SCHED_FIFO priority the pacing thread takes
        while it paces, where the OS allows it (:class:`~vcommission.clock.RealTimePacer`).
        """
        self._mode, self._speed, self._rt_priority = mode, speed, rt_priority
        return self

    def plc(self, program: PlcProgram | None) -> SessionBuilder:
        """Scan ``program`` on the built-in soft PLC, in-process, over an in-process link."""
        self._program = program
        return self

    def recorder(self, factory: Callable[[ProcessImage], ChangeRecorder] | None) -> SessionBuilder:
        """Record with ``factory(image)`` instead of a plain :class:`ChangeRecorder`; None: not."""
        self._recorder = factory
        return self

    def watchdog(self, config: WatchdogConfig | None = MODEL_WATCHDOG) -> SessionBuilder:
        """The PLC watchdog: the model's own by default, ``None`` for none.

        It is attached whenever a PLC talks to the plant (in-process, or through a server)
        and its timeout is above 0.
        """
        self._watchdog = config
        return self

    def serve(
        self, protocol: ServerProtocol | str, host: str = "127.0.0.1", port: int = 0, **options
    ) -> SessionBuilder:
        """Serve the plant's I/O over ``protocol`` (port 0: a free one), started in order."""
        self._plans.append(_ServerPlan(ServerProtocol(protocol), host, port, dict(options)))
        return self

    def attach(self, factory: Callable[[Session], PlantServer]) -> SessionBuilder:
        """Serve through ``factory(session)``, a server that needs the whole session.

        The web HMI shows the plant's bodies and steers the run (pause, faults), so it gets
        the session rather than the image; it starts after the protocol servers, like them
        as a commit listener, and is stopped before them.
        """
        self._attached.append(factory)
        return self

    def through_proxy(self, host: str | None = None, port: int = 0) -> SessionBuilder:
        """Put a :class:`~vcommission.adapters.proxy.LinkProxy` in front of the first server.

        It listens on ``host`` (default: the server's) and ``port`` (0: a free one): give the
        endpoint the PLC was told, and serve the first server on a loopback port of its own.
        """
        self._proxy = True
        self._proxy_endpoint = (host, port)
        return self

    def poll_plc(self, host: str, port: int, mapping: Any) -> SessionBuilder:
        """Poll a PLC that is itself a Modbus server (client mode), with ``mapping``."""
        self._poller = (host, port, mapping)
        return self

    def build(self) -> Session:
        """The plant, the simulator, the PLC and the monitors, wired; servers wait for start."""
        model = self._model
        if self._proxy and not self._plans:
            raise ValueError("a link proxy needs a server to stand in front of")
        owns = self._plant is None
        plant = Plant(model, self._seed) if owns else self._plant
        assert plant is not None
        try:
            sim = Simulator(plant, self._mode, self._speed, self._rt_priority)
            recorder = None
            if self._recorder is not None:
                recorder = self._recorder(plant.image)
                sim.monitors.append(recorder)
            plc = link = None
            if self._program is not None:
                plc = SoftPlc(self._program)
                link = InProcessLink(plant.image, plc)
                sim.add_controller(link, plc.period_s)
            watchdog = self._make_watchdog(plant.image, link)
            if watchdog is not None:
                sim.monitors.append(watchdog)
        except BaseException:
            if owns:
                plant.close()
            raise
        return Session(
            model,
            plant,
            sim,
            recorder,
            plc,
            link,
            watchdog,
            owns_plant=owns,
            _plans=list(self._plans),
            _want_proxy=self._proxy,
            _proxy_endpoint=self._proxy_endpoint,
            _poller_plan=self._poller,
            _attached=list(self._attached),
        )

    def _make_watchdog(
        self, image: ProcessImage, link: InProcessLink | None
    ) -> CommWatchdog | None:
        config = self._model.watchdog if self._watchdog is MODEL_WATCHDOG else self._watchdog
        # A PLC talks to the plant in-process (its scans are the heartbeat), or through a
        # server or a poller (its writes are).
        talks = link is not None or self._plans or self._poller is not None
        if config is None or config.timeout <= 0 or not talks:
            return None
        return CommWatchdog(image, config, heartbeat=link.heartbeat if link else None)


@contextlib.contextmanager
def stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    """SIGINT and SIGTERM set ``stop`` while inside.

    Only where the loop can take signals (the main thread); elsewhere, and on systems without
    them, nothing is installed.
    """
    loop = asyncio.get_running_loop()
    handled = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            handled.append(sig)
    try:
        yield
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
