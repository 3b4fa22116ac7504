"""Safety devices and the safety rule, physically and with no PLC program at all.

The light curtain's beams are the world's rays: a part or a moving machine body in the
field breaks them. The safety relay is tested against a recording SafetyStoppable kind
(registered here), so what it asks of a robot is visible call by call.
"""

from __future__ import annotations

import pytest

from vcommission.config.model import load_model
from vcommission.errors import ConfigError
from vcommission.plant import registry
from vcommission.plant.capabilities import SafetyStoppable
from vcommission.plant.component import Component


class StopRecorder(Component):
    """A SafetyStoppable that records every request (source, active)."""

    kind = "test_stoppable"

    def build(self, world) -> None:
        super().build(world)
        self.calls: list[tuple[str, str, bool]] = []

    def protective_stop(self, source: str, active: bool) -> None:
        self.calls.append(("stop", source, active))

    def reduced_speed(self, source: str, active: bool) -> None:
        self.calls.append(("reduced", source, active))


@pytest.fixture(autouse=True)
def stoppable(monkeypatch):
    monkeypatch.setattr(registry, "_registry", dict(registry._registry))
    registry.register("test_stoppable", StopRecorder)


# ---- light curtain ---------------------------------------------------------------------------

CURTAIN = """
components:
  curtain:
    kind: light_curtain
    start: [0.0, -0.5, 0.0]
    end: [0.0, 0.5, 0.0]
    beams: 6
    low: 0.05
    high: 0.55
    channels: 2
"""


def test_curtain_is_clear_until_a_part_enters_the_field(rig):
    r = rig(CURTAIN)
    image = r.plant.image
    r.sim.run_for(0.05)
    assert (image["curtain.ossd"], image["curtain.ossd2"]) == (True, True)
    assert image["curtain.beams_broken"] == 0
    part = r.place("box", (0.0, 0.0, 0.0))  # 0.1 m high: the lowest two beams (0.05, 0.15)
    r.sim.step()
    assert (image["curtain.ossd"], image["curtain.ossd2"]) == (False, False)
    assert image["curtain.beams_broken"] == 1
    r.world.remove_body(part.body)
    r.plant.parts.retire(part, r.sim.now_ns, "test")
    r.sim.step()
    assert image["curtain.ossd"] is True


def test_a_moving_machine_body_breaks_the_curtain(rig):
    # A cylinder's plate (and the cup on it) passes through the field: like an arm would.
    r = rig(
        CURTAIN
        + """
  slide:
    kind: cylinder
    origin: [-0.4, 0.0, 0.3]
    direction: [1, 0, 0]
    stroke: 0.8
    extend_time: 1.0
    retract_time: 1.0
"""
    )
    image = r.plant.image
    r.sim.operate("slide.extend", True)
    readings = r.record(lambda: image["curtain.ossd"], lambda ossd: not ossd, timeout_s=1.0)
    # The plate's front face reaches x = 0 after 0.4 / 0.8 of the stroke time.
    assert len(readings) * r.tick == pytest.approx(0.5, abs=2 * r.tick)
    assert image["curtain.beams_broken"] >= 1


def test_a_person_reaching_in_breaks_every_beam(rig):
    r = rig(CURTAIN)
    r.sim.operate("curtain.interrupted", True)
    r.sim.step()
    assert r.plant.image["curtain.ossd"] is False
    assert r.plant.image["curtain.beams_broken"] == 6
    r.sim.operate("curtain.interrupted", False)
    r.sim.step()
    assert r.plant.image["curtain.ossd"] is True


def test_muting_keeps_the_ossd_on_while_a_part_passes(rig):
    r = rig(CURTAIN + "    muting: true\n")
    image = r.plant.image
    r.sim.operate("curtain.muting", True)
    r.place("box", (0.0, 0.0, 0.0))
    r.sim.step()
    assert image["curtain.ossd"] is True and image["curtain.muted"] is True
    assert image["curtain.beams_broken"] == 1
    r.sim.operate("curtain.muting", False)
    r.sim.step()
    assert image["curtain.ossd"] is False


# ---- fence and mode selector ------------------------------------------------------------------

