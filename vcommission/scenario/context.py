"""What checks and faults see of a running scenario: :class:`RunContext`.

Checks and faults are policies that attach from outside: a check watches every tick
(:meth:`RunContext.watch`) and gives its verdict at the end; a fault wraps a component's
phase (``plant.wrap``) or the PLC's link (:class:`~vcommission.adapters.inprocess.InProcessLink`,
or the proxy of an external PLC). Neither touches the simulator's loop or a component's code.
A run is wired by the one composition root, :class:`~vcommission.session.SessionBuilder`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vcommission.adapters.inprocess import InProcessLink
from vcommission.clock import ClockMode, ns_to_s, s_to_ns
from vcommission.plc import PlcProgram, SoftPlc
from vcommission.scenario.conditions import Condition, compile_condition
from vcommission.scenario.results import CheckResult, Evidence, Verdict
from vcommission.scenario.schema import ConditionSpec
from vcommission.scenario.trace import TraceRecorder, window
from vcommission.session import Session, SessionBuilder
from vcommission.signals import Value
from vcommission.simulator import Simulator

if TYPE_CHECKING:
    from vcommission.config.model import Model
    from vcommission.plant.plant import Plant
    from vcommission.scenario.schema import Scenario

__all__ = ["Latch", "RunContext", "Watcher", "plc_stopped"]

#: Called after every tick with (tick end ns, committed values, previous tick's values).
Watcher = Callable[[int, Sequence[Value], Sequence[Value]], None]

#: Evidence windows reach this far before and after the moment, seconds.
WINDOW_BEFORE_S = 2.0
WINDOW_AFTER_S = 1.0


def plc_stopped(plc: SoftPlc | None) -> CheckResult | None:
    """The failed "PLC running" result of a PLC that stopped on a runtime fault, else None."""
    if plc is None or plc.fault is None:
        return None
    fault = plc.fault
    return CheckResult(
        "PLC running",
        "plc",
        Verdict.FAILED,
        f"the PLC stopped at t={ns_to_s(fault.time_ns):.3f} s: {fault}",
    )


#: Rows a whole-run history keeps (a chattering tag must not make evidence megabytes long).
HISTORY_ROWS = 400


@dataclass
class RunContext:
    """One scenario run: the plant, the simulator, the PLC and the recorder."""

    scenario: Scenario | None
    #: How the run was wired (plant, simulator, PLC link, servers, proxy, watchdog).
    session: Session
    #: Active faults by name.
    faults: dict[str, Any] = field(default_factory=dict)
    #: Every fault injected in the run, in order, cleared ones too (each shown to act or not).
    injected: list[Any] = field(default_factory=list)
    #: Every part request of the run's ``spawn`` steps
    #: (:class:`~vcommission.plant.spawner.SpawnRequest`), so one that could not place its
    #: parts is reported (:func:`~vcommission.scenario.steps.spawn_results`).
    spawns: list[Any] = field(default_factory=list)
    #: Where files of evidence go, as a path prefix: a check writes ``<stem>.<what>.png``
    #: beside the run's trace (``--trace-dir``). None: the run keeps no files.
    evidence_stem: str | None = None
    #: Replaced, never changed in place, so a watcher may undo itself while being called.
    _watchers: tuple[Watcher, ...] = ()
    _previous: tuple[Value, ...] = ()

    @classmethod
    def start(
        cls,
        scenario: Scenario | None,
        model: Model,
        plant: Plant,
        program: PlcProgram | None,
        mode: ClockMode = ClockMode.FAST,
        speed: float = 1.0,
    ) -> RunContext:
        """A simulator over ``plant`` with a recorder and, for a program, the PLC on its link."""
        builder = SessionBuilder(model, plant).clock(mode, speed).recorder(TraceRecorder)
        return cls(scenario, builder.plc(program).build())

    @property
    def model(self) -> Model:
        return self.session.model

    @property
    def plant(self) -> Plant:
        return self.session.plant

    @property
    def sim(self) -> Simulator:
        return self.session.sim

    @property
    def recorder(self) -> TraceRecorder:
        return self.session.recorder  # type: ignore[return-value]

    @property
    def plc(self) -> SoftPlc | None:
        """The in-process PLC (None for an external PLC)."""
        return self.session.plc

    @property
    def link(self) -> InProcessLink | None:
        """The in-process PLC's link, which link faults act on (None for an external PLC)."""
        return self.session.link

    @property
    def proxy(self) -> Any:
        """The TCP proxy an external PLC connects through (link faults act on it), else None."""
        return self.session.proxy

    def __post_init__(self) -> None:
        self._previous = self.plant.image.committed
        self.sim.monitors.append(self._tick)
        recorder = self.session.recorder
        if isinstance(recorder, TraceRecorder):
            # Poses too, so the trace can picture any moment (render --at T --trace FILE).
            recorder.follow(self.plant, self.sim.now_ns)

    def _tick(self, now_ns: int, changed: list[int]) -> None:
        values = self.plant.image.committed
        previous = self._previous
        for watcher in self._watchers:
            watcher(now_ns, values, previous)
        self._previous = values

    def watch(self, watcher: Watcher) -> Callable[[], None]:
        """Call ``watcher`` after every tick from now on; returns an undo."""
        self._watchers = (*self._watchers, watcher)

        def undo() -> None:
            self._watchers = tuple(w for w in self._watchers if w is not watcher)

        return undo

    def latch(self, spec: ConditionSpec) -> Latch:
        """Watch a condition from now on; see :class:`Latch`."""
        return Latch(self, self.condition(spec))

    def inject(self, fault: Any, seconds: float | None = None) -> None:
        """Inject ``fault`` (named in :attr:`faults`), cleared after ``seconds`` if given."""
        fault.inject(self)
        self.faults[fault.name] = fault
        self.injected.append(fault)
        if seconds is None:
            return
        due = self.now_ns + s_to_ns(seconds)

        def expire(now: int, values: Any, previous: Any) -> None:
            if now >= due:
                undo()
                if self.faults.get(fault.name) is fault:
                    self.clear(fault.name)

        undo = self.watch(expire)

    def clear(self, name: str) -> None:
        """Clear the active fault ``name``; nothing if it is not (or no longer) active."""
        fault = self.faults.pop(name, None)
        if fault is not None:
            fault.clear(self)

    def condition(self, spec: ConditionSpec) -> Condition:
        """Compile a condition against this run's signals and faults (each caller its own)."""
        return compile_condition(spec, self.plant.image.table, self.fault_acted)

    def fault_acted(self, name: str) -> bool:
        """Whether a fault injected as ``name`` has acted so far (``{fault_acted: NAME}``)."""
        return any(
            f.name == name and getattr(f, "acted_ns", None) is not None for f in self.injected
        )

    @property
    def now_ns(self) -> int:
        return self.sim.now_ns

    @property
    def values(self) -> Mapping[str, Value]:
        return self.plant.image.snapshot()

    def history(self, tags: Sequence[str], limit: int = HISTORY_ROWS) -> Evidence:
        """Every edge of ``tags`` over the whole run, up to now (the first ``limit`` rows).

        For a check whose failure has no moment (too few parts at the end): what the tags
        did all along says more than the last seconds.
        """
        now = self.sim.now_ns
        if self.session.recorder is None:
            return Evidence(now / 1e9, list(tags), [])
        table = self.plant.image.table
        wanted = {table.index(tag): tag for tag in dict.fromkeys(tags) if tag in table}
        rows = window(self.recorder.initial, self.recorder.changes, wanted, 0, now)
        return Evidence(
            now / 1e9, list(wanted.values()), [(t / 1e9, tag, v) for t, tag, v in rows[:limit]]
        )

    def evidence(self, time_ns: int, tags: Sequence[str]) -> Evidence:
        """The trace around ``time_ns`` for ``tags``: each tag's value 2 s before, then changes.

        Changes after the moment appear up to 1 s later, or up to now if the run ends first.
        A run without a recorder (a served plant, which keeps no history) has none to show.
        """
        if self.session.recorder is None:
            return Evidence(time_ns / 1e9, list(tags), [])
        start = max(0, time_ns - s_to_ns(WINDOW_BEFORE_S))
        end = time_ns + s_to_ns(WINDOW_AFTER_S)
        table = self.plant.image.table
        wanted = {table.index(tag): tag for tag in dict.fromkeys(tags) if tag in table}
        rows = window(self.recorder.initial, self.recorder.changes, wanted, start, end)
        return Evidence(
            time_ns / 1e9, list(wanted.values()), [(t / 1e9, tag, v) for t, tag, v in rows]
        )


class Latch:
    """A condition watched after every tick until it first holds (a wait, an end condition).

    The condition is evaluated on every tick (so ``for`` timers stay right) until it holds;
    :attr:`time_ns` is then when. :meth:`close` stops watching.
    """

    def __init__(self, run: RunContext, condition: Condition) -> None:
        self.condition = condition
        self.time_ns: int | None = None
        self._undo = run.watch(self._tick)

    def _tick(self, now_ns: int, values: Sequence[Value], previous: Sequence[Value]) -> None:
        if self.condition(now_ns, values, previous):
            self.time_ns = now_ns
            self._undo()

    @property
    def reached(self) -> bool:
        return self.time_ns is not None

    def close(self) -> None:
        self._undo()
