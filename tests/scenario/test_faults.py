"""The fault library on the real sorting line: physical effects, clean clears, determinism."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import SORTING_LINE, SORTING_ST
from vcommission.clock import s_to_ns
from vcommission.config.model import Model, load_model
from vcommission.errors import ConfigError
from vcommission.plant.plant import Plant
from vcommission.plc.runtime import compile_program
from vcommission.scenario.context import RunContext
from vcommission.scenario.faults import make_fault, validate_fault
from vcommission.scenario.schema import FaultKind, FaultSpec

BELT_Z = 0.8


@pytest.fixture(scope="module")
def model() -> Model:
    return load_model(SORTING_LINE)


def _run(model: Model, *, plc: bool = False, seed: int | None = None) -> RunContext:
    program = compile_program(SORTING_ST, model) if plc else None
    return RunContext.start(None, model, Plant(model, seed=seed), program)


@pytest.fixture
def run(model: Model) -> Iterator[RunContext]:
    run = _run(model)
    yield run
    run.plant.close()


@pytest.fixture
def plc_run(model: Model) -> Iterator[RunContext]:
    run = _run(model, plc=True)
    yield run
    run.plant.close()


def _command(run: RunContext, **outputs: object) -> None:
    """Write PLC outputs as a PLC would (no PLC in the plain ``run``)."""
    for name, value in outputs.items():
        run.plant.image.stage(name, value)


def _place_box(run: RunContext, x: float, variant: str = "small") -> int:
    """Put a box on the belt centre line at ``x``; returns its body."""
    plant = run.plant
    body = plant.world.add_part(plant.model.variants[variant], (x, 0.0, BELT_Z))
    plant.parts.add(variant, body, run.now_ns, "test")
    return body


def _x(run: RunContext, body: int) -> float:
    return run.plant.world.pose(body)[0][0]


def _press(run: RunContext, button: str) -> None:
    run.sim.operate(f"{button}.pressed", True)
    run.sim.run_for(0.1)
    run.sim.operate(f"{button}.pressed", False)
    run.sim.run_for(0.1)


def _inject(run: RunContext, **spec: object) -> object:
    fault = make_fault(FaultSpec(**spec), run)
    fault.inject(run)
    return fault


def _rise_time(run: RunContext, tag: str, timeout_s: float = 5.0) -> float:
    start = run.now_ns
    assert run.sim.run_until(lambda: run.plant.image[tag], timeout_s=timeout_s)
    return (run.now_ns - start) / 1e9


# ---- sensors -----------------------------------------------------------------------------------


def test_sensor_stuck_reads_the_value_until_cleared(run):
    run.sim.run_for(0.1)
    assert run.plant.image["pe_exit"] is False
    fault = _inject(run, kind=FaultKind.SENSOR_STUCK, tag="pe_exit", value=True)
    run.sim.run_for(0.5)
    assert run.plant.image["pe_exit"] is True
    fault.clear(run)
    fault.clear(run)  # idempotent
    run.sim.run_for(0.05)
    assert run.plant.image["pe_exit"] is False


def test_sensor_stuck_off_hides_a_box_in_the_beam(run):
    _place_box(run, 3.8)
    run.sim.run_for(0.3)
    assert run.plant.image["pe_exit"] is True
    fault = _inject(run, kind=FaultKind.SENSOR_STUCK, tag="pe_exit", value=False)
    run.sim.run_for(0.3)
    assert run.plant.image["pe_exit"] is False
    fault.clear(run)
    run.sim.run_for(0.05)
    assert run.plant.image["pe_exit"] is True


def _chatter(model: Model, seed: int, name: str | None = None) -> list[tuple[int, object]]:
    run = _run(model, seed=seed)
    try:
        run.sim.run_for(0.2)
        start = run.now_ns
        _inject(run, kind=FaultKind.SENSOR_CHATTER, tag="pe_tall", period=0.05, id=name)
        run.sim.run_for(2.0)
        return [(t - start, v) for t, v in run.recorder.edges("pe_tall")]
    finally:
        run.plant.close()


def test_sensor_chatter_is_seeded_and_periodic(model):
    first = _chatter(model, seed=7)
    assert first == _chatter(model, seed=7)  # same seed, same chatter
    assert first != _chatter(model, seed=8)
    assert first != _chatter(model, seed=7, name="other")  # each fault its own stream
    # 40 periods of 50 ms, each inverted with p = 0.5: plenty of edges, all on boundaries.
    assert len(first) > 10
    assert all(t % s_to_ns(0.05) == 0 for t, _ in first)


def test_sensor_chatter_probability_zero_reads_the_truth_and_clear_stops_it(run):
    quiet = _inject(run, kind=FaultKind.SENSOR_CHATTER, tag="pe_tall", period=0.02, probability=0.0)
    run.sim.run_for(1.0)
    assert run.recorder.edges("pe_tall") == []
    quiet.clear(run)
    loud = _inject(run, kind=FaultKind.SENSOR_CHATTER, tag="pe_tall", period=0.02, probability=1)
    run.sim.run_for(0.1)
    assert run.plant.image["pe_tall"] is True  # inverted all the time
    loud.clear(run)
    run.sim.run_for(0.05)
    assert run.plant.image["pe_tall"] is False


# ---- wires and actuators -----------------------------------------------------------------------


def test_wire_break_on_a_sensor_reads_false(run):
    _place_box(run, 1.0)
    run.sim.run_for(0.3)
    assert run.plant.image["pe_entry"] is True
    fault = _inject(run, kind=FaultKind.WIRE_BREAK, tag="pe_entry")
    run.sim.run_for(0.1)
    assert run.plant.image["pe_entry"] is False
    fault.clear(run)
    run.sim.run_for(0.05)
    assert run.plant.image["pe_entry"] is True


def test_wire_break_on_a_plc_output_leaves_the_actuator_unpowered(run):
    fault = _inject(run, kind=FaultKind.WIRE_BREAK, tag="pusher_extend")
    _command(run, pusher_extend=True)
    run.sim.run_for(1.0)
    image = run.plant.image
    assert image["pusher_extend"] is True  # the PLC's command stays in the image and trace
    assert image["pusher.position"] == 0.0 and image["pusher_retracted"] is True
    fault.clear(run)
    assert _rise_time(run, "pusher_extended") == pytest.approx(0.6, abs=0.03)


def test_actuator_stuck_acts_as_commanded_value(run):
    fault = _inject(run, kind=FaultKind.ACTUATOR_STUCK, tag="pusher_extend", value=True)
    assert _rise_time(run, "pusher_extended") == pytest.approx(0.6, abs=0.03)
    assert run.plant.image["pusher_extend"] is False  # nobody commanded it
    fault.clear(run)
    assert _rise_time(run, "pusher_retracted") == pytest.approx(0.6, abs=0.03)


def test_actuator_stuck_on_the_belt_runs_it_while_the_plc_says_stop(run):
    fault = _inject(run, kind=FaultKind.ACTUATOR_STUCK, tag="conveyor_run", value=True)
    body = _place_box(run, 0.5)
    run.sim.run_for(2.0)
    assert _x(run, body) > 1.0
    assert run.plant.image["speed_actual"] == 400
    fault.clear(run)
    run.sim.run_for(0.5)
    assert run.plant.image["speed_actual"] == 0


@pytest.mark.parametrize(("how", "target"), [("tag", "pusher_extend"), ("component", "pusher")])
def test_actuator_slow_multiplies_the_stroke_time(run, how, target):
    _command(run, pusher_extend=True)
    assert _rise_time(run, "pusher_extended") == pytest.approx(0.6, abs=0.03)
    _command(run, pusher_extend=False)
    run.sim.run_until(lambda: run.plant.image["pusher_retracted"])
    fault = _inject(run, kind=FaultKind.ACTUATOR_SLOW, factor=2.5, **{how: target})
    _command(run, pusher_extend=True)
    assert _rise_time(run, "pusher_extended") == pytest.approx(1.5, abs=0.03)
    _command(run, pusher_extend=False)
    assert _rise_time(run, "pusher_retracted") == pytest.approx(1.5, abs=0.03)
    fault.clear(run)
    _command(run, pusher_extend=True)
    assert _rise_time(run, "pusher_extended") == pytest.approx(0.6, abs=0.03)


def test_belt_slip_moves_parts_at_factor_times_the_speed(run):
    _command(run, conveyor_run=True)
    body = _place_box(run, 0.4)
    run.sim.run_for(1.0)  # ramp up, box settled and carried
    fault = _inject(run, kind=FaultKind.BELT_SLIP, tag="conveyor_run", factor=0.5)
    run.sim.run_for(0.3)  # the box adapts to the slower surface
    x0 = _x(run, body)
    run.sim.run_for(1.0)
    assert _x(run, body) - x0 == pytest.approx(0.2, abs=0.02)
    # The drive's feedback does not see the slip: only the parts do.
    assert run.plant.image["speed_actual"] == 400
    fault.clear(run)
    run.sim.run_for(0.3)
    x0 = _x(run, body)
    run.sim.run_for(1.0)
    assert _x(run, body) - x0 == pytest.approx(0.4, abs=0.02)


# ---- jam ---------------------------------------------------------------------------------------


def test_jam_holds_a_box_with_the_beam_blocked_until_cleared(run):
    _command(run, conveyor_run=True)
    # A wall whose upstream face is at x = 1.15: a held box covers 0.95..1.15, so pe_entry
    # (x = 1.0) stays blocked.
    fault = _inject(run, kind=FaultKind.JAM, position=(1.175, 0.0, BELT_Z))
    body = _place_box(run, 0.5)
    run.sim.run_for(4.0)
    assert _x(run, body) == pytest.approx(1.05, abs=0.01)
    assert run.plant.image["pe_entry"] is True
    assert run.plant.image["speed_actual"] == 400  # the belt slides under the held box
    second = _place_box(run, 0.5)
    run.sim.run_for(3.0)
    assert _x(run, second) == pytest.approx(0.85, abs=0.015)  # queued behind the first
    fault.clear(run)
    fault.clear(run)
    run.sim.run_for(2.0)
    assert _x(run, body) > 1.7
    assert run.plant.image["pe_entry"] is False


# ---- the PLC link ------------------------------------------------------------------------------


def test_lost_connection_freezes_the_plc_inputs(plc_run):
    run = plc_run
    run.sim.run_for(0.2)
    fault = _inject(run, kind=FaultKind.LOST_CONNECTION)
    _press(run, "start_pb")
    run.sim.run_for(0.5)
    assert run.plant.image["conveyor_run"] is False  # the PLC never saw the press
    fault.clear(run)
    run.sim.run_for(0.5)
    assert run.plant.image["conveyor_run"] is False
    _press(run, "start_pb")
    assert run.plant.image["conveyor_run"] is True


def test_lost_connection_drops_writes_and_resends_outputs_on_clear(plc_run):
    run = plc_run
    _press(run, "start_pb")
    run.sim.run_for(0.5)
    assert run.plant.image["conveyor_run"] is True
    fault = _inject(run, kind=FaultKind.LOST_CONNECTION)
    run.plc.restart()  # cold restart: STOPPED, conveyor_run FALSE, written into the void
    run.sim.run_for(1.0)
    assert run.plc.variable("SortingInst.conveyor_run") is False
    assert run.plant.image["conveyor_run"] is True
    assert run.plant.image["speed_actual"] == 400
    fault.clear(run)
    run.sim.run_for(0.05)  # the next scan resends every output
    assert run.plant.image["conveyor_run"] is False


def _start_delay(run: RunContext) -> float:
    run.sim.operate("start_pb.pressed", True)
    pressed = run.now_ns
    assert run.sim.run_until(lambda: run.plant.image["conveyor_run"], timeout_s=2)
    run.sim.operate("start_pb.pressed", False)
    return (run.now_ns - pressed) / 1e9


def _stop(run: RunContext) -> None:
    _press(run, "stop_pb")
    run.sim.run_for(0.5)
    assert run.plant.image["conveyor_run"] is False


def test_latency_delays_plc_writes_by_the_delay(plc_run):
    run = plc_run
    run.sim.run_for(0.2)
    normal = _start_delay(run)
    _stop(run)
    fault = _inject(run, kind=FaultKind.LATENCY, delay=0.3)
    delayed = _start_delay(run)
    assert delayed - normal == pytest.approx(0.3, abs=0.011)  # scan granularity
    _stop(run)  # the stop reaches the plant late too, in order
    fault.clear(run)
    assert _start_delay(run) == pytest.approx(normal)


def test_link_faults_need_a_plc_link(run):
    for spec in (FaultSpec(FaultKind.LOST_CONNECTION), FaultSpec(FaultKind.LATENCY, delay=0.1)):
        with pytest.raises(ConfigError, match="needs a PLC link"):
            make_fault(spec, run)


# ---- errors ------------------------------------------------------------------------------------

BAD = [
    (FaultSpec(FaultKind.SENSOR_STUCK, tag="pe_exti", value=True), "did you mean pe_exit"),
    (FaultSpec(FaultKind.SENSOR_STUCK, tag="pusher_extend", value=True), "PLC output"),
    (FaultSpec(FaultKind.SENSOR_STUCK, tag="pe_exit", value=3), "BOOL"),
    (FaultSpec(FaultKind.SENSOR_CHATTER, tag="speed_actual", period=0.1), "BOOL output"),
    (FaultSpec(FaultKind.SENSOR_STUCK, tag="start_pb.pressed", value=True), "set or pulse"),
    (FaultSpec(FaultKind.ACTUATOR_STUCK, tag="pe_exit", value=True), "sensor_stuck"),
    (FaultSpec(FaultKind.WIRE_BREAK, tag="bin_tall.count"), "not PLC I/O"),
    (FaultSpec(FaultKind.ACTUATOR_SLOW, component="pushr", factor=2), "did you mean 'pusher'"),
    (FaultSpec(FaultKind.ACTUATOR_SLOW, tag="conveyor_run", factor=2), "cylinder"),
    (FaultSpec(FaultKind.BELT_SLIP, component="pusher", factor=0.5), "belt_conveyor"),
    (FaultSpec(FaultKind.BELT_SLIP, tag="pusher_extend", component="belt", factor=0.5), "wired"),
    (FaultSpec(FaultKind.JAM, position=(1, 0, 0.8), size=(0.1, 0, 0.1)), "size"),
]


@pytest.mark.parametrize(("spec", "message"), BAD)
def test_bad_faults_are_refused_statically_and_at_make(model, run, spec, message):
    (problem,) = validate_fault(spec, model)
    assert message in problem
    with pytest.raises(ConfigError, match=message):
        make_fault(spec, run)


def test_good_faults_validate_clean(model):
    good = [
        FaultSpec(FaultKind.SENSOR_STUCK, tag="pe_exit", value=1),
        FaultSpec(FaultKind.WIRE_BREAK, tag="speed_sp"),
        FaultSpec(FaultKind.ACTUATOR_STUCK, tag="speed_sp", value=100),
        FaultSpec(FaultKind.ACTUATOR_SLOW, tag="pusher_extended", factor=2),
        FaultSpec(FaultKind.BELT_SLIP, component="belt", factor=0.8),
        FaultSpec(FaultKind.JAM, position=(3, 0, 0.8)),
        FaultSpec(FaultKind.LOST_CONNECTION),
    ]
    assert [validate_fault(spec, model) for spec in good] == [[]] * len(good)
