"""Grippers on a mount, physically: grip, carry, drop, jaws closed on a part vs closed empty.

The grippers hang under a cylinder's plate (a cylinder is a Mount), pointing down
(``rpy: [180, 0, 0]``), above a pedestal the part rests on; extending the cylinder carries
the part off the pedestal, where it hangs in the air until released.
"""

from __future__ import annotations

import pytest

from vcommission.errors import ConfigError
from vcommission.plant.capabilities import GripLosable, Mount, PartHolder, Tool

# The cup face (tool +z, pointing down) is at 0.3 - 0.07 - 0.04 = 0.19 m: the top of a
# 0.1 m box on a 0.09 m pedestal.
SLIDE = """
components:
  slide:
    kind: cylinder
    origin: [0.0, 0.0, 0.3]
    direction: [1, 0, 0]
    stroke: 0.5
    extend_time: 1.0
    retract_time: 1.0
"""
VACUUM = (
    SLIDE
    + """
  cup:
    kind: vacuum_gripper
    mount: slide
    offset: [0.05, 0, -0.07]
    rpy: [180, 0, 0]
    vacuum_time: 0.05
"""
)
# Jaws along the mount's y axis; the palm's underside at 0.19 m, fingers 0.08 m long.
JAWS = (
    SLIDE
    + """
  jaws:
    kind: parallel_gripper
    mount: slide
    offset: [0.05, 0, -0.07]
    rpy: [180, 0, 0]
    palm: [0.06, 0.4, 0.04]
    finger: [0.04, 0.02, 0.08]
    open_width: 0.3
    closed_width: 0.02
    stroke_time: 0.4
"""
)
PEDESTAL_TOP = 0.09


def pedestal(r, x: float = 0.05) -> None:
    r.world.add_box((0.075, 0.075, PEDESTAL_TOP / 2), (x, 0.0, PEDESTAL_TOP / 2))


def rig_with_part(rig, text: str, x: float = 0.05):
    r = rig(text)
    pedestal(r)
    part = r.place("box", (x, 0.0, PEDESTAL_TOP))
    r.sim.run_for(0.2)  # settle on the pedestal
    return r, part


def test_kinds_have_the_capabilities(rig):
    r = rig(VACUUM)
    cup = r.plant.component("cup")
    assert isinstance(r.plant.component("slide"), Mount)
    for capability in (Tool, PartHolder, GripLosable):
        assert isinstance(cup, capability)
    r = rig(JAWS)
    assert isinstance(r.plant.component("jaws"), Tool)
    assert isinstance(r.plant.component("jaws"), PartHolder)


def test_the_cup_rides_on_the_plate_every_substep(rig):
    r = rig(VACUUM)
    cup = r.plant.component("cup")
    (body,) = cup.bodies()["tool"].moving
    plate = r.plant.component("slide").plate.body
    r.sim.operate("slide.extend", True)
    for _ in range(60):
        r.sim.step()
        (px, py, pz), _ = r.world.pose(plate)
        (cx, cy, cz), _ = r.world.pose(body)
        # Plate centre to cup centre: half the plate's thickness + 5 cm along x, 9 cm down.
        assert (cx - px, cy - py, cz - pz) == pytest.approx((0.06, 0.0, -0.09), abs=1e-4)
    assert body in cup.holding_bodies() and plate in cup.holding_bodies()


def test_vacuum_grips_carries_and_drops_the_part_on_suction_loss(rig):
    r, part = rig_with_part(rig, VACUUM)
    cup = r.plant.component("cup")
    start = r.pos(part)
    r.sim.operate("cup.suction", True)
    r.sim.step()
    assert cup.held_parts() == (part.body,)
    assert r.plant.image["cup.vacuum_ok"] is False  # the switch needs vacuum_time
    t = r.time_until(lambda: r.plant.image["cup.vacuum_ok"], timeout_s=0.5)
    assert t == pytest.approx(0.05 - r.tick, abs=r.tick + 1e-9)
    assert cup.gripping() and part.held_by == "cup"

    r.sim.operate("slide.extend", True)
    r.run_until(lambda: r.plant.image["slide.extended"], timeout_s=2.0)
    r.sim.run_for(0.2)
    x, y, z = r.pos(part)
    # Carried the stroke, off the pedestal, at the height it was picked at: held, not dragged.
    assert x == pytest.approx(start[0] + 0.5, abs=0.002)
    assert (y, z) == pytest.approx((start[1], start[2]), abs=0.002)

    r.sim.operate("cup.suction", False)
    r.sim.step()
    assert r.plant.image["cup.vacuum_ok"] is False and cup.held_parts() == ()
    r.sim.run_for(0.5)
    assert r.pos(part)[2] == pytest.approx(0.05, abs=0.003)  # on the floor
    assert [e.event for e in part.journey] == ["spawned", "gripped", "released"]


