"""The robot kind, physically: motion times from the limits, limits respected, the handshake."""

from __future__ import annotations

import numpy as np
import pytest

from tests.plant.robot_helpers import Plc, gantry
from vcommission.plant.robot.trajectory import trapezoid_time


def test_power_on_outputs_and_ready_after_drives_on(rig):
    plc = Plc(gantry(rig))
    assert not plc["peri_rdy"] and not plc["rob_rdy"] and not plc["pgno_req"]
    assert plc["in_home"] and plc["job_done"] == 0 and plc["fault_code"] == 0
    plc.power_up()
    assert plc["peri_rdy"] and plc["rob_rdy"] and plc["pgno_req"]
    assert not plc["appl_run"] and not plc["moving"]


def test_the_handshake_sequence(rig):
    plc = Plc(gantry(rig))
    plc.power_up()
    trace = []

    def snap(event):
        trace.append((event, plc["rob_rdy"], plc["pgno_req"], plc["appl_run"], plc["job_done"]))

    plc.select(1)
    snap("pgno latched")  # no longer requesting, still ready for ext_start
    plc.set("ext_start", True)
    plc.tick()
    snap("started")
    plc.set("ext_start", False)
    plc.rig.run_until(lambda: plc["moving"], 1.0)
    snap("moving")
    plc.rig.run_until(lambda: not plc["appl_run"], 5.0)
    snap("done")
    assert trace == [
        ("pgno latched", True, False, False, 0),
        ("started", False, False, True, 0),
        ("moving", False, False, True, 0),
        ("done", True, True, False, 1),
    ]
    assert not plc["in_home"]
    plc.run_job(2)
    assert plc["in_home"] and plc["job_done"] == 2


def test_ext_start_without_a_program_number_does_nothing(rig):
    plc = Plc(gantry(rig))
    plc.power_up()
    plc.pulse("ext_start")
    plc.tick(5)
    assert not plc["appl_run"] and not plc["moving"] and plc["pgno_req"]


@pytest.mark.parametrize("tick", [0.01, 0.004])
def test_ptp_time_is_the_synchronised_trapezoid_of_the_leading_axis(rig, tick):
    plc = Plc(gantry(rig, tick=tick))
    robot = plc.component
    dq = np.array([0.6, 0.2, 0.3, 0.0])
    # Leading axis: the one with the smallest limit/distance ratio sets the path's profile.
    moving = dq > 0
    v = np.min(robot.vmax[moving] / dq[moving])
    a = np.min(robot.amax[moving] / dq[moving])
    expected = trapezoid_time(1.0, v, a)
    plc.power_up()
    plc.start(1)
    ticks = len(plc.rig.record(lambda: plc["moving"], lambda m: not m, 5.0)) - 1
    assert ticks * tick == pytest.approx(expected, abs=tick)
    assert plc.joints() == pytest.approx(dq)
    assert plc.world_joints() == pytest.approx(dq, abs=1e-9)


def test_joint_limits_are_respected_in_every_tick(rig):
    plc = Plc(gantry(rig))
    robot = plc.component
    dt = plc.rig.tick
    plc.power_up()
    for pgno in (3, 8):  # a PTP, then a LIN across the whole envelope
        before = plc.joints()
        plc.start(pgno)  # the arm moves in the tick of the ext_start edge already
        positions = [before, plc.joints()]
        positions += plc.rig.record(plc.joints, lambda _: not plc["appl_run"], 10.0)
        q = np.array(positions)
        assert (q >= robot.lower - 1e-9).all() and (q <= robot.upper + 1e-9).all()
        velocity = np.diff(q, axis=0) / dt  # tick averages
        acceleration = np.diff(velocity, axis=0) / dt
        assert (np.abs(velocity) <= robot.vmax * (1 + 1e-9)).all()
        assert (np.abs(acceleration) <= robot.amax * (1 + 1e-6)).all()
        assert np.abs(velocity).max() > 0.5  # it did move, fast
    # The physical arm is where the controller put it after each tick.
    assert plc.world_joints() == pytest.approx(plc.joints(), abs=1e-9)


def test_unknown_program_number_is_a_fault_until_acknowledged(rig):
    plc = Plc(gantry(rig))
    plc.power_up()
    plc.select(99)
    assert plc["stopmess"] and plc["fault_code"] == 4
    assert not plc["rob_rdy"] and not plc["pgno_req"]
    plc.pulse("conf_mess")
    assert not plc["stopmess"] and plc["fault_code"] == 0 and plc["rob_rdy"]


