"""``vcommission serve``: run a model in real time and serve its I/O to PLCs.

The plant runs paced against the wall clock (``--speed`` times real time) in one asyncio
loop beside the protocol servers; the servers only stage writes, the simulator task alone
steps physics and commits. On a terminal a rich live view shows every PLC-facing tag with its
value and last change, the connected clients, the overruns and the watchdog, and keys 1..9
operate the panel (push buttons, e-stop, doors); when piped, plain lines. Ctrl-C, SIGTERM
and ``q`` stop it cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from vcommission.adapters.limits import ServerLimits
from vcommission.clock import DEFAULT_RT_PRIORITY, ClockMode, ns_to_s, s_to_ns
from vcommission.config.model import load_model
from vcommission.session import ServerProtocol, Session, SessionBuilder, stop_on_signals
from vcommission.signals import Direction
from vcommission.simulator import Simulator
from vcommission.watchdog import WatchdogConfig

if TYPE_CHECKING:
    from vcommission.adapters.opcua import OpcUaSecurity

__all__ = ["SERVED_HISTORY", "ServeOptions", "parse_endpoint", "serve"]

#: Records kept per event kind by a served plant (retired parts, bin arrivals).
SERVED_HISTORY = 1_000


def parse_endpoint(text: str, default_port: int) -> tuple[str, int] | None:
    """``HOST:PORT``, ``HOST`` or ``:PORT`` -> (host, port); ``off`` -> None."""
    if text == "off":
        return None
    host, colon, port = text.rpartition(":")
    if not colon:
        host, port = text, str(default_port)
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"bad endpoint {text!r}: write HOST:PORT, e.g. 127.0.0.1:5020")
    return (host or "127.0.0.1", int(port))


@dataclass
class ServeOptions:
    """What ``serve`` serves and how."""

    #: Modbus TCP endpoint, None for no Modbus server.
    modbus: tuple[str, int] | None = ("127.0.0.1", 502)
    #: OPC UA endpoint, None for no OPC UA server.
    opcua: tuple[str, int] | None = ("127.0.0.1", 4840)
    #: Modbus unit id to answer; None answers any.
    unit_id: int | None = None
    #: Speed factor against the wall clock.
    speed: float = 1.0
    #: SCHED_FIFO priority of the ticking thread where allowed (0: normal priority): the
    #: tick and the PLC link before everything else on the machine.
    rt_priority: int = DEFAULT_RT_PRIORITY
    #: Stop after this many seconds of virtual time; None runs until stopped.
    duration: float | None = None
    #: PLC watchdog timeout in seconds, overriding the model's; 0 disables it.
    watchdog: float | None = None
    #: Client mode: the PLC's own Modbus server to poll, None for none.
    modbus_client: tuple[str, int] | None = None
    #: Client map file; None uses :meth:`ClientMap.default`.
    client_map: Path | None = None
    #: Connection limit, idle timeout and keepalive of both servers.
    limits: ServerLimits = field(default_factory=ServerLimits)
    #: OPC UA endpoints, certificate and users (``OpcUaSecurity``); None: no security.
    opcua_security: OpcUaSecurity | None = None
    #: Run the OPC UA server in a child process (``OpcUaProcessServer``): its clients'
    #: notifications are then built beside the tick rather than in between ticks.
    opcua_process: bool = True
    #: Timed operator actions to play from the start (``--operator-script``), or None.
    operator_script: Path | None = None
    #: The training pages' endpoint (``--web``: trainee and instructor pages), None for none.
    web: tuple[str, int] | None = None


@dataclass
class _Activity:
    """When each tag last changed, for the live view."""

    last_change: dict[int, int] = field(default_factory=dict)

    def on_commit(self, now_ns: int, changed: list[int]) -> None:
        for index in changed:
            self.last_change[index] = now_ns


def _view(
    session: Session,
    activity: _Activity,
    endpoints: list[str],
    legend: str,
) -> Group:
    model, sim, watchdog = session.model, session.sim, session.watchdog
    pacer = sim.pacer
    overruns = pacer.late_ticks if pacer else 0
    state = "off" if watchdog is None else "TRIPPED" if watchdog.tripped else "ok"
    header = Text(
        f"{model.name}  t={ns_to_s(sim.now_ns):9.2f} s  speed {pacer.speed if pacer else 1:g}x  "
        f"clients {session.connections()}  overruns {overruns}  watchdog {state}  "
        f"{'  '.join(endpoints)}"
    )
    table = Table(box=None, pad_edge=False)
    for column in ("tag", "dir", "address", "value", "last change"):
        table.add_column(column)
    committed = sim.image.committed
    for row in model.io_rows():
        index = model.table.index(row.tag)
        changed = activity.last_change.get(index)
        table.add_row(
            row.tag,
            "in" if row.direction.value == "from_plant" else "out",
            f"{row.modbus} {row.iec}",
            str(committed[index]),
            "" if changed is None else f"{ns_to_s(changed):.2f} s",
        )
    return Group(header, table, Text(legend)) if legend else Group(header, table)


#: How long a key in the live view holds a momentary button down, virtual seconds.
PRESS_S = 0.5


class _OperatorKeys:
    """Keys 1..9 of the live view operate the model's operator inputs, in declaration order.

    Momentary devices (push buttons) are pressed for :data:`PRESS_S`; the others (e-stop,
    door) toggle. Presses are staged like any operator write: they show at the next tick.
    """

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        plant = sim.plant
        self.tags: list[tuple[str, bool]] = []
        for entry in plant.model.table:
            if entry.direction is Direction.OPERATOR:
                component = plant.by_name.get(entry.name.split(".")[0])
                self.tags.append((entry.name, bool(component and component.momentary)))
        self.tags = self.tags[:9]
        self._release: dict[str, int] = {}

    def legend(self) -> str:
        return "  ".join(f"[{i}] {tag}" for i, (tag, _) in enumerate(self.tags, 1)) + "  [q] quit"

    def key(self, char: str) -> bool:
        """Handle one key; False for quit."""
        if char in ("q", "Q"):
            return False
        if char.isdigit() and 1 <= int(char) <= len(self.tags):
            tag, momentary = self.tags[int(char) - 1]
            if momentary:
                self.sim.operate(tag, True)
                self._release[tag] = self.sim.now_ns + s_to_ns(PRESS_S)
            else:
                self.sim.operate(tag, not self.sim.image[tag])
        return True

    def __call__(self, now_ns: int, changed: list[int]) -> None:
        """Simulator monitor: release momentary buttons when their press time is over."""
        for tag, due in list(self._release.items()):
            if now_ns >= due:
                self.sim.operate(tag, False)
                del self._release[tag]


@contextlib.contextmanager
def _keyboard(keys: _OperatorKeys, stop: asyncio.Event) -> Iterator[bool]:
    """Feed single keystrokes from a terminal to ``keys``; yields False when not a terminal."""
    if not sys.stdin.isatty():
        yield False
        return
    import termios
    import tty

    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    loop = asyncio.get_running_loop()

    def on_key() -> None:
        for char in os.read(fd, 32).decode(errors="ignore"):
            if not keys.key(char):
                stop.set()

    tty.setcbreak(fd)
    loop.add_reader(fd, on_key)
    try:
        yield True
    finally:
        loop.remove_reader(fd)
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


async def serve(model_path: str | Path, options: ServeOptions, console: Console) -> Simulator:
    """Run the model in real time and serve it until the duration ends or a signal arrives."""
    model = load_model(model_path)
    script = None
    if options.operator_script is not None:
        from vcommission.scenario.script import load_operator_script

        # Before anything listens: a broken script is a located error, exit 1.
        script = load_operator_script(options.operator_script, model)
    # No recorder: a served plant may run for days, and nothing reads its history.
    builder = (
        SessionBuilder(model)
        .clock(ClockMode.REALTIME, options.speed, options.rt_priority)
        .recorder(None)
    )
    if options.watchdog is not None:
        builder.watchdog(WatchdogConfig(options.watchdog, model.watchdog.safe_state))
    if options.modbus is not None:
        host, port = options.modbus
        builder.serve(
            ServerProtocol.MODBUS, host, port, unit_id=options.unit_id, limits=options.limits
        )
    if options.opcua is not None:
        host, port = options.opcua
        opcua_options: dict[str, object] = {
            "limits": options.limits,
            "process": options.opcua_process,
        }
        if options.opcua_security is not None:
            opcua_options["security"] = options.opcua_security
        builder.serve(ServerProtocol.OPCUA, host, port, **opcua_options)
    if options.modbus_client is not None:
        from vcommission.adapters.modbus import ClientMap, load_client_map

        mapping = (
            load_client_map(options.client_map, model)
            if options.client_map
            else ClientMap.default(model)
        )
        builder.poll_plc(*options.modbus_client, mapping)
    trainings: list = []
    token = ""
    if options.web is not None:
        import secrets

        from vcommission.training import TrainingSession
        from vcommission.web import web_server

        def training_of(session: Session) -> TrainingSession:
            trainings.append(TrainingSession(session))
            return trainings[-1]

        token = secrets.token_urlsafe(24)
        host, port = options.web
        builder.attach(web_server(training_of, host=host, port=port, token=token))
    activity = _Activity()
    with builder.build() as session:
        sim, watchdog = session.sim, session.watchdog
        # A served plant may run for days: keep recent part records only (counts stay exact).
        session.plant.bound_history(SERVED_HISTORY)
        sim.listeners.append(activity.on_commit)
        async with session:
            endpoints: list[str] = []
            for protocol, server in session.served():
                if protocol is ServerProtocol.MODBUS:
                    endpoints.append(f"modbus tcp://{server.host}:{server.port}")
                    console.print(f"modbus listening on {server.host}:{server.port}", markup=False)
                else:
                    endpoints.append(server.endpoint)
                    console.print(f"opcua listening on {server.endpoint}", markup=False)
            for server in session.servers[len(session.served()) :]:
                endpoints.append(server.endpoint)
                console.print(f"trainee page:    {server.endpoint}", markup=False)
                console.print(
                    f"instructor page: {server.endpoint}instructor?token={token}", markup=False
                )
                console.print(f"instructor token: {token}", markup=False)
            if options.modbus_client is not None:
                host, port = options.modbus_client
                endpoints.append(f"modbus client -> {host}:{port}")
                console.print(f"modbus client polling {host}:{port}", markup=False)
            if sim.pacer is not None and sim.pacer.rt_priority:
                console.print(f"tick thread: {sim.pacer.take_priority()}", markup=False)
            stop = asyncio.Event()
            keys = _OperatorKeys(sim)
            sim.monitors.append(keys)
            if script is not None:
                from vcommission.scenario.context import RunContext
                from vcommission.scenario.script import ScriptPlayer

                player = ScriptPlayer(
                    script,
                    RunContext(None, session),
                    lambda line: console.print(line, markup=False, highlight=False),
                )
                sim.monitors.append(player)
                player.start()
            with stop_on_signals(stop), _keyboard(keys, stop) as interactive:
                legend = keys.legend() if interactive else ""
                # With the pages, their session steps the plant (the instructor may pause it).
                stepper = trainings[0].run_async if trainings else sim.run_async
                run = asyncio.create_task(stepper(options.duration))
                stopped = asyncio.create_task(stop.wait())
                view = functools.partial(_view, session, activity, endpoints, legend)
                live = (
                    Live(view(), console=console, auto_refresh=False)
                    if console.is_terminal
                    else contextlib.nullcontext()
                )
                with live:
                    while not run.done() and not stop.is_set():
                        await asyncio.wait({run, stopped}, timeout=0.25)
                        if isinstance(live, Live):
                            live.update(view(), refresh=True)
                stopped.cancel()
                if not run.done():
                    run.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await run
                else:
                    run.result()  # surface a simulator failure
        overruns = sim.pacer.late_ticks if sim.pacer else 0
        for event in watchdog.events if watchdog else []:
            console.print(
                f"watchdog {event.kind} at t={ns_to_s(event.time_ns):.2f} s", markup=False
            )
        console.print(
            f"stopped at t={ns_to_s(sim.now_ns):.2f} s after {sim.ticks} ticks, "
            f"{overruns} overruns",
            markup=False,
        )
        return sim