FENCE = """
components:
  fence:
    kind: safety_fence
    points: [[0, 0], [2, 0], [2, 2]]
    height: 1.5
    door: {segment: 0, offset: 0.5, width: 0.8}
"""


def test_fence_panels_stand_along_the_polyline_with_the_door_opening(rig):
    r = rig(FENCE)
    panels = r.plant.component("fence").bodies()["panels"]
    assert len(panels.static) == 3 and not panels.moving  # segment 0 in two pieces
    world = r.world

    def panel_at(x: float, y: float) -> bool:
        return bool(set(world.overlapping((x, y, 1.0), (x, y, 1.0))) & set(panels.static))

    assert panel_at(0.25, 0.0) and panel_at(1.6, 0.0) and panel_at(2.0, 1.0)
    assert not panel_at(0.9, 0.0)  # the door opening
    assert world.aabb(panels.static[2])[1][2] == pytest.approx(1.5, abs=0.01)


def test_a_part_thrown_at_the_fence_is_stopped_by_it(rig):
    r = rig(FENCE)
    part = r.place("box", (1.0, 1.0, 0.0))
    r.world.client.resetBaseVelocity(part.body, (3.0, 0.0, 0.0))
    r.sim.run_for(1.0)
    assert r.pos(part)[0] < 2.0 - 0.1  # it did not pass the panel at x = 2


def test_a_door_opening_beyond_its_segment_is_a_located_error(model_file):
    path = model_file(FENCE.replace("offset: 0.5", "offset: 1.5"))
    with pytest.raises(ConfigError) as exc:
        load_model(path)
    (issue,) = exc.value.issues
    assert issue.path.startswith("components.fence")
    assert "must lie within segment 0 (2 m)" in issue.message


def test_mode_selector_outputs_follow_the_key(rig):
    r = rig("components:\n  mode: {kind: mode_selector}\n")
    image = r.plant.image
    assert (image["mode.auto"], image["mode.manual"]) == (True, False)
    r.sim.operate("mode.select_manual", True)
    r.sim.step()
    assert (image["mode.auto"], image["mode.manual"]) == (False, True)


# ---- safety relay -----------------------------------------------------------------------------

CELL = """
components:
  arm1: {kind: test_stoppable}
  arm2: {kind: test_stoppable}
  door: {kind: door_switch}
  estop: {kind: emergency_stop}
  mode: {kind: mode_selector}
  curtain:
    kind: light_curtain
    start: [0.0, -0.5, 0.0]
    end: [0.0, 0.5, 0.0]
    beams: 4
    low: 0.05
    high: 0.5
  relay:
    kind: safety_relay
    robots: [arm1, arm2]
    curtains: [curtain]
    doors: [door]
    estops: [estop]
    mode: mode
"""


def calls(r, robot: str = "arm1") -> list[tuple[str, str, bool]]:
    return r.plant.component(robot).calls


def relay_state(r) -> tuple[bool, bool, bool]:
    image = r.plant.image
    return image["relay.ok"], image["relay.tripped"], image["relay.reset_required"]


def test_recorder_is_safety_stoppable(rig):
    r = rig(CELL)
    assert isinstance(r.plant.component("arm1"), SafetyStoppable)
    assert r.plant.component("relay").robots == [
        r.plant.component("arm1"),
        r.plant.component("arm2"),
    ]


def test_door_opened_in_auto_stops_every_robot_until_closed_and_reset(rig):
    r = rig(CELL)
    r.sim.run_for(0.1)
    assert relay_state(r) == (True, False, False) and calls(r) == []
    r.sim.operate("door.open", True)
    # The door's contact opens at the end of this tick; the relay acts on it the next.
    r.sim.run_for(2 * r.tick)
    for robot in ("arm1", "arm2"):
        assert calls(r, robot) == [("stop", "relay", True)]
    assert relay_state(r) == (False, True, False)
    assert r.plant.image["relay.cause"] == 2

    r.sim.operate("relay.reset", True)  # reset while the door is open: refused
    r.sim.run_for(0.05)
    r.sim.operate("door.open", False)
    r.sim.run_for(0.1)
    # Closing the door does not restart, and the reset held since before does not count.
    assert relay_state(r) == (False, True, True) and len(calls(r)) == 1
    r.sim.operate("relay.reset", False)
    r.sim.run_for(0.05)
    r.sim.operate("relay.reset", True)
    r.sim.run_for(2 * r.tick)
    assert relay_state(r) == (True, False, False)
    assert calls(r) == [("stop", "relay", True), ("stop", "relay", False)]