def _moving_ticks(plc, timeout_s=10.0):
    """Ticks during which the arm moved, from now until the job ends."""
    readings = plc.rig.record(lambda: plc["moving"], lambda _: not plc["appl_run"], timeout_s)
    return sum(readings)


def test_lin_moves_the_tcp_on_a_straight_line_in_the_cartesian_time(rig):
    plc = Plc(gantry(rig))
    robot = plc.component
    p = robot.params
    plc.power_up()
    plc.run_job(3)
    start = robot.tcp_pose()[:3, 3]
    end = start + np.array([0.8, 0.6, -0.2])
    plc.start(8)
    tcp = plc.rig.record(lambda: robot.tcp_pose()[:3, 3], lambda _: not plc["appl_run"], 10.0)
    ticks = sum(1 for a, b in zip([start, *tcp], tcp, strict=False) if np.any(a != b))
    distance = float(np.linalg.norm(end - start))
    assert ticks * plc.rig.tick == pytest.approx(
        trapezoid_time(distance, p.lin_speed, p.lin_acceleration), abs=plc.rig.tick
    )
    direction = (end - start) / distance
    for point in tcp:
        off_line = (point - start) - np.dot(point - start, direction) * direction
        assert np.linalg.norm(off_line) < 1e-4
    assert tcp[-1] == pytest.approx(end, abs=1e-6)
    assert max(plc.rig.record(lambda: plc["tcp_speed"], lambda _: True, 0.1)) == 0.0


def _at_speed(plc, pgno=1, after_s=0.35):
    plc.power_up()
    plc.start(pgno)
    plc.rig.sim.run_for(after_s)
    assert plc["moving"] and plc["tcp_speed"] > 100


def test_protective_stop_brakes_along_the_path_within_the_stop_time(rig):
    plc = Plc(gantry(rig, stop_time=0.2))
    robot = plc.component
    _at_speed(plc)
    far = robot.targets["far"].q
    robot.protective_stop("curtain", True)
    path = plc.rig.record(plc.joints, lambda _: not plc["moving"], 1.0)
    assert (len(path) - 1) * plc.rig.tick <= 0.2
    for q in path:  # still on the PTP line from home to far
        assert q == pytest.approx(far * (q[0] / far[0]), abs=1e-9)
    assert plc["safety_stop"] and not plc["rob_rdy"] and plc["appl_run"]
    plc.tick(20)
    assert not plc["moving"]
    robot.protective_stop("curtain", False)
    plc.tick(20)  # cleared: ready, but a cleared stop does not restart the arm
    assert not plc["safety_stop"] and plc["rob_rdy"] and plc["appl_run"] and not plc["moving"]
    plc.pulse("ext_start")
    plc.rig.run_until(lambda: not plc["appl_run"], 5.0)
    assert plc["job_done"] == 1 and plc.joints() == pytest.approx(far)


def test_a_protective_stop_holds_while_any_source_asks(rig):
    plc = Plc(gantry(rig))
    robot = plc.component
    _at_speed(plc)
    robot.protective_stop("door", True)
    robot.protective_stop("curtain", True)
    robot.protective_stop("door", False)
    plc.tick(50)
    plc.pulse("ext_start")
    plc.tick(20)
    assert plc["safety_stop"] and not plc["moving"]


def test_drives_off_stops_the_arm_in_the_next_tick(rig):
    plc = Plc(gantry(rig))
    _at_speed(plc)
    before = plc.joints()
    plc.set("drives_on", False)
    plc.tick()
    assert not plc["moving"] and plc["tcp_speed"] == 0.0
    assert plc.joints() == pytest.approx(before, abs=0) and not plc["peri_rdy"]
    assert plc.world_joints() == pytest.approx(before, abs=1e-9)
    plc.set("drives_on", True)
    plc.tick(10)
    assert not plc["moving"] and plc["appl_run"] and plc["rob_rdy"]
    plc.pulse("ext_start")
    plc.rig.run_until(lambda: not plc["appl_run"], 5.0)
    assert plc["job_done"] == 1