def test_no_part_under_the_cup_no_vacuum(rig):
    r, _ = rig_with_part(rig, VACUUM, x=0.35)  # beside the cup, not under it
    r.sim.operate("cup.suction", True)
    r.sim.run_for(0.3)
    assert r.plant.image["cup.vacuum_ok"] is False
    assert r.plant.component("cup").held_parts() == ()


def test_a_carrier_commands_the_tool_or_d_with_its_port(rig):
    r, _ = rig_with_part(rig, VACUUM)
    cup = r.plant.component("cup")
    cup.actuate("robot", True)
    r.sim.run_for(0.1)
    assert cup.gripping() and r.plant.image["cup.vacuum_ok"]
    r.sim.operate("cup.suction", True)
    cup.actuate("robot", False)
    r.sim.run_for(0.1)
    assert cup.gripping()  # the port still asks
    r.sim.operate("cup.suction", False)
    r.sim.step()
    assert not cup.held_parts()


def test_lost_grip_drops_the_part_and_prevents_a_new_grip_until_restored(rig):
    r, part = rig_with_part(rig, VACUUM)
    cup = r.plant.component("cup")
    r.sim.operate("cup.suction", True)
    r.sim.run_for(0.1)
    assert cup.gripping()
    cup.lose_grip("test", True)
    r.sim.step()
    assert cup.held_parts() == () and r.plant.image["cup.vacuum_ok"] is False
    r.sim.run_for(0.3)
    assert not cup.held_parts()
    cup.lose_grip("test", False)
    r.sim.run_for(0.1)
    assert cup.held_parts() == (part.body,)  # the part still lies under the cup


def test_a_held_part_removed_from_the_world_is_let_go(rig):
    # A scenario's remove step takes the part away while it is held: the cup must not
    # drive the body id that is gone (pybullet reuses ids for the next body).
    r, part = rig_with_part(rig, VACUUM)
    cup = r.plant.component("cup")
    r.sim.operate("cup.suction", True)
    r.sim.run_for(0.1)
    r.world.remove_body(part.body)
    r.plant.parts.retire(part, r.sim.now_ns, "operator")
    newcomer = r.place("box", (0.5, 0.5, 0.0))  # gets the old body id
    assert newcomer.body == part.body
    r.sim.step()
    assert cup.held_parts() == () and r.plant.image["cup.vacuum_ok"] is False
    assert [e.event for e in part.journey] == ["spawned", "gripped", "removed"]
    r.sim.run_for(0.2)
    assert r.pos(newcomer)[:2] == pytest.approx((0.5, 0.5), abs=0.01)


def test_a_sink_counts_the_part_when_released_inside_not_while_carried_through(rig):
    # The bin's volume reaches up to 0.4 m: the carried part is inside it on the way.
    r, part = rig_with_part(
        rig,
        VACUUM
        + """
  bin:
    kind: sink
    position: [0.45, 0.0, 0.0]
    size: [0.3, 0.4, 0.4]
    remove_after: null
""",
    )
    r.sim.operate("cup.suction", True)
    r.sim.run_for(0.1)
    r.sim.operate("slide.extend", True)
    r.run_until(lambda: r.plant.image["slide.extended"], timeout_s=2.0)
    r.sim.run_for(0.2)
    assert r.plant.image["bin.count"] == 0 and part.destination is None
    r.sim.operate("cup.suction", False)
    r.run_until(lambda: r.plant.image["bin.count"] == 1, timeout_s=1.0)
    assert part.destination == "bin"


