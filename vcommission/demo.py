"""The main job's demo: a model driven by its ST program in virtual time, summarised.

:func:`run_demo` compiles the model's own program (the bundled sorting line's
``plc/sorting.st`` by default, or another), runs it in-process in lockstep with the plant,
presses the start button, and reports what it did: parts spawned, what each bin (any part
sink) received, the edges of every sensor, and the program's coverage. The start button is
the one named (``--start TAG``), else the model's one push button whose name says ``start``;
a model with none is run without a press.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vcommission.clock import ns_to_s
from vcommission.config.model import load_model
from vcommission.errors import PlcFault, VcommissionError
from vcommission.plant.capabilities import PartSink
from vcommission.plant.component import Component
from vcommission.plant.panel import EmergencyStop, PushButton
from vcommission.plc import Coverage, compile_program, model_program
from vcommission.resources import resolve_model
from vcommission.session import SessionBuilder
from vcommission.signals import Direction, SignalTable

__all__ = ["BUNDLED_MODEL", "DemoSummary", "run_demo", "start_button"]

#: The demo's model: the bundled sorting line (package data once installed).
BUNDLED_MODEL = resolve_model("sorting_line")
#: The bundled sorting line's start button: what the demo pressed before it looked for one.
START_BUTTON = "start_pb.pressed"
#: When the demo presses start and for how long (virtual seconds).
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
    #: The operator input pressed to start, or None (the model has no start button).
    start: str | None = None

    @property
    def real_time_factor(self) -> float:
        return self.virtual_s / self.wall_s if self.wall_s else float("inf")

    @property
    def delivered(self) -> int:
        """Parts that reached a bin (any part sink)."""
        return sum(sum(counts.values()) for counts in self.bins.values())

    @property
    def sorting(self) -> bool:
        """Whether the bins are named per variant (``bin_<variant>``), so sorting is judged."""
        return any(name.startswith("bin_") for name in self.bins)

    @property
    def missorted(self) -> int:
        """Parts in a bin named for another variant (bin_<variant> naming)."""
        return sum(
            count
            for bin_name, counts in self.bins.items()
            for variant, count in counts.items()
            if bin_name.startswith("bin_") and bin_name != f"bin_{variant}"
        )


def start_button(
    table: SignalTable, components: Iterable[Component], wanted: str | None = None
) -> str | None:
    """The operator input that starts a plant, or None.

    ``wanted`` (a tag, or a push button's name) if given, else the ``pressed`` input of the
    plant's one push button named like ``start``.

    Raises:
        VcommissionError: ``wanted`` is not an operator input of the model.
    """
    if wanted is not None:
        tag = wanted if wanted in table else f"{wanted}.pressed"
        if tag not in table or table[tag].direction is not Direction.OPERATOR:
            operable = [s.name for s in table.signals if s.direction is Direction.OPERATOR]
            raise VcommissionError(
                f"--start {wanted}: not an operator input of the model ({', '.join(operable)})"
            )
        return tag
    starts = [c.name for c in components if isinstance(c, PushButton) and "start" in c.name.lower()]
    if len(starts) == 1 and f"{starts[0]}.pressed" in table:
        return f"{starts[0]}.pressed"
    return None


def run_demo(
    model_path: str | Path = BUNDLED_MODEL,
    duration_s: float = 60.0,
    seed: int | None = None,
    program_path: str | Path | None = None,
    start: str | None = None,
) -> DemoSummary:
    """Check the model, compile the ST program, and run both ``duration_s`` in lockstep.

    The program defaults to the model's own (the one ``.st`` file in its ``plc/``). The start
    button (``start``, else found by :func:`start_button`) is pressed at 0.5 s for 0.2 s.

    Raises:
        ConfigError: the model is invalid.
        PlcCompileError: the program does not compile or bind.
        VcommissionError: ``start`` is not an operator input of the model.
    """
    model = load_model(model_path)
    program_file = Path(program_path) if program_path else model_program(model.path)
    program = compile_program(program_file, model)
    with SessionBuilder(model, seed=seed).plc(program).build() as session:
        plant, sim, recorder, plc = session.plant, session.sim, session.recorder, session.plc
        assert plc is not None
        button = start_button(model.table, plant.components, start)
        started = time.perf_counter()
        if button is not None and duration_s > START_AT_S + START_HOLD_S:
            sim.run_for(START_AT_S)
            sim.operate(button, True)
            sim.run_for(START_HOLD_S)
            sim.operate(button, False)
        sim.run_for(duration_s - ns_to_s(sim.now_ns))
        wall = time.perf_counter() - started
        panel = {c.name for c in plant.components if isinstance(c, PushButton | EmergencyStop)}
        sensors = [
            r.tag
            for r in model.io_rows()
            if r.direction is Direction.FROM_PLANT
            and r.type.is_bool
            and r.port.partition(".")[0] not in panel
        ]
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
            start=button,
        )