def test_curtain_broken_in_auto_trips_the_relay(rig):
    r = rig(CELL)
    r.place("box", (0.0, 0.0, 0.0))
    r.sim.run_for(2 * r.tick)
    assert calls(r) == [("stop", "relay", True)]
    assert r.plant.image["relay.cause"] == 4


def test_manual_mode_reduces_speed_and_lets_the_door_open(rig):
    r = rig(CELL)
    r.sim.operate("mode.select_manual", True)
    r.sim.run_for(2 * r.tick)
    assert calls(r) == [("reduced", "relay", True)]
    assert r.plant.image["relay.reduced"] is True
    r.sim.operate("door.open", True)
    r.sim.operate("curtain.interrupted", True)
    r.sim.run_for(0.2)
    assert relay_state(r) == (True, False, False)  # no stop: manual allows it
    assert calls(r) == [("reduced", "relay", True)]
    # Back to auto with the door still open: a stop, and full speed is no longer limited.
    r.sim.operate("mode.select_manual", False)
    r.sim.run_for(2 * r.tick)
    assert calls(r) == [
        ("reduced", "relay", True),
        ("stop", "relay", True),
        ("reduced", "relay", False),
    ]


def test_an_estop_trips_the_relay_in_manual_too(rig):
    r = rig(CELL)
    r.sim.operate("mode.select_manual", True)
    r.sim.operate("estop.pressed", True)
    r.sim.run_for(2 * r.tick)
    assert ("stop", "relay", True) in calls(r)
    assert r.plant.image["relay.cause"] == 1


def test_auto_reset_clears_once_the_cause_is_gone(rig):
    r = rig(CELL + "    auto_reset: true\n")
    r.sim.operate("door.open", True)
    r.sim.run_for(0.1)
    r.sim.operate("door.open", False)
    r.sim.run_for(0.1)
    assert relay_state(r)[0] is True
    assert calls(r) == [("stop", "relay", True), ("stop", "relay", False)]


def test_startup_reset_comes_up_tripped(rig):
    r = rig(CELL + "    startup_reset: true\n")
    assert relay_state(r) == (False, True, True)
    r.sim.step()
    assert calls(r) == [("stop", "relay", True)]
    r.sim.operate("relay.reset", True)
    r.sim.run_for(2 * r.tick)
    assert relay_state(r) == (True, False, False)


KEEP_RESETTING = """
VAR_GLOBAL reset_cmd : BOOL; END_VAR
PROGRAM KeepResetting
VAR_EXTERNAL reset_cmd : BOOL; END_VAR
reset_cmd := TRUE;
END_PROGRAM
"""


def test_the_relay_stops_robots_whatever_the_plc_program_does(load):
    # A PLC that holds the relay's reset TRUE for ever: the rule is in the plant, the door
    # still stops the robots, and a held reset is no edge, so closing it does not restart.
    from vcommission.plant.plant import Plant
    from vcommission.plc.runtime import compile_source
    from vcommission.scenario.context import RunContext

    model = load(CELL + "signals:\n  reset_cmd: {port: relay.reset, direction: to_plant}\n")
    run = RunContext.start(None, model, Plant(model), compile_source(KEEP_RESETTING, model))
    try:
        run.sim.run_for(0.1)
        assert run.plant.image["reset_cmd"] is True
        run.sim.operate("door.open", True)
        run.sim.run_for(0.1)
        run.sim.operate("door.open", False)
        run.sim.run_for(0.2)
        assert calls(run) == [("stop", "relay", True)]
        assert relay_state(run) == (False, True, True)
    finally:
        run.plant.close()