def test_move_enable_false_stops_on_the_path_and_true_resumes(rig):
    plc = Plc(gantry(rig))
    robot = plc.component
    _at_speed(plc)
    far = robot.targets["far"].q
    plc.set("move_enable", False)
    path = plc.rig.record(plc.joints, lambda _: not plc["moving"], 2.0)
    for q in path:
        assert q == pytest.approx(far * (q[0] / far[0]), abs=1e-9)
    plc.tick(30)
    assert not plc["moving"] and plc["appl_run"] and not plc["stopmess"]
    plc.set("move_enable", True)  # level: no ext_start needed
    plc.rig.run_until(lambda: not plc["appl_run"], 5.0)
    assert plc["job_done"] == 1 and plc.joints() == pytest.approx(far)


@pytest.mark.parametrize("urdf_job", ["gantry", "kuka"])
def test_reduced_speed_keeps_the_tcp_under_250_mm_s(rig, urdf_job):
    if urdf_job == "gantry":
        plc = Plc(gantry(rig))
        jobs = [1, 2]
    else:
        plc = Plc(rig(KUKA))
        jobs = [1, 2, 3]
    robot = plc.component
    robot.reduced_speed("mode_selector", True)
    plc.power_up()
    assert plc["reduced"]
    speeds = []
    for pgno in jobs:
        plc.start(pgno)
        speeds += plc.rig.record(lambda: plc["tcp_speed"], lambda _: not plc["appl_run"], 20)
    assert max(speeds) <= 250.0
    assert max(speeds) > 200.0  # and it does move at about that speed


def test_override_scales_the_speed(rig):
    plc = Plc(gantry(rig))
    plc.power_up()
    full = plc.run_job(1)
    plc.run_job(2)
    plc.set("override", 25)
    quarter = plc.run_job(1)
    robot = plc.component
    dq = robot.targets["far"].q
    v = np.min(robot.vmax[dq > 0] / dq[dq > 0])
    a = np.min(robot.amax[dq > 0] / dq[dq > 0])
    assert full == pytest.approx(trapezoid_time(1.0, v, a), abs=2 * plc.rig.tick)
    assert quarter == pytest.approx(trapezoid_time(1.0, v / 4, a), abs=2 * plc.rig.tick)


def test_a_pallet_place_is_chosen_by_the_index_input(rig):
    plc = Plc(gantry(rig))
    robot = plc.component
    plc.power_up()
    plc.set("tray_place", 5)  # column 1, row 1: x + 0.1, y + 0.15
    plc.run_job(5)
    assert robot.tcp_pose()[:3, 3] == pytest.approx([0.3, -0.05, 0.8], abs=1e-6)
    plc.set("tray_place", 7)  # 3 x 2 places
    plc.start(5)
    plc.tick()
    assert plc["stopmess"] and plc["fault_code"] == 3 and not plc["appl_run"]


def test_set_wait_and_wait_for_steps(rig):
    plc = Plc(gantry(rig))
    plc.power_up()
    plc.start(4)
    assert plc["clamp"]
    plc.rig.sim.run_for(0.5)
    assert plc["appl_run"] and plc["clamp"]  # waiting for part_ok
    plc.set("part_ok", True)
    plc.tick(2)
    assert not plc["appl_run"] and not plc["clamp"] and plc["job_done"] == 4


def test_a_wait_for_with_a_timeout_faults(rig):
    plc = Plc(gantry(rig))
    plc.power_up()
    plc.start(7)
    elapsed = plc.rig.time_until(lambda: plc["stopmess"], 2.0)
    assert elapsed == pytest.approx(0.3, abs=2 * plc.rig.tick)
    assert plc["fault_code"] == 5 and not plc["appl_run"] and not plc["rob_rdy"]


def test_the_mount_is_the_flange_link_where_pybullet_has_it(rig):
    plc = Plc(rig(KUKA))
    robot = plc.component
    plc.power_up()
    plc.start(1)
    plc.rig.sim.run_for(0.3)
    body, link = robot.mount_frame()
    position, orientation = robot.mount_pose()
    expected_position, expected_orientation = plc.rig.world.link_pose(body, link)
    assert position == pytest.approx(expected_position, abs=1e-6)
    sign = 1.0 if np.dot(orientation, expected_orientation) >= 0 else -1.0
    assert np.array(orientation) * sign == pytest.approx(expected_orientation, abs=1e-6)