def test_vacuum_grip_is_deterministic(rig):
    def run() -> list[tuple[float, float, float]]:
        r, part = rig_with_part(rig, VACUUM)
        r.sim.operate("cup.suction", True)
        r.sim.operate("slide.extend", True)
        poses = []
        for _ in range(80):
            r.sim.step()
            poses.append(r.pos(part))
        r.sim.operate("cup.suction", False)
        r.sim.run_for(0.3)
        return [*poses, r.pos(part)]

    assert run() == run()


# ---- parallel gripper ----------------------------------------------------------------------


def test_jaws_close_on_a_part_gripped_and_carry_it(rig):
    r, part = rig_with_part(rig, JAWS)
    jaws = r.plant.component("jaws")
    image = r.plant.image
    assert (image["jaws.open"], image["jaws.closed"], image["jaws.part_gripped"]) == (
        True,
        False,
        False,
    )
    r.sim.operate("jaws.close", True)
    r.run_until(lambda: image["jaws.closed"], timeout_s=1.0)
    assert image["jaws.part_gripped"] and jaws.gripping()
    assert image["jaws.width"] == pytest.approx(200.0, abs=1.5)  # the box is 0.2 m wide
    assert jaws.held_parts() == (part.body,)
    assert image["jaws.open"] is False
    start = r.pos(part)
    r.sim.operate("slide.extend", True)
    r.run_until(lambda: image["slide.extended"], timeout_s=2.0)
    r.sim.run_for(0.1)
    assert r.pos(part)[0] == pytest.approx(start[0] + 0.5, abs=0.003)
    assert r.pos(part)[2] == pytest.approx(start[2], abs=0.003)
    r.sim.operate("jaws.close", False)
    r.run_until(lambda: image["jaws.open"], timeout_s=1.0)
    assert not image["jaws.part_gripped"] and not jaws.held_parts()
    r.sim.run_for(0.5)
    assert r.pos(part)[2] == pytest.approx(0.05, abs=0.003)  # fell to the floor


def test_jaws_closed_empty_take_the_stroke_time_and_report_no_part(rig):
    r = rig(JAWS)
    image = r.plant.image
    r.sim.operate("jaws.close", True)
    t = r.time_until(lambda: image["jaws.closed"], timeout_s=1.0)
    assert t == pytest.approx(0.4, abs=2 * r.tick)
    assert image["jaws.part_gripped"] is False
    assert image["jaws.width"] == pytest.approx(20.0, abs=1.0)
    r.sim.operate("jaws.close", False)
    t = r.time_until(lambda: image["jaws.open"], timeout_s=1.0)
    assert t == pytest.approx(0.4, abs=2 * r.tick)


# ---- bad input --------------------------------------------------------------------------------


def _line_of(path, needle: str) -> int:
    return next(i for i, row in enumerate(path.read_text().splitlines(), 1) if needle in row)


@pytest.mark.parametrize(
    ("mount", "message"),
    [
        ("slid", "no component 'slid' to mount on (did you mean 'slide'?)"),
        ("bin", "'bin' is a sink, not a mount"),
    ],
)
def test_a_bad_mount_is_a_located_error(model_file, mount, message):
    from vcommission.config.model import load_model

    path = model_file(
        SLIDE
        + f"""
  bin: {{kind: sink, position: [1, 0, 0], size: [0.3, 0.3, 0.3]}}
  cup: {{kind: vacuum_gripper, mount: {mount}}}
"""
    )
    with pytest.raises(ConfigError) as exc:
        load_model(path)
    (issue,) = exc.value.issues
    assert issue.path == "components.cup.mount"
    assert issue.line == _line_of(path, f"mount: {mount}")
    assert message in issue.message


def test_bad_jaw_widths_are_refused(load):
    with pytest.raises(ConfigError, match=r"closed_width=0\.4 must be within 0\.\.open_width"):
        load(JAWS.replace("closed_width: 0.02", "closed_width: 0.4"))


# ---- on a robot's flange ------------------------------------------------------------------------

