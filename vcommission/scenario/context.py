"""What checks and faults see of a running scenario: :class:`RunContext`.

Checks and faults are policies that attach from outside: a check watches every tick
(:meth:`RunContext.watch`) and gives its verdict at the end; a fault wraps a component's
phase (``plant.wrap``) or the PLC's link (:class:`PlcLink`). Neither touches the
simulator's loop or a component's code.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vcommission.clock import s_to_ns
from vcommission.scenario.conditions import Condition, compile_condition
from vcommission.scenario.results import Evidence
from vcommission.scenario.schema import ConditionSpec
from vcommission.signals import ProcessImage, Value

if TYPE_CHECKING:
    from vcommission.config.model import Model
    from vcommission.plant.plant import Plant
    from vcommission.plc import SoftPlc
    from vcommission.scenario.loader import Scenario
    from vcommission.scenario.trace import TraceRecorder
    from vcommission.simulator import Simulator

__all__ = ["PlcLink", "RunContext", "Watcher"]

#: Called after every tick with (tick end ns, committed values, previous tick's values).
Watcher = Callable[[int, Sequence[Value], Sequence[Value]], None]

#: Evidence windows reach this far before and after the moment, seconds.
WINDOW_BEFORE_S = 2.0
WINDOW_AFTER_S = 1.0


class _FrozenImage:
    """What a PLC reads while its link is down: the inputs as they were when it broke."""

    def __init__(self, image: ProcessImage) -> None:
        self.table = image.table
        self.committed = image.committed


class PlcLink:
    """The in-process PLC's connection to the plant: a controller that link faults wrap.

    ``inbound`` filters map the image the PLC reads (``image -> image-like``); ``outbound``
    filters map the writes it returns (``(now_ns, writes) -> writes``), in order.
    """

    def __init__(self, plc: SoftPlc) -> None:
        self.plc = plc
        self.inbound: list[Callable[[ProcessImage], Any]] = []
        self.outbound: list[Callable[[int, dict[str, Value]], dict[str, Value]]] = []

    def scan(self, now_ns: int, image: ProcessImage) -> dict[str, Value] | None:
        seen: Any = image
        for inbound in self.inbound:
            seen = inbound(seen)
        writes = self.plc.scan(now_ns, seen) or {}
        for outbound in self.outbound:
            writes = outbound(now_ns, writes)
        return writes

    @staticmethod
    def frozen(image: ProcessImage) -> _FrozenImage:
        return _FrozenImage(image)


@dataclass
class RunContext:
    """One scenario run: the plant, the simulator, the PLC and the recorder."""

    scenario: Scenario
    model: Model
    plant: Plant
    sim: Simulator
    recorder: TraceRecorder
    #: The in-process PLC and its link (None for an external PLC).
    plc: SoftPlc | None = None
    link: PlcLink | None = None
    #: Active faults by name.
    faults: dict[str, Any] = field(default_factory=dict)
    #: The TCP proxy an external PLC connects through (link faults act on it), else None.
    proxy: Any = None
    _watchers: list[Watcher] = field(default_factory=list)
    _previous: tuple[Value, ...] = ()

    def __post_init__(self) -> None:
        self._previous = self.plant.image.committed
        self.sim.monitors.append(self._tick)

    def _tick(self, now_ns: int, changed: list[int]) -> None:
        values = self.plant.image.committed
        previous = self._previous
        for watcher in list(self._watchers):
            watcher(now_ns, values, previous)
        self._previous = values

    def watch(self, watcher: Watcher) -> Callable[[], None]:
        """Call ``watcher`` after every tick from now on; returns an undo."""
        self._watchers.append(watcher)
        return lambda: self._watchers.remove(watcher) if watcher in self._watchers else None

    def condition(self, spec: ConditionSpec) -> Condition:
        """Compile a condition against this run's signals (each caller its own instance)."""
        return compile_condition(spec, self.plant.image.table)

    @property
    def now_ns(self) -> int:
        return self.sim.now_ns

    @property
    def values(self) -> Mapping[str, Value]:
        return self.plant.image.snapshot()

    def evidence(self, time_ns: int, tags: Sequence[str]) -> Evidence:
        """The trace around ``time_ns`` for ``tags``: each tag's value 2 s before, then changes.

        Changes after the moment appear up to 1 s later, or up to now if the run ends first.
        """
        start = max(0, time_ns - s_to_ns(WINDOW_BEFORE_S))
        end = time_ns + s_to_ns(WINDOW_AFTER_S)
        table = self.plant.image.table
        wanted = {table.index(tag): tag for tag in dict.fromkeys(tags) if tag in table}
        recorder = self.recorder
        state = {i: recorder.initial[i] for i in wanted}
        window: list[tuple[float, str, Any]] = []
        for t, i, v in recorder.changes:
            if t > end:
                break
            if i not in wanted:
                continue
            if t <= start:
                state[i] = v
            else:
                window.append((t / 1e9, wanted[i], v))
        head = [(start / 1e9, wanted[i], state[i]) for i in wanted]
        return Evidence(time_ns / 1e9, list(wanted.values()), head + window)
