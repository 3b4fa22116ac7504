"""The ``part_dropped`` fault: a gripper loses its grip and the held part falls.

A vacuum gripper under a cylinder carries a box off a pedestal; the fault drops it
mid-move, the vacuum switch opens, and no new grip is possible until the fault clears.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import write_model, write_scenario
from vcommission.config.model import Model, load_model
from vcommission.errors import ConfigError
from vcommission.plant.plant import Plant
from vcommission.scenario.context import RunContext
from vcommission.scenario.faults import make_fault, validate_fault
from vcommission.scenario.loader import load_scenarios
from vcommission.scenario.schema import FaultKind, FaultSpec

MODEL = """\
name: gripper_rig
parts:
  box: {size: [0.2, 0.2, 0.1], mass: 1.0}
signals:
  suction: {port: cup.suction, direction: to_plant}
  vacuum_ok: {port: cup.vacuum_ok, direction: from_plant}
components:
  slide:
    kind: cylinder
    origin: [0.0, 0.0, 0.3]
    direction: [1, 0, 0]
    stroke: 0.5
    extend_time: 1.0
    retract_time: 1.0
  cup:
    kind: vacuum_gripper
    mount: slide
    offset: [0.05, 0, -0.07]
    rpy: [180, 0, 0]
"""


@pytest.fixture
def model(tmp_path: Path) -> Model:
    return load_model(write_model(tmp_path, MODEL))


@pytest.fixture
def run(model: Model) -> Iterator[RunContext]:
    run = RunContext.start(None, model, Plant(model), None)
    yield run
    run.plant.close()


def _pick(run: RunContext) -> int:
    """A box on a pedestal under the cup, gripped; returns its body."""
    world = run.plant.world
    world.add_box((0.075, 0.075, 0.045), (0.05, 0.0, 0.045))
    body = world.add_part(run.plant.model.variants["box"], (0.05, 0.0, 0.09))
    run.plant.parts.add("box", body, run.now_ns, "test")
    run.sim.run_for(0.2)
    run.plant.image.stage("suction", True)
    assert run.sim.run_until(lambda: run.plant.image["vacuum_ok"], timeout_s=0.5)
    return body


def test_part_dropped_drops_the_held_part_mid_move(run):
    body = _pick(run)
    cup = run.plant.component("cup")
    run.sim.operate("slide.extend", True)
    run.sim.run_for(0.5)
    x_at_drop = run.plant.world.pose(body)[0][0]
    fault = make_fault(FaultSpec(kind=FaultKind.PART_DROPPED, component="cup"), run)
    fault.inject(run)
    assert fault.acted_ns is None
    run.sim.step()
    assert fault.acted_ns == run.now_ns
    assert cup.held_parts() == () and run.plant.image["vacuum_ok"] is False
    run.sim.run_for(0.6)
    (x, _, z), _ = run.plant.world.pose(body)
    assert z == pytest.approx(0.05, abs=0.005)  # on the floor
    assert x < run.plant.world.pose(cup.bodies()["tool"].moving[0])[0][0] - 0.1  # left behind
    assert x > x_at_drop  # it kept the carrier's velocity as it fell
    part = run.plant.parts.by_body(body)
    assert [e.event for e in part.journey][-2:] == ["gripped", "released"]


def test_no_new_grip_until_the_fault_clears(run):
    body = _pick(run)
    cup = run.plant.component("cup")
    fault = make_fault(FaultSpec(kind=FaultKind.PART_DROPPED, component="cup"), run)
    fault.inject(run)
    run.sim.run_for(0.3)  # the box fell back onto the pedestal, still under the cup
    assert cup.held_parts() == () and run.plant.image["vacuum_ok"] is False
    fault.clear(run)
    run.sim.run_for(0.2)
    assert cup.held_parts() == (body,) and run.plant.image["vacuum_ok"] is True


def test_part_dropped_found_from_a_gripper_tag(run):
    _pick(run)
    fault = make_fault(FaultSpec(kind=FaultKind.PART_DROPPED, tag="suction"), run)
    fault.inject(run)
    run.sim.step()
    assert fault.acted_ns is not None


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"component": "slide"}, "part_dropped needs a gripper (a tool that holds parts): "),
        ({"component": "cupp"}, "component: no component 'cupp' (did you mean 'cup'?)"),
        ({"tag": "slide.extend"}, "part_dropped needs a gripper (a tool that holds parts): none"),
    ],
)
def test_bad_targets_are_refused(model, spec, message):
    problems = validate_fault(FaultSpec(kind=FaultKind.PART_DROPPED, **spec), model)
    assert len(problems) == 1 and problems[0].startswith(message)


def test_part_dropped_needs_a_tag_or_a_component():
    with pytest.raises(ConfigError, match="fault part_dropped needs a tag or a component"):
        FaultSpec(kind=FaultKind.PART_DROPPED)


def test_a_bad_target_is_located_in_the_scenario(tmp_path):
    model = write_model(tmp_path / "m", MODEL)
    (tmp_path / "m" / "plc").mkdir()
    (tmp_path / "m" / "plc" / "idle.st").write_text(
        "PROGRAM Idle\nVAR x : BOOL; END_VAR\nx := TRUE;\nEND_PROGRAM\n"
    )
    text = (
        f"name: t\nmodel: {model}\nduration: 1\nsteps:\n"
        "  - fault: {kind: part_dropped, component: slide}\n"
        "checks:\n  - final_state: {max_in_flight: 10}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_scenarios(write_scenario(tmp_path, text))
    (issue,) = info.value.issues
    assert (issue.line, issue.path) == (5, "steps[0].fault")
    assert "part_dropped needs a gripper (a tool that holds parts): 'slide' is a cylinder" in (
        issue.message
    )
