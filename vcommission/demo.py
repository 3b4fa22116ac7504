"""The main job's demo: the sorting line driven by its ST program in virtual time, summarised.

:func:`run_demo` compiles the bundled ``plc/sorting.st`` (or another program), runs it
in-process in lockstep with the plant, presses the start button, and reports what was sorted
and the program's coverage. :class:`SortingScript` is a small Python stand-in for that
program (only the PLC-facing tags of the I/O contract): the plant benchmark's baseline
"actuator script".
"""

from __future__ import annotations

import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path

from vcommission.clock import ns_to_s
from vcommission.config.model import load_model
from vcommission.errors import PlcFault
from vcommission.plant.capabilities import PartSink
from vcommission.plant.plant import Plant
from vcommission.plc import Coverage, SoftPlc, compile_program, model_program
from vcommission.signals import ProcessImage, Value
from vcommission.simulator import ChangeRecorder, Simulator

__all__ = ["DemoSummary", "SortingScript", "run_demo"]

BUNDLED_MODEL = Path(__file__).resolve().parent.parent / "plant_models" / "sorting_line"
#: The operator input the demo presses to start the line, and when (virtual seconds).
START_BUTTON = "start_pb.pressed"
START_AT_S = 0.5
START_HOLD_S = 0.2


@dataclass
class SortingScript:
    """Scripted actuators for sorting_line: run the belt and infeed, push tall boxes.

    Reads only PLC inputs of the I/O contract and writes only PLC outputs, the way a PLC
    program would: a box's height is judged at the scan station (pe_tall blocked while
    pe_entry is), remembered in a FIFO, and acted on when the box reaches pe_pusher, where
    the belt is stopped (pusher and belt are interlocked), the pusher strokes, and the
    belt restarts once it is back. Like a PLC's output image, only changed outputs are
    written.
    """

    #: Belt speed setpoint, mm/s.
    speed: int = 400
    #: Keep the infeed enabled (set False to let the line run empty).
    infeed: bool = True
    _fifo: deque[bool] = field(default_factory=deque)
    _tall_seen: bool = False
    _state: str = "run"
    _index: dict[str, int] = field(default_factory=dict)
    _previous: dict[str, Value] = field(default_factory=dict)
    _written: dict[str, Value] = field(default_factory=dict)

    def _read(self, image: ProcessImage) -> dict[str, Value]:
        if not self._index:
            self._index = {name: image.table.index(name) for name in _SCRIPT_INPUTS}
        committed = image.committed
        return {name: committed[i] for name, i in self._index.items()}

    def scan(self, now_ns: int, image: ProcessImage) -> dict[str, Value]:
        inputs = self._read(image)
        previous = self._previous or inputs
        if inputs["pe_entry"] and inputs["pe_tall"]:
            self._tall_seen = True
        if previous["pe_entry"] and not inputs["pe_entry"]:
            self._fifo.append(self._tall_seen)
            self._tall_seen = False
        if self._state == "run" and inputs["pe_pusher"] and not previous["pe_pusher"]:
            if self._fifo.popleft() if self._fifo else False:
                self._state = "extend"
        elif self._state == "extend" and inputs["pusher_extended"]:
            self._state = "retract"
        elif self._state == "retract" and inputs["pusher_retracted"]:
            self._state = "run"
        self._previous = inputs
        outputs: dict[str, Value] = {
            "conveyor_run": self._state == "run",
            "pusher_extend": self._state == "extend",
            "infeed_enable": self.infeed,
            "speed_sp": self.speed,
            "light_green": True,
        }
        changed = {k: v for k, v in outputs.items() if self._written.get(k) != v}
        self._written.update(changed)
        return changed


_SCRIPT_INPUTS = ("pe_entry", "pe_tall", "pe_pusher", "pusher_extended", "pusher_retracted")


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
    #: The ST program that ran, its coverage, and its runtime fault if it stopped.
    program: str = ""
    coverage: Coverage | None = None
    fault: PlcFault | None = None

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
    model_path: str | Path = BUNDLED_MODEL,
    duration_s: float = 60.0,
    seed: int | None = None,
    program_path: str | Path | None = None,
) -> DemoSummary:
    """Check the model, compile the ST program, and run both ``duration_s`` in lockstep.

    The program defaults to the model's own (the one ``.st`` file in its ``plc/``). If it has a
    ``start_pb.pressed`` operator input, it is pressed at 0.5 s for 0.2 s.

    Raises:
        ConfigError: the model is invalid.
        PlcCompileError: the program does not compile or bind.
    """
    model = load_model(model_path)
    program_file = Path(program_path) if program_path else model_program(model.path)
    program = compile_program(program_file, model)
    with Plant(model, seed) as plant:
        sim = Simulator(plant)
        recorder = ChangeRecorder(plant.image)
        sim.monitors.append(recorder)
        plc = SoftPlc(program)
        sim.add_controller(plc, period_s=plc.period_s)
        started = time.perf_counter()
        if START_BUTTON in model.table and duration_s > START_AT_S + START_HOLD_S:
            sim.run_for(START_AT_S)
            sim.operate(START_BUTTON, True)
            sim.run_for(START_HOLD_S)
            sim.operate(START_BUTTON, False)
        sim.run_for(duration_s - ns_to_s(sim.now_ns))
        wall = time.perf_counter() - started
        sensors = [r.tag for r in model.io_rows() if r.tag.startswith("pe_")]
        return DemoSummary(
            model=model.name,
            seed=plant.seed,
            virtual_s=ns_to_s(sim.now_ns),
            wall_s=wall,
            spawned=Counter(p.variant for p in plant.parts.parts),
            bins={c.name: Counter(a.variant for a in c.arrivals) for c in plant.having(PartSink)},
            edges={name: len(recorder.edges(name)) for name in sensors},
            program=str(program_file),
            coverage=plc.coverage(),
            fault=plc.fault,
        )
