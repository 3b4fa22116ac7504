"""A training session: a trainee at the panel, an instructor with faults, an exercise scored.

:class:`TrainingSession` sits on a :class:`~vcommission.session.Session` (built by the
composition root) and is what the web pages talk to, through plain method calls, so it is
tested without a browser or a socket:

* the **trainee** presses the panel's controls (:meth:`press`), takes boxes off the line where
  they block a beam (:meth:`take_off`), and one client at a time holds the panel
  (:meth:`take_control`);
* the **instructor** pauses and resumes, changes the speed, resets the plant, and injects and
  clears faults of the scenario fault library, written as the mapping a scenario's ``fault:``
  step takes and checked by the same code (:meth:`inject`), optionally hidden from the
  trainee;
* an **exercise** is a scenario file: its ``steps`` are the instructor's script (played by a
  :class:`~vcommission.scenario.script.ScriptPlayer` as the plant runs), its ``checks`` score
  the trainee, and at its end (its ``duration``/``end:``, or :meth:`finish` on demand) the
  session writes the results JSON and the trace with the writers ``vcommission run`` uses.

Everything the trainee and the instructor do, the script's steps and the plant's alarms go
into :attr:`TrainingSession.timeline`. All of it runs in the simulator's event loop between
ticks: the session is the only one that steps the simulator (:meth:`run_async`, which also
pauses), so nothing here needs a lock.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vcommission.clock import ns_to_s, s_to_ns
from vcommission.config.yamlload import build, load_document
from vcommission.errors import ConfigError, VcommissionError
from vcommission.scenario.context import RunContext, plc_stopped
from vcommission.scenario.registry import STEPS
from vcommission.scenario.results import CheckResult, ScenarioResult, Verdict
from vcommission.scenario.runner import fault_result
from vcommission.scenario.schema import FaultSpec, RemoveSpec, fault_kind_name
from vcommission.scenario.script import OperatorScript, ScriptPlayer
from vcommission.scenario.steps import describe_step
from vcommission.training.panel import Panel, panel_of

if TYPE_CHECKING:
    from vcommission.scenario.schema import Scenario
    from vcommission.session import Session

__all__ = ["MAX_SPEED", "Alarm", "TimelineEntry", "TrainingError", "TrainingSession"]

#: Entries the timeline keeps (a session may run all day).
TIMELINE_ROWS = 2_000
#: The fastest an instructor may run the plant.
MAX_SPEED = 20.0
#: How far around a beam a trainee's hands reach when taking boxes off, metres.
REACH_M = 0.15
#: Shortest press of a momentary button, virtual seconds: a click in a browser sends the press
#: and the release within milliseconds, and a PLC scanning every 10 ms must still see it.
MIN_PRESS_S = 0.1
#: The name instructor faults are located by in error messages (``instructor:2: tag: ...``).
FAULT_SOURCE = "instructor"


class TrainingError(VcommissionError):
    """Raised when a trainee or instructor request cannot be done (the page shows why)."""


@dataclass(frozen=True)
class TimelineEntry:
    """One thing that happened: who did it, what, when (virtual seconds)."""

    t: float
    #: ``trainee``, ``instructor``, ``script`` or ``plant``.
    who: str
    what: str
    #: Not for the trainee's eyes (a hidden fault).
    hidden: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"t": round(self.t, 3), "who": self.who, "what": self.what, "hidden": self.hidden}


@dataclass(frozen=True)
class Alarm:
    id: str
    text: str
    #: Virtual time it was raised, seconds.
    since: float


class TrainingSession:
    """See the module docstring.

    Args:
        session: The built session (plant, simulator, PLC, recorder, servers).
        exercise: The exercise scenario, or None for free practice.
        results: Where the exercise's results JSON goes (None: not written).
        trace_dir: Where its trace goes (None: beside the results).
        hashes: SHA-256 of the model and program as loaded (the results' provenance).
    """

    def __init__(
        self,
        session: Session,
        exercise: Scenario | None = None,
        results: str | Path | None = None,
        trace_dir: str | Path | None = None,
        hashes: dict[str, str | None] | None = None,
    ) -> None:
        self.session = session
        self.exercise = exercise
        self.results_path = Path(results) if results is not None else None
        self.trace_dir = Path(trace_dir) if trace_dir is not None else None
        self.hashes = hashes or {}
        self.panel: Panel = panel_of(session.plant)
        self.timeline: deque[TimelineEntry] = deque(maxlen=TIMELINE_ROWS)
        #: Entries ever added to the timeline (the pages are sent the new ones only).
        self.logged = 0
        #: Bumped on every timeline entry, alarm change, reset: what the pages poll.
        self.version = 0
        self.resets = 0
        self.paused = False
        self.alarms: dict[str, Alarm] = {}
        #: Instructor faults by name: shown to the trainee as alarms unless hidden.
        self.hidden: dict[str, bool] = {}
        self.descriptions: dict[str, str] = {}
        #: The client holding the panel (None: the next one to press takes it).
        self.controller: str | None = None
        self._held: dict[str, set[str]] = {}
        #: Momentary tags pressed -> when they were pressed, and releases not due yet.
        self._pressed_at: dict[str, int] = {}
        self._releases: dict[str, int] = {}
        #: The finished attempts' results, newest last.
        self.results: list[ScenarioResult] = []
        self.finished = False
        self._wall_started = time.perf_counter()
        self._resumed: asyncio.Event | None = None
        self.listeners: list[Callable[[], None]] = []
        self.sim.monitors.append(self._watch_alarms)
        self.sim.monitors.append(self._release_due)
        self._begin()

    # -- what the session is made of

    @property
    def sim(self) -> Any:
        return self.session.sim

    @property
    def plant(self) -> Any:
        return self.session.plant

    @property
    def now_s(self) -> float:
        return ns_to_s(self.sim.now_ns)

    def _begin(self) -> None:
        """Start an attempt: a run context, the exercise's checks and script."""
        self.run = RunContext(self.exercise, self.session)
        self.checks: list[Any] = []
        self.player: ScriptPlayer | None = None
        self.finished = False
        self._wall_started = time.perf_counter()
        self._deadline_ns: int | None = None
        self._end = None
        if self.exercise is None:
            return
        from vcommission.scenario.checks import make_check

        spec = self.exercise.spec
        for check_spec in spec.checks:
            check = make_check(check_spec, self.run)
            check.start(self.run)
            self.checks.append(check)
        if spec.duration is not None:
            self._deadline_ns = self.sim.now_ns + s_to_ns(spec.duration)
        if spec.end is not None:
            self._end = self.run.latch(spec.end)
        self.player = ScriptPlayer(
            OperatorScript(list(spec.steps)),
            self.run,
            lambda line: self.log("script", line, hidden=True),
        )
        self.sim.monitors.append(self.player)
        self.player.start()
        self.log("instructor", f"exercise {self.exercise.name} started", hidden=True)

    def log(self, who: str, what: str, hidden: bool = False) -> None:
        self._entry(TimelineEntry(self.now_s, who, what, hidden))
        self._changed()

    def _entry(self, entry: TimelineEntry) -> None:
        self.timeline.append(entry)
        self.logged += 1

    def since(self, logged: int) -> list[TimelineEntry]:
        """The entries added after the first ``logged`` (as many as are still kept)."""
        new = min(self.logged - logged, len(self.timeline))
        return list(self.timeline)[len(self.timeline) - new :] if new > 0 else []

    def _changed(self) -> None:
        self.version += 1
        for listener in self.listeners:
            listener()

    # -- alarms

    def _watch_alarms(self, now_ns: int, changed: list[int]) -> None:
        """Simulator monitor: alarms from the panel's sources, the PLC and visible faults."""
        values = self.plant.image.committed
        active: dict[str, str] = {
            source.id: source.text
            for source in self.panel.alarms
            if values[source.index] == source.value
        }
        plc = self.session.plc
        if plc is not None and plc.fault is not None:
            active["plc"] = f"PLC stopped: {plc.fault}"
        watchdog = self.session.watchdog
        if watchdog is not None and watchdog.tripped:
            active["watchdog"] = "PLC silent: outputs in the safe state"
        for name in self.run.faults:
            if not self.hidden.get(name, True):
                active[f"fault:{name}"] = f"fault {name}: {self.descriptions.get(name, name)}"
        if active.keys() == self.alarms.keys():
            return
        now = ns_to_s(now_ns)
        for key in self.alarms.keys() - active.keys():
            self._entry(TimelineEntry(now, "plant", f"alarm cleared: {self.alarms[key].text}"))
            del self.alarms[key]
        for key in active.keys() - self.alarms.keys():
            self.alarms[key] = Alarm(key, active[key], now)
            self._entry(TimelineEntry(now, "plant", f"alarm: {active[key]}"))
        self._changed()

    def alarm_list(self) -> list[dict[str, Any]]:
        return [
            {"id": a.id, "text": a.text, "since": round(a.since, 3)}
            for a in sorted(self.alarms.values(), key=lambda a: a.since)
        ]

    # -- the trainee

    def take_control(self, client: str) -> None:
        """``client`` holds the panel from now on; the previous holder lets go of everything."""
        if self.controller == client:
            return
        previous = self.controller
        if previous is not None:
            self._release(previous)
        self.controller = client
        self.log("trainee", f"{client} took the panel" + (f" from {previous}" if previous else ""))

    def disconnect(self, client: str) -> None:
        """A client left: buttons it held are released, the panel is free."""
        self._release(client)
        self._held.pop(client, None)
        if self.controller == client:
            self.controller = None
            self.log("trainee", f"{client} left the panel")

    def _release(self, client: str) -> None:
        for tag in sorted(self._held.get(client, ())):
            self._operate(tag, False, True)
            self.log("trainee", f"{tag} released ({client} let go of the panel)")
        self._held[client] = set()

    def _check_control(self, client: str) -> None:
        if self.controller is None:
            self.take_control(client)
        elif self.controller != client:
            raise TrainingError(
                f"the panel is held by {self.controller}: take control first to operate it"
            )

    def press(self, client: str, tag: str, value: object) -> None:
        """Write an operator control: a push button down (True) or up, an e-stop, a door."""
        control = self.panel.control(tag)
        if control is None:
            raise TrainingError(f"{tag!r} is not a control of the panel")
        if not isinstance(value, bool):
            raise TrainingError(f"value for {tag} must be true or false, not {value!r}")
        self._check_control(client)
        self._operate(tag, value, control.momentary)
        held = self._held.setdefault(client, set())
        if control.momentary and value:
            held.add(tag)
        else:
            held.discard(tag)
        self.log("trainee", _describe_press(control.style, control.component, value))

    def _operate(self, tag: str, value: bool, momentary: bool) -> None:
        now = self.sim.now_ns
        if momentary and value:
            self._pressed_at[tag] = now
            self._releases.pop(tag, None)
        elif momentary:
            due = self._pressed_at.pop(tag, now) + s_to_ns(MIN_PRESS_S)
            if due > now:
                self._releases[tag] = due  # let go, but only once the PLC saw the press
                return
        self.sim.operate(tag, value)

    def _release_due(self, now_ns: int, changed: list[int]) -> None:
        """Simulator monitor: releases of short clicks, once they lasted :data:`MIN_PRESS_S`."""
        if not self._releases:
            return
        for tag, due in list(self._releases.items()):
            if now_ns >= due:
                del self._releases[tag]
                self.sim.operate(tag, False)

    def take_off(self, client: str, beam: str) -> int:
        """Take every box off the line where it reaches into ``beam``; returns how many."""
        found = self.panel.beam(beam)
        if found is None:
            raise TrainingError(f"{beam!r} is not a beam of the plant")
        self._check_control(client)
        a, b = found.emitter, found.receiver
        low = (min(a[0], b[0]) - REACH_M, min(a[1], b[1]) - REACH_M, min(a[2], b[2]) - REACH_M)
        high = (max(a[0], b[0]) + REACH_M, max(a[1], b[1]) + REACH_M, max(a[2], b[2]) + 0.4)
        count = _count_parts(self.plant, low, high)
        # The scenario's own ``remove`` step: a person takes the parts off.
        for _ in STEPS.load("remove").run(RemoveSpec(low, high), self.run):
            pass
        self.log("trainee", f"took {count} box{'es' if count != 1 else ''} off at {beam}")
        return count

    # -- the instructor

    def pause(self) -> None:
        if not self.paused:
            self.paused = True
            self.log("instructor", "paused")

    def resume(self) -> None:
        if self.paused:
            self.paused = False
            if self._resumed is not None:
                self._resumed.set()
            self.log("instructor", "resumed")

    def set_speed(self, speed: object) -> None:
        pacer = self.sim.pacer
        if pacer is None:
            raise TrainingError("the plant does not run in real time: it has no speed")
        if (
            isinstance(speed, bool)
            or not isinstance(speed, int | float)
            or not math.isfinite(speed)
            or not 0 < speed <= MAX_SPEED
        ):
            raise TrainingError(f"speed must be a number > 0 and <= {MAX_SPEED:g}, not {speed!r}")
        pacer.speed = float(speed)
        pacer.start(self.sim.now_ns)  # re-anchor: the new speed counts from now
        self.log("instructor", f"speed {float(speed):g}x")

    @property
    def speed(self) -> float:
        pacer = self.sim.pacer
        return pacer.speed if pacer is not None else 0.0

    def inject(self, text: str, hidden: bool = False) -> str:
        """Inject the fault ``text`` describes (YAML: a scenario ``fault:`` step's mapping).

        Returns its name (to clear it by).

        Raises:
            ConfigError: every problem, located (``instructor:1: tag: ...``), as the scenario
                loader reports them.
        """
        doc = load_document(FAULT_SOURCE, text=text)
        doc.raise_if_issues()
        spec = build(doc, FaultSpec)
        doc.raise_if_issues()
        assert spec is not None
        problems = STEPS.load("fault").problems
        if problems is not None:
            for below, message in problems(spec, self.session.model, _NoSteps()):
                doc.issue(tuple(below), message)
        doc.raise_if_issues()
        name = spec.name
        if name in self.run.faults:
            raise ConfigError(
                f"{FAULT_SOURCE}: fault {name!r} is already injected: clear it or give an id"
            )
        from vcommission.scenario.faults import make_fault

        fault = make_fault(spec, self.run)
        self.run.inject(fault, spec.for_)
        self.hidden[name] = hidden
        self.descriptions[name] = _describe_fault(spec)
        self.log(
            "instructor",
            f"injected fault {name}: {self.descriptions[name]}" + (" (hidden)" if hidden else ""),
            hidden=hidden,
        )
        self._watch_alarms(self.sim.now_ns, [])
        return name

    def clear(self, name: str) -> None:
        if name not in self.run.faults:
            active = ", ".join(sorted(self.run.faults)) or "none is"
            raise TrainingError(f"no fault {name!r} is active ({active} active)")
        self.run.clear(name)
        self.log("instructor", f"cleared fault {name}", hidden=self.hidden.get(name, True))
        self._watch_alarms(self.sim.now_ns, [])

    def active_faults(self) -> list[dict[str, Any]]:
        return [
            {
                "name": name,
                "what": self.descriptions.get(name, ""),
                "hidden": self.hidden.get(name, True),
            }
            for name in self.run.faults
        ]

    def reset(self) -> None:
        """Power-on: faults cleared, the plant and the PLC restarted, a new attempt begun."""
        for name in list(self.run.faults):
            self.run.clear(name)
        if self.player in self.sim.monitors:
            self.sim.monitors.remove(self.player)
        if self.run._tick in self.sim.monitors:
            self.sim.monitors.remove(self.run._tick)
        for client in list(self._held):
            self._held[client] = set()
        self._pressed_at.clear()
        self._releases.clear()
        self.sim.reset(self.plant.seed)
        if self.session.plc is not None:
            self.session.plc.restart()
        recorder = self.session.recorder
        if recorder is not None:
            recorder.changes.clear()
            if hasattr(recorder, "initial"):
                recorder.initial = list(self.plant.image.committed)
        # The servers keep cells in step with the image by its changes: after a power-on every
        # value may differ from what they last saw.
        everything = list(range(len(self.plant.image.table)))
        for listener in self.sim.listeners:
            listener(self.sim.now_ns, everything)
        self.alarms.clear()
        self.hidden.clear()
        self.descriptions.clear()
        self.resets += 1
        self.log("instructor", "reset the plant")
        self._begin()

    # -- the exercise

    @property
    def due(self) -> bool:
        """Whether the exercise has reached its end (duration or ``end:`` condition)."""
        if self.exercise is None or self.finished:
            return False
        if self._end is not None and self._end.reached:
            return True
        return self._deadline_ns is not None and self.sim.now_ns >= self._deadline_ns

    def finish(self) -> ScenarioResult:
        """Score the attempt now: checks' verdicts, the results JSON and the trace written."""
        if self.exercise is None:
            raise TrainingError("no exercise is loaded: there is nothing to score")
        if self.finished:
            return self.results[-1]
        self.finished = True
        if self.player is not None and self.player in self.sim.monitors:
            self.sim.monitors.remove(self.player)
        result = self._result()
        self.results.append(result)
        self._write(result)
        self.log("instructor", f"exercise scored: {result.verdict.value}")
        return result

    def _result(self) -> ScenarioResult:
        from vcommission.scenario.provenance import provenance

        scenario = self.exercise
        assert scenario is not None
        run, sim = self.run, self.sim
        checks: list[CheckResult] = []
        for check in self.checks:
            try:
                checks.append(check.finish(run))
            except Exception as exc:  # one broken check must not hide the others
                message = f"{type(exc).__name__}: {exc}"
                checks.append(CheckResult(check.name, check.kind, Verdict.ERROR, message))
        checks += [fault_result(fault) for fault in run.injected]
        stopped = plc_stopped(self.session.plc)
        if stopped is not None:
            checks.insert(0, stopped)
        result = ScenarioResult(
            name=scenario.name,
            file=scenario.file,
            verdict=Verdict.worst([c.verdict for c in checks]) if checks else Verdict.PASSED,
            requirements=list(scenario.spec.requirements),
            checks=checks,
            seed=self.plant.seed,
            params=dict(scenario.params),
            virtual_s=ns_to_s(sim.now_ns),
            wall_s=time.perf_counter() - self._wall_started,
            description=" ".join(scenario.spec.description.split()),
            steps=[describe_step(step) for step in scenario.spec.steps],
        )
        if sim.pacer is not None:
            result.pacing = sim.pacer.summary()
        plc = self.session.plc
        if plc is not None:
            coverage = plc.coverage()
            result.coverage = {
                "statements": round(coverage.statement_percent, 2),
                "branches": round(coverage.branch_percent, 2),
            }
        result.provenance = provenance(
            scenario, model_sha=self.hashes.get("model"), program_sha=self.hashes.get("program")
        )
        return result

    def _write(self, result: ScenarioResult) -> None:
        if self.results_path is None:
            return
        from vcommission.reporting.json_report import JsonReporter

        attempt = len(self.results)
        path = self.results_path
        if attempt > 1:
            path = path.with_name(f"{path.stem}-{attempt}{path.suffix}")
        trace_dir = self.trace_dir or path.parent
        recorder = self.run.session.recorder
        if recorder is not None and hasattr(recorder, "trace"):
            trace_path = trace_dir / f"{path.stem}.npz"
            meta = {
                "scenario": result.name,
                "file": result.file,
                "model": str(self.exercise.model_path),  # type: ignore[union-attr]
                "program": str(self.exercise.program_path),  # type: ignore[union-attr]
                "seed": result.seed,
                "params": result.params,
                "training": True,
            }
            recorder.trace(self.plant.parts, self.sim.now_ns, meta).save(trace_path)
            result.trace_file = str(trace_path)
        JsonReporter(path).run_finish([result], result.wall_s)
        self.written = path

    # -- running

    def step(self) -> None:
        """One tick, and the exercise scored when it reaches its end."""
        self.sim.step()
        if self.due:
            self.finish()

    def run_for(self, seconds: float) -> None:
        """Run ``seconds`` of virtual time unpaced (tests, fast exercises)."""
        end = self.sim.now_ns + s_to_ns(seconds)
        while self.sim.now_ns < end:
            self.step()

    async def run_async(self, duration_s: float | None = None) -> None:
        """Step the plant in the event loop (paced in real time), pausing when asked."""
        self._resumed = asyncio.Event()
        sim = self.sim
        end = None if duration_s is None else sim.now_ns + s_to_ns(duration_s)
        with sim.pacing():
            while end is None or sim.now_ns < end:
                if self.paused:
                    self._resumed.clear()
                    await self._resumed.wait()
                    if sim.pacer is not None:
                        sim.pacer.start(sim.now_ns)  # the wall clock moved on while paused
                    continue
                await sim.wait_for_tick()
                self.step()


class _NoSteps:
    """The scenario a lone instructor fault is checked in: it has no other steps."""

    steps: list[Any] = []


def _count_parts(plant: Any, low: tuple[float, ...], high: tuple[float, ...]) -> int:
    world = plant.world
    return len(world.overlapping(low, high, plant.parts.is_part)) if world is not None else 0


def _describe_press(style: str, component: str, value: bool) -> str:
    if style == "estop":
        return f"e-stop {component} {'pressed' if value else 'released'}"
    if style == "door":
        return f"door {component} {'opened' if value else 'closed'}"
    if style == "selector":
        return f"mode {component} {'manual' if value else 'auto'}"
    return f"{component} {'pressed' if value else 'released'}"


def _describe_fault(spec: FaultSpec) -> str:
    kind = fault_kind_name(spec.kind)
    if spec.position is not None:
        return f"{kind} at (" + ", ".join(f"{v:g}" for v in spec.position) + ") m"
    where = spec.tag or spec.component
    return f"{kind} on {where}" if where else kind