KUKA = """
components:
  arm:
    kind: robot
    urdf: kuka_iiwa/model.urdf
    base: [0, 0, 0.5]
    limits:
      lbr_iiwa_joint_1: {velocity: 90, acceleration: 180}
    points:
      home: {joints: [0, 30, 0, -60, 0, 60, 0]}
      pick: {xyz: [0.55, 0.2, 0.2]}
      place: {xyz: [0.4, -0.35, 0.35]}
    jobs:
      1: {steps: [{ptp: pick}]}
      2: {steps: [{lin: place}]}
      3: {steps: [{ptp: home}]}
"""


def _trajectory(plc: Plc) -> list:
    plc.power_up()
    trajectory = []
    for pgno in (1, 2, 3):
        plc.start(pgno)
        trajectory += plc.rig.record(
            lambda: (plc.joints().tobytes(), plc["tcp_speed"]),
            lambda _: not plc["appl_run"],
            20.0,
        )
    return trajectory


def test_the_same_jobs_give_the_same_trajectory_every_run(rig):
    first = _trajectory(Plc(rig(KUKA)))
    assert first == _trajectory(Plc(rig(KUKA)))
    assert len({q for q, _ in first}) > 100


def test_a_six_axis_lin_keeps_the_tcp_on_its_line(rig):
    plc = Plc(rig(KUKA))
    robot = plc.component
    plc.power_up()
    plc.run_job(1)
    start = robot.tcp_pose()[:3, 3].copy()
    end = robot.targets["place"].pose[:3, 3]
    plc.start(2)
    tcp = plc.rig.record(lambda: robot.tcp_pose()[:3, 3].copy(), lambda _: not plc["appl_run"], 10)
    direction = (end - start) / np.linalg.norm(end - start)
    worst = max(
        float(np.linalg.norm((p - start) - np.dot(p - start, direction) * direction)) for p in tcp
    )
    assert worst < 0.5e-3  # joint-space interpolation between IK samples 20 mm apart
    assert tcp[-1] == pytest.approx(end, abs=1e-4)


def test_the_robot_keeps_the_component_rules_while_it_moves():
    from vcommission.plant.checker import check_component
    from vcommission.plant.robot.params import JobSpec, PointSpec, RobotParams, StepSpec

    params = RobotParams(
        urdf="gantry.urdf",
        points={"home": PointSpec(joints=[0, 0, 0, 0]), "far": PointSpec(xyz=(0.3, 0.2, 0.8))},
        jobs={1: JobSpec([StepSpec(ptp="far"), StepSpec(lin="home")])},
    )

    def plc(tick: int) -> dict:
        return {
            "drives_on": True,
            "move_enable": True,
            "pgno": 1,
            "pgno_valid": tick >= 3,
            "ext_start": tick >= 6,
        }

    seen = check_component("robot", params, inputs=plc, ticks=300)
    assert True in seen.outputs["moving"] and seen.outputs["job_done"][-1] == 1


def test_an_interruption_does_not_count_towards_a_wait_for_timeout(rig):
    plc = Plc(gantry(rig))
    robot = plc.component
    plc.power_up()
    plc.start(7)  # wait_for part_ok, timeout 0.3 s
    plc.rig.sim.run_for(0.1)
    robot.protective_stop("door", True)
    plc.rig.sim.run_for(1.0)
    robot.protective_stop("door", False)
    plc.pulse("ext_start")
    plc.rig.sim.run_for(0.1)
    assert plc["appl_run"] and not plc["stopmess"]  # 0.1 + 0.1 s of waiting so far
    plc.rig.sim.run_for(0.2)
    assert plc["stopmess"] and plc["fault_code"] == 5


def test_the_tcp_speed_is_measured_where_the_tool_centre_point_is(rig):
    plc = Plc(
        rig(
            KUKA.replace(
                "    base: [0, 0, 0.5]\n", "    base: [0, 0, 0.5]\n    tcp: [0.02, -0.03, 0.1]\n"
            )
        )
    )
    robot = plc.component
    plc.power_up()
    plc.start(1)
    for _ in range(20):
        before = robot.tcp_pose()[:3, 3].copy()
        plc.tick()
        after = robot.tcp_pose()[:3, 3]
        assert robot._tcp_in_world() == pytest.approx(after.tolist(), abs=1e-6)
        speed = np.linalg.norm(after - before) / plc.rig.tick * 1000
        assert plc["tcp_speed"] == pytest.approx(speed, abs=0.05)  # their FK vs ours: < 1e-7 m
