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
    plc.start(3)  # ptp then a LIN across the whole envelope
    positions = plc.rig.record(plc.joints, lambda _: not plc["appl_run"], 10.0)
    q = np.array(positions)
    assert (q >= robot.lower - 1e-9).all() and (q <= robot.upper + 1e-9).all()
    velocity = np.diff(q, axis=0) / dt  # tick averages
    acceleration = np.diff(velocity, axis=0) / dt
    assert (np.abs(velocity) <= robot.vmax * (1 + 1e-9)).all()
    assert (np.abs(acceleration) <= robot.amax * (1 + 1e-6)).all()
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