# The bundled gantry's flange points down; the cup (0.04 m) on it: TCP 0.04 m below the
# flange. The box lies on a pedestal (top 0.45 m) under the pick point, the bin is elsewhere.
GANTRY_CELL = """
components:
  arm:
    kind: robot
    urdf: gantry.urdf
    tool: cup
    tcp: [0, 0, 0.04]
    points:
      home: {joints: [0, 0, 0, 0]}
      pick: {xyz: [0.3, 0.0, 0.552]}
      place: {xyz: [-0.3, 0.2, 0.8]}
    jobs:
      1:
        name: pick_and_place
        steps:
          - {ptp: pick, offset: [0, 0, 0.2]}
          - {lin: pick}
          - {grip: true}
          - {wait_for: gripped, timeout: 1.0}
          - {lin: pick, offset: [0, 0, 0.2]}
          - {ptp: place}
          - {grip: false}
          - {wait_for: released}
          - {ptp: home}
  cup: {kind: vacuum_gripper, mount: arm}
  bin:
    kind: sink
    position: [-0.3, 0.2, 0.0]
    size: [0.4, 0.4, 0.3]
    remove_after: null
"""


def test_a_vacuum_gripper_on_a_robot_flange_picks_carries_and_places(rig):
    from tests.plant.robot_helpers import Plc

    r = rig(GANTRY_CELL)
    r.world.add_box((0.1, 0.1, 0.225), (0.3, 0.0, 0.225))
    part = r.place("box", (0.3, 0.0, 0.45))
    cup = r.plant.component("cup")
    arm = r.plant.component("arm")
    (cup_body,) = cup.bodies()["tool"].moving
    assert arm.body in cup.holding_bodies()
    plc = Plc(r)
    plc.power_up()
    plc.start(1)
    # While carried, the part hangs under the cup: same x, y, 0.05 + 0.02 m below its centre.
    carried = []

    def sample() -> bool:
        if cup.held_parts():
            (cx, cy, cz), _ = r.world.pose(cup_body)
            (px, py, pz) = r.pos(part)
            carried.append((px - cx, py - cy, pz - cz))
        return not plc["appl_run"]

    r.run_until(sample, timeout_s=20.0)
    assert plc["job_done"] == 1 and plc["fault_code"] == 0
    assert len(carried) > 50
    for offset in carried:
        assert offset == pytest.approx((0.0, 0.0, -0.07), abs=0.002)
    r.run_until(lambda: r.plant.image["bin.count"] == 1, timeout_s=2.0)
    assert part.destination == "bin"
    assert [e.event for e in part.journey] == ["spawned", "gripped", "released", "arrived"]


def test_a_parallel_gripper_on_a_robot_flange_grips_across_the_part(rig):
    from tests.plant.robot_helpers import Plc

    # TCP at the finger tips (palm 0.04 + fingers 0.08 along the flange's z): 5 cm above
    # the pedestal, so the jaws close across the box's upper half.
    text = (
        GANTRY_CELL.replace("tcp: [0, 0, 0.04]", "tcp: [0, 0, 0.12]")
        .replace("tool: cup", "tool: jaws")
        .replace("pick: {xyz: [0.3, 0.0, 0.552]}", "pick: {xyz: [0.3, 0.0, 0.5]}")
        .replace(
            "  cup: {kind: vacuum_gripper, mount: arm}",
            "  jaws: {kind: parallel_gripper, mount: arm, palm: [0.06, 0.4, 0.04],"
            " finger: [0.04, 0.02, 0.08], open_width: 0.3, stroke_time: 0.3}",
        )
    )
    r = rig(text)
    r.world.add_box((0.1, 0.1, 0.225), (0.3, 0.0, 0.225))
    part = r.place("box", (0.3, 0.0, 0.45))
    jaws = r.plant.component("jaws")
    palm = jaws.bodies()["tool"].moving[0]
    plc = Plc(r)
    plc.power_up()
    plc.start(1)
    carried = []

    def sample() -> bool:
        if jaws.held_parts():
            assert r.plant.image["jaws.part_gripped"] or not r.plant.image["jaws.closed"]
            (cx, cy, cz), _ = r.world.pose(palm)
            (px, py, pz) = r.pos(part)
            carried.append((px - cx, py - cy, pz - cz))
        return not plc["appl_run"]

    r.run_until(sample, timeout_s=20.0)
    assert plc["job_done"] == 1 and plc["fault_code"] == 0
    assert len(carried) > 50
    first = carried[0]
    for offset in carried:  # held rigidly where it was gripped
        assert offset == pytest.approx(first, abs=1e-3)
    r.run_until(lambda: r.plant.image["bin.count"] == 1, timeout_s=2.0)
    assert r.plant.image["jaws.open"]
