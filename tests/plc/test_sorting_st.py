"""The reference program ``sorting.st`` driving the sorting line in-process, in lockstep.

Each test runs the real plant (pybullet) with the compiled program at its 10 ms task and
checks a requirement of the ST issue from the committed signal changes.
"""

from __future__ import annotations

from collections import Counter

import pytest

from vcommission.config.model import load_model
from vcommission.demo import BUNDLED_MODEL
from vcommission.plant.plant import Plant
from vcommission.plant.sink import Sink
from vcommission.plc import SoftPlc, compile_program, model_program
from vcommission.simulator import ChangeRecorder, Simulator

MS = 1_000_000


@pytest.fixture(scope="module")
def model():
    return load_model(BUNDLED_MODEL)


@pytest.fixture(scope="module")
def program(model):
    return compile_program(model_program(BUNDLED_MODEL), model)


class Line:
    """The plant, the PLC and a recorder of every committed change."""

    def __init__(self, model, program, seed=None):
        self.plant = Plant(model, seed)
        self.sim = Simulator(self.plant)
        self.plc = SoftPlc(program)
        self.sim.add_controller(self.plc, self.plc.period_s)
        self.recorder = ChangeRecorder(self.plant.image)
        self.sim.monitors.append(self.recorder)

    def press(self, button: str, hold_s: float = 0.2) -> int:
        """Press and release an operator button; return when it was pressed (ns)."""
        self.sim.operate(f"{button}.pressed", True)
        pressed = self.sim.now_ns
        self.sim.run_for(hold_s)
        self.sim.operate(f"{button}.pressed", False)
        return pressed

    def first_change(self, tag: str, value, after_ns: int) -> int | None:
        return next((t for t, v in self.recorder.edges(tag) if t > after_ns and v == value), None)

    def bins(self) -> dict[str, Counter]:
        return {
            c.name: Counter(a.variant for a in c.arrivals)
            for c in self.plant.components
            if isinstance(c, Sink)
        }

    def close(self):
        self.plant.close()


@pytest.fixture
def line(model, program):
    line = Line(model, program)
    yield line
    line.close()


def test_start_runs_the_line_within_100_ms_and_sorts_every_box(line):
    line.sim.run_for(0.5)
    pressed = line.press("start_pb")
    for tag in ("conveyor_run", "infeed_enable", "light_green"):
        on = line.first_change(tag, True, pressed)
        assert on is not None and on - pressed <= 100 * MS, (tag, on)  # R1
    assert line.plant.image["speed_sp"] == 400  # R9
    line.sim.run_for(60)
    assert line.plc.fault is None
    bins = line.bins()
    assert bins["bin_tall"]["tall"] >= 5 and bins["bin_small"]["small"] >= 5  # R3
    assert set(bins["bin_tall"]) == {"tall"} and set(bins["bin_small"]) == {"small"}
    # R5: at the maximum infeed rate every box reaches its bin within 20 s of its spawn.
    end = line.sim.now_ns
    for part in line.plant.parts.parts:
        arrived = next((e.time_ns for e in part.journey if e.event == "arrived"), None)
        if arrived is None:
            assert end - part.spawned_ns < 20_000 * MS, f"box {part.id} is still travelling"
        else:
            assert arrived - part.spawned_ns <= 20_000 * MS, (part.id, arrived, part.spawned_ns)


def test_pusher_never_extends_while_the_belt_runs(line):
    violations = []

    def interlock(now_ns, changed):
        image = line.plant.image
        if image["pusher_extend"] and image["conveyor_run"]:
            violations.append(now_ns)

    line.sim.monitors.append(interlock)
    line.press("start_pb")
    line.sim.run_for(40)
    assert line.recorder.edges("pusher_extend"), "the pusher never stroked: nothing was tested"
    assert violations == []  # R4


def test_estop_drops_the_outputs_in_one_scan_and_restart_needs_reset_then_start(line):
    line.press("start_pb")
    line.sim.run_for(5)
    line.sim.operate("estop.pressed", True)
    line.sim.run_for(0.05)
    seen = next(t for t, v in line.recorder.edges("estop_ok") if v is False)
    for tag in ("conveyor_run", "infeed_enable", "light_green"):
        off = line.first_change(tag, False, seen - 1)
        assert off is not None and off - seen <= 20 * MS, (tag, off, seen)  # R6: one scan + I/O
    assert line.plant.image["light_red"] is True
    line.sim.operate("estop.pressed", False)
    line.sim.run_for(0.5)
    line.press("start_pb")
    line.sim.run_for(0.5)
    assert line.plant.image["conveyor_run"] is False, "start alone must not restart after e-stop"
    line.press("reset_pb")
    line.press("start_pb")
    line.sim.run_for(0.2)
    assert line.plant.image["conveyor_run"] is True


def test_stop_button_stops_belt_and_infeed(line):
    line.press("start_pb")
    line.sim.run_for(3)
    pressed = line.press("stop_pb")
    line.sim.run_for(1)
    for tag in ("conveyor_run", "infeed_enable"):
        assert line.first_change(tag, False, pressed) is not None, tag  # R2
    assert line.plant.image["light_amber"] is True
    assert line.plant.image["pusher_retracted"] is True


def test_same_seed_gives_the_same_trace_and_coverage(model, program):
    traces, coverages = [], []
    for _ in range(2):
        line = Line(model, program, seed=3)
        try:
            line.press("start_pb")
            line.sim.run_for(15)
            traces.append(list(line.recorder.changes))
            coverages.append(line.plc.coverage().to_json())
        finally:
            line.close()
    assert traces[0] == traces[1]
    assert coverages[0] == coverages[1]
    assert coverages[0]["statements"]["covered"] > 0


def test_pusher_fault_when_the_extended_switch_never_comes(program):
    """R8, on the PLC alone: a tall box at the pusher, an extend command, no end switch."""
    plc = SoftPlc(program)
    inputs = {"stop_pb_nc": True, "estop_ok": True, "pusher_retracted": True}
    scan = 0

    def run(seconds: float, **changes: bool) -> None:
        nonlocal scan
        inputs.update(changes)
        for _ in range(round(seconds / 0.01)):
            scan += 1
            for name, value in inputs.items():
                plc.set_variable(f"SortingInst.{name}", value)
            assert plc.run_cycle(scan * 10 * MS), plc.fault

    def out(name: str):
        return plc.variable(f"SortingInst.{name}")

    run(0.1)
    run(0.1, start_pb=True)
    run(0.1, start_pb=False)
    assert out("conveyor_run") is True
    # A tall box passes the scan station, then reaches the pusher beam.
    run(0.2, pe_entry=True)
    run(0.2, pe_tall=True)
    run(0.2, pe_tall=False, pe_entry=False)
    run(0.5, pe_pusher=True)
    assert out("pusher_extend") is True and out("conveyor_run") is False
    run(0.5, pusher_retracted=False)  # the plate leaves home but never reaches the end
    assert out("pusher_extend") is True and out("light_red") is False
    run(1.6)  # 2.1 s after the extend command
    assert out("pusher_extend") is False
    assert (
        out("light_red") is True and out("conveyor_run") is False and out("infeed_enable") is False
    )
