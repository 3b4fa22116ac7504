"""The main job's demo: the sorting line driven by its ST program in virtual time, summarised.

:func:`run_demo` compiles the bundled ``plc/sorting.st`` (or another program), runs it
in-process in lockstep with the plant, presses the start button, and reports what was sorted
and the program's coverage.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from vcommission.clock import ns_to_s
from vcommission.config.model import load_model
from vcommission.errors import PlcFault
from vcommission.plant.capabilities import PartSink
from vcommission.plc import Coverage, compile_program, model_program
from vcommission.resources import resolve_model
from vcommission.session import SessionBuilder

__all__ = ["BUNDLED_MODEL", "DemoSummary", "run_demo"]

#: The demo's model: the bundled sorting line (package data once installed).
BUNDLED_MODEL = resolve_model("sorting_line")
#: The operator input the demo presses to start the line, and when (virtual seconds).
START_BUTTON = "start_pb.pressed"
START_AT_S = 0.5
START_HOLD_S = 0.2


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
    with SessionBuilder(model, seed=seed).plc(program).build() as session:
        plant, sim, recorder, plc = session.plant, session.sim, session.recorder, session.plc
        assert plc is not None
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