@pytest.mark.parametrize(
    ("entry", "where", "message"),
    [
        ("robots: [door]", "robots[0]", "'door' is a door_switch: a safety relay stops robots"),
        ("robots: [arm9]", "robots[0]", "no component 'arm9' (did you mean 'arm1'?)"),
        ("doors: [estop]", "doors[0]", "'estop' (emergency_stop) has no 'closed' output"),
        ("doors: [door.lock]", "doors[0]", "door.lock is not a BOOL output of 'door'"),
    ],
)
def test_bad_relay_references_are_located(model_file, entry, where, message):
    path = model_file(f"""
        components:
          arm1: {{kind: test_stoppable}}
          door: {{kind: door_switch}}
          estop: {{kind: emergency_stop}}
          relay:
            kind: safety_relay
            {entry}
    """)
    with pytest.raises(ConfigError) as exc:
        load_model(path)
    (issue,) = exc.value.issues
    assert issue.path == f"components.relay.{where}"
    assert message in issue.message
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if entry in text)
    assert issue.line == line


# ---- with the real robot -------------------------------------------------------------------------

ROBOT_CELL = """
  door: {kind: door_switch}
  mode: {kind: mode_selector}
  relay:
    kind: safety_relay
    robots: [arm]
    doors: [door]
    mode: mode
"""


def test_door_opened_in_auto_protective_stops_the_real_robot_within_its_stop_time(rig):
    from tests.plant.robot_helpers import Plc, gantry

    plc = Plc(gantry(rig, stop_time=0.2, extra=ROBOT_CELL))
    plc.power_up()
    plc.start(1)
    plc.rig.sim.run_for(0.35)
    assert plc["moving"] and plc["tcp_speed"] > 100
    plc.rig.sim.operate("door.open", True)
    # The door contact opens at the end of this tick, the relay asks in the next, and the
    # arm is at rest within its stop time after that.
    ticks = plc.rig.record(lambda: plc["moving"], lambda moving: not moving, 1.0)
    assert (len(ticks) - 1) * plc.rig.tick <= 0.2 + 2 * plc.rig.tick
    assert plc["safety_stop"] and not plc["rob_rdy"]
    plc.rig.sim.operate("door.open", False)
    plc.tick(20)
    assert plc["safety_stop"]  # closed, but the relay waits for its reset
    plc.rig.sim.operate("relay.reset", True)
    plc.tick(3)
    assert not plc["safety_stop"] and plc["rob_rdy"] and not plc["moving"]  # no restart
    plc.pulse("ext_start")
    plc.rig.run_until(lambda: not plc["appl_run"], 5.0)
    assert plc["job_done"] == 1


def test_manual_mode_limits_the_real_robot_to_reduced_speed(rig):
    from tests.plant.robot_helpers import Plc, gantry

    plc = Plc(gantry(rig, extra=ROBOT_CELL))
    plc.rig.sim.operate("mode.select_manual", True)
    plc.rig.sim.operate("door.open", True)  # manual: the door may be open
    plc.power_up()
    plc.tick(2)
    assert plc["reduced"] and not plc["safety_stop"]
    plc.start(1)
    speeds = plc.rig.record(lambda: plc["tcp_speed"], lambda _: not plc["appl_run"], 20.0)
    assert 100.0 < max(speeds) <= 250.0  # moving, at no more than the reduced 250 mm/s
    assert plc["job_done"] == 1


def test_the_arm_itself_breaks_a_curtain_across_its_path_and_is_stopped(rig):
    from tests.plant.robot_helpers import Plc, gantry

    curtain = """
  curtain:
    kind: light_curtain
    start: [0.3, -0.7, 0.0]
    end: [0.3, 0.7, 0.0]
    beams: 5
    low: 1.0
    high: 1.4
  relay: {kind: safety_relay, robots: [arm], curtains: [curtain]}
"""
    plc = Plc(gantry(rig, stop_time=0.2, extra=curtain))
    robot = plc.component
    plc.power_up()
    plc.start(1)  # home (x = 0) to far (x = 0.6): the bridge and ram cross x = 0.3
    plc.rig.run_until(lambda: not plc.rig.plant.image["curtain.ossd"], 5.0)
    x_at_break = robot.joint_positions[0]
    assert 0.2 < x_at_break < 0.4
    plc.rig.run_until(lambda: plc["safety_stop"] and not plc["moving"], 1.0)
    assert plc["appl_run"] and robot.joint_positions[0] < 0.6  # stopped short of far
