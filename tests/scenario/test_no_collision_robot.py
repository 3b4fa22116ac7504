"""``no_collision`` with the real robot and vacuum gripper: the gantry picks a box and drops
it into a bin (the grip helper's cell, tests/plant/test_gripper.py), checked as a cell would.

The gripper is a real :class:`~vcommission.plant.capabilities.PartHolder`: while it holds the
box, ``parts.held`` has it and ``parts.free`` does not; released above the bin, the box falls
in and touches the bin as a free part.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.plant.robot_helpers import Plc
from tests.plant.test_gripper import GANTRY_CELL
from vcommission.config.model import load_model
from vcommission.plant.plant import Plant
from vcommission.scenario.checks import make_check
from vcommission.scenario.context import RunContext
from vcommission.scenario.results import Verdict
from vcommission.scenario.schema import CheckSpec, NoCollisionSpec

PARTS = "name: gantry_cell\nparts:\n  box: {size: [0.2, 0.2, 0.1], mass: 1.0, friction: 0.5}\n"


class _Rig:
    """What :class:`tests.plant.robot_helpers.Plc` drives: the run's own plant and simulator."""

    def __init__(self, run: RunContext) -> None:
        self.plant, self.sim = run.plant, run.sim

    def run_until(self, done: Callable[[], bool], timeout_s: float) -> None:
        assert self.sim.run_until(done, timeout_s=timeout_s), f"not reached in {timeout_s} s"


@pytest.fixture
def cell(tmp_path: Path):
    (tmp_path / "model.yaml").write_text(PARTS + GANTRY_CELL)
    model = load_model(tmp_path / "model.yaml")
    with Plant(model) as plant:
        world = plant.world
        world.add_box((0.1, 0.1, 0.225), (0.3, 0.0, 0.225))  # the pedestal under the pick point
        body = world.add_part(model.variants["box"], (0.3, 0.0, 0.45))
        plant.parts.add("box", body, 0, "test")
        yield RunContext.start(None, model, plant, None)


def test_a_robot_job_checked_over_held_and_free_parts(cell: RunContext, tmp_path: Path):
    specs = {
        "held": NoCollisionSpec(["parts.held"], ["bin"]),
        "any": NoCollisionSpec(["parts"], ["bin"]),
        "machine": NoCollisionSpec(["arm", "cup"], ["bin"]),
        "arm": NoCollisionSpec(["arm"], ["parts.held"]),
    }
    cell.evidence_stem = str(tmp_path / "traces" / "job")
    checks = {k: make_check(CheckSpec(no_collision=s), cell) for k, s in specs.items()}
    for check in checks.values():
        check.start(cell)
    plc = Plc(_Rig(cell))  # type: ignore[arg-type]
    plc.power_up()
    plc.start(1)
    cell.sim.run_until(lambda: not plc["appl_run"], timeout_s=20.0)
    assert plc["job_done"] == 1
    cell.sim.run_for(1.0)
    results = {k: check.finish(cell) for k, check in checks.items()}
    # Carried and released above the bin: while held, the box never touched it.
    assert results["held"].verdict is Verdict.PASSED and results["held"].exercised
    # Then it fell in, a free part: that touches the bin.
    fell = results["any"]
    assert fell.verdict is Verdict.FAILED
    assert fell.message.startswith("part 1 (box) and bin interpenetrated by "), fell.message
    (image,) = fell.evidence.images
    assert Path(image["path"]).is_file()
    # The arm and its cup kept clear of the bin, and the arm moved: exercised.
    assert results["machine"].verdict is Verdict.PASSED and results["machine"].exercised
    # The held box against the arm that carries it (its gripper's mount) is the grip.
    assert results["arm"].verdict is Verdict.PASSED and results["arm"].exercised
