"""``vcommission train``: a plant in real time with its PLC and the web pages, one event loop.

The plant is driven by the built-in ST PLC in-process (by default the model's own program,
``--plc`` for another) or, with ``--modbus``/``--opcua`` and no ``--plc``, by an external PLC
over those servers. The web server attaches to the same session (the composition root,
:meth:`SessionBuilder.attach <vcommission.session.SessionBuilder.attach>`), and the printed
URLs lead to the trainee page and, with the printed token, to the instructor's. With
``--exercise`` the session scores the trainee: the results JSON and the trace are written when
the exercise ends, when the instructor scores it, or when the session stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vcommission.clock import DEFAULT_RT_PRIORITY, ClockMode
from vcommission.config.model import load_model
from vcommission.errors import ConfigError
from vcommission.scenario.trace import TraceRecorder
from vcommission.session import ServerProtocol, SessionBuilder, stop_on_signals
from vcommission.training.session import TrainingSession
from vcommission.web.server import WebServer, web_server

if TYPE_CHECKING:
    from rich.console import Console

    from vcommission.session import Session

__all__ = ["TrainOptions", "TrainingThread", "train"]


@dataclass
class TrainOptions:
    """What ``train`` runs and serves."""

    #: The exercise (a scenario file), or None for free practice.
    exercise: Path | None = None
    #: ST program for the built-in PLC; None: the exercise's or the model's own, unless a
    #: server is asked for (then an external PLC drives the plant).
    plc: Path | None = None
    #: Modbus TCP / OPC UA endpoints to serve (an external PLC, or other clients watching).
    modbus: tuple[str, int] | None = None
    opcua: tuple[str, int] | None = None
    #: The web pages' endpoint.
    web: tuple[str, int] = ("127.0.0.1", 8080)
    speed: float = 1.0
    #: SCHED_FIFO priority of the ticking thread where allowed (0: normal priority).
    rt_priority: int = DEFAULT_RT_PRIORITY
    #: Stop after this many seconds of virtual time; None runs until stopped.
    duration: float | None = None
    #: The exercise's results JSON (default ``<exercise>-results.json`` here) and trace folder.
    json: Path | None = None
    trace_dir: Path | None = None
    seed: int | None = None
    #: The instructor's token; None makes a fresh one (``secrets.token_urlsafe``).
    token: str | None = None


def _say(console: Console, text: str) -> None:
    console.print(text, markup=False, highlight=False)


async def train(
    model_path: str | Path,
    options: TrainOptions,
    console: Console,
    started: Callable[[WebServer, Callable[[], None]], None] | None = None,
) -> TrainingSession:
    """Run a training session until the duration ends or a signal arrives.

    ``started(web, stop)`` (for tests and tools) is called once the pages are served, with the
    web server and a function that stops the session from any thread.

    Raises:
        ConfigError: a broken exercise, located; an exercise of another model.
        PlcCompileError: a program that does not compile.
    """
    from vcommission.plc import compile_program, model_program
    from vcommission.scenario.provenance import file_sha256, model_sha256

    model_file = Path(model_path).resolve()
    exercise = None
    if options.exercise is not None:
        from vcommission.scenario.loader import load_scenarios

        cases = load_scenarios(options.exercise, plc=options.plc)
        exercise = cases[0]
        folder = model_file if model_file.is_dir() else model_file.parent
        if exercise.model_path != folder and exercise.model_path != model_file:
            raise ConfigError(
                f"{options.exercise}:0: model: the exercise is for {exercise.model_path}, "
                f"not {folder}"
            )
    # The exercise's own loaded model (the same folder); checked first, loaded once.
    model = load_model(exercise.model_path if exercise is not None else model_file)
    external = options.plc is None and (options.modbus is not None or options.opcua is not None)
    program_path: Path | None = None
    if not external:
        if options.plc is not None:
            program_path = options.plc.resolve()
        elif exercise is not None and exercise.program_path is not None:
            program_path = exercise.program_path
        else:
            program_path = model_program(model_file)
    hashes = {"model": model_sha256(model_file)}
    program = None
    if program_path is not None:
        hashes["program"] = file_sha256(program_path)
        program = compile_program(program_path, model)
    results = options.json
    if exercise is not None and results is None:
        results = Path(f"{Path(exercise.file).stem}-results.json")
    token = options.token or secrets.token_urlsafe(24)
    seed = options.seed if options.seed is not None else (exercise.seed if exercise else None)
    builder = (
        SessionBuilder(model, seed=seed)
        .clock(ClockMode.REALTIME, options.speed, options.rt_priority)
        .recorder(TraceRecorder)
        .plc(program)
    )
    # An external PLC reaches the plant through a proxy on the endpoint it was given (the
    # first of --modbus, --opcua), so the instructor's link faults (lost_connection,
    # latency) act on its wire, as in a scenario run; that server listens on loopback behind.
    behind = ("127.0.0.1", 0)
    if options.modbus is not None:
        builder.serve(ServerProtocol.MODBUS, *(behind if external else options.modbus))
    if options.opcua is not None:
        proxied = external and options.modbus is None
        # In a process of its own, as serve runs it: the trainee's plant runs in real time.
        builder.serve(ServerProtocol.OPCUA, *(behind if proxied else options.opcua), process=True)
    if external:
        builder.through_proxy(*(options.modbus or options.opcua))
    made: list[TrainingSession] = []

    def training_of(session: Session) -> TrainingSession:
        training = TrainingSession(session, exercise, results, options.trace_dir, hashes)
        made.append(training)
        return training

    host, port = options.web
    builder.attach(web_server(training_of, host=host, port=port, token=token))
    with builder.build() as session:
        async with session:
            training = made[0]
            web = next(s for s in session.servers if isinstance(s, WebServer))
            for protocol, server in session.served():
                # What the PLC dials: the proxy in front of the first server, if there is one.
                _say(console, f"{protocol.value} listening on {session.dialled(server)}")
            who = "the built-in PLC" if program_path else "an external PLC (over the servers)"
            _say(console, f"{model.name}: driven by {who}"
                 + (f", exercise {exercise.name}" if exercise else ""))  # fmt: skip
            _say(console, f"trainee page:    {web.endpoint}")
            _say(console, f"instructor page: {web.instructor_url}")
            _say(console, f"instructor token: {token}")
            pacer = training.sim.pacer
            if pacer is not None and pacer.rt_priority:
                _say(console, f"tick thread: {pacer.take_priority()}")
            stop = asyncio.Event()
            if started is not None:
                loop = asyncio.get_running_loop()
                started(web, lambda: loop.call_soon_threadsafe(stop.set))
            with stop_on_signals(stop):
                run = asyncio.create_task(training.run_async(options.duration))
                stopped = asyncio.create_task(stop.wait())
                await asyncio.wait({run, stopped}, return_when=asyncio.FIRST_COMPLETED)
                stopped.cancel()
                if not run.done():
                    run.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await run
                else:
                    run.result()
            if exercise is not None and not training.finished:
                training.finish()
        for result in training.results:
            _say(console, f"exercise {result.name}: {result.verdict.value}")
            for check in result.checks:
                _say(console, f"  {check.verdict.value:8} {check.name}: {check.message}")
        written = getattr(training, "written", None)
        if written is not None:
            _say(console, f"results written to {written}")
        _say(console, f"stopped at t={training.now_s:.2f} s")
        return training


class TrainingThread:
    """``train`` in a thread of its own (tools, benchmarks, tests): started, then stopped.

    ``with TrainingThread(model, options) as web:`` gives the listening :class:`WebServer`;
    leaving stops the session and waits for it. Calls into ``web.training`` from another
    thread race the simulator: use the pages' sockets, or read only.
    """

    def __init__(
        self, model_path: str | Path, options: TrainOptions, console: Console | None = None
    ):
        import threading

        self.model_path = model_path
        self.options = options
        self.console = console
        self.web: WebServer | None = None
        self.training: TrainingSession | None = None
        self.error: BaseException | None = None
        self._stop: Callable[[], None] | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="vcommission-train", daemon=True)

    def _main(self) -> None:
        from rich.console import Console

        def started(web: WebServer, stop: Callable[[], None]) -> None:
            self.web, self._stop = web, stop
            self._ready.set()

        console = self.console or Console(quiet=True)
        try:
            self.training = asyncio.run(train(self.model_path, self.options, console, started))
        except BaseException as exc:  # handed to the caller's thread
            self.error = exc
        finally:
            self._ready.set()

    def __enter__(self) -> WebServer:
        self._thread.start()
        self._ready.wait()
        if self.web is None:
            assert self.error is not None
            raise self.error
        return self.web

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None:
            self._stop()
        self._thread.join()
        if self.error is not None and exc[0] is None:
            raise self.error
