"""The main job's demo: the sorting line run with scripted actuators, and its summary.

Until the built-in Structured Text PLC exists, the sorting line is driven by
:class:`SortingScript`, a small Python stand-in for a PLC program that uses only the PLC-facing
tags of the I/O contract. The benchmark and tests use it as the "actuator script".
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from vcommission.clock import ns_to_s
from vcommission.config.model import load_model
from vcommission.plant.plant import Plant
from vcommission.plant.sink import Sink
from vcommission.signals import ProcessImage, Value
from vcommission.simulator import ChangeRecorder, Simulator

__all__ = ["DemoSummary", "SortingScript", "run_demo"]

BUNDLED_MODEL = Path(__file__).resolve().parent.parent / "plant_models" / "sorting_line"


@dataclass
class SortingScript:
    """Scripted actuators for sorting_line: run the belt and infeed, push tall boxes.

    Reads only PLC inputs of the I/O contract and writes only PLC outputs, the way a PLC
    program would: a box's height is judged at the scan station (pe_tall blocked while
    pe_entry is), remembered in a FIFO, and acted on when the box reaches pe_pusher, where
    the belt is stopped (pusher and belt are interlocked), the pusher strokes, and the
    belt restarts once it is back.
    """

    #: Belt speed setpoint, mm/s.
    speed: int = 400
    #: Keep the infeed enabled (set False to let the line run empty).
    infeed: bool = True
    _fifo: deque[bool] = field(default_factory=deque)
    _tall_seen: bool = False
    _prev: dict[str, Value] = field(default_factory=dict)
    _state: str = "run"

    def _rose(self, inputs: Mapping[str, Value], name: str) -> bool:
        return bool(inputs[name]) and not self._prev.get(name, False)

    def _fell(self, inputs: Mapping[str, Value], name: str) -> bool:
        return not inputs[name] and bool(self._prev.get(name, False))

    def scan(self, now_ns: int, image: ProcessImage) -> dict[str, Value]:
        inputs = image.snapshot()
        if inputs["pe_entry"] and inputs["pe_tall"]:
            self._tall_seen = True
        if self._fell(inputs, "pe_entry"):
            self._fifo.append(self._tall_seen)
            self._tall_seen = False
        if self._state == "run" and self._rose(inputs, "pe_pusher"):
            tall = self._fifo.popleft() if self._fifo else False
            if tall:
                self._state = "extend"
        elif self._state == "extend" and inputs["pusher_extended"]:
            self._state = "retract"
        elif self._state == "retract" and inputs["pusher_retracted"]:
            self._state = "run"
        self._prev = inputs
        running = self._state == "run"
        return {
            "conveyor_run": running,
            "pusher_extend": self._state == "extend",
            "infeed_enable": self.infeed,
            "speed_sp": self.speed,
            "light_green": True,
        }


@dataclass
class DemoSummary:
    """What a demo run did."""

    model: str
    seed: int
    virtual_s: float
    wall_s: float
    spawned: Counter[str]
    bins: dict[str, Counter[str]]
    edges: dict[str, int]

    @property
    def real_time_factor(self) -> float:
        return self.virtual_s / self.wall_s if self.wall_s else float("inf")

    @property
    def missorted(self) -> int:
        """Parts in a bin named for another variant (bin_<variant> naming)."""
        return sum(
            count
            for bin_name, counts in self.bins.items()
            for variant, count in counts.items()
            if bin_name.startswith("bin_") and bin_name != f"bin_{variant}"
        )


def run_demo(
    model_path: str | Path = BUNDLED_MODEL, duration_s: float = 60.0, seed: int | None = None
) -> DemoSummary:
    """Load and check the model, then run it ``duration_s`` with :class:`SortingScript`."""
    model = load_model(model_path)
    with Plant(model, seed) as plant:
        sim = Simulator(plant)
        recorder = ChangeRecorder(plant.image)
        sim.monitors.append(recorder)
        sim.add_controller(SortingScript(), period_s=0.01)
        started = time.perf_counter()
        sim.run_for(duration_s)
        wall = time.perf_counter() - started
        sensors = [r.tag for r in model.io_rows() if r.tag.startswith("pe_")]
        return DemoSummary(
            model=model.name,
            seed=plant.seed,
            virtual_s=ns_to_s(sim.now_ns),
            wall_s=wall,
            spawned=Counter(p.variant for p in plant.parts.parts),
            bins={
                c.name: Counter(a.variant for a in c.arrivals)
                for c in plant.components
                if isinstance(c, Sink)
            },
            edges={name: len(recorder.edges(name)) for name in sensors},
        )
