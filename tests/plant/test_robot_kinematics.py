"""Robot kinematics: FK against pybullet's own link poses, IK round trips, trajectory profiles."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vcommission.plant.geometry import yaw_quaternion
from vcommission.plant.robot.arm import resolve_urdf
from vcommission.plant.robot.kinematics import (
    load_chain,
    matrix_quaternion,
    pose_matrix,
    rotation_error,
    rpy_matrix,
)
from vcommission.plant.robot.trajectory import PathFollower, trapezoid_time
from vcommission.plant.world import World

ARMS = ["kuka_iiwa/model.urdf", "franka_panda/panda.urdf", "xarm/xarm6_robot.urdf", "gantry.urdf"]


def _random_q(chain, rng):
    lo = np.where(np.isfinite(chain.lower), chain.lower, -math.pi)
    hi = np.where(np.isfinite(chain.upper), chain.upper, math.pi)
    return lo + (hi - lo) * rng.random(chain.dof)


@pytest.mark.parametrize("urdf", ARMS)
def test_forward_kinematics_matches_pybullet_link_frames(urdf):
    path = resolve_urdf(urdf, None)
    chain = load_chain(path)
    base = pose_matrix(np.array([0.3, -0.2, 0.1]), rpy_matrix(0, 0, math.radians(30)))
    rng = np.random.default_rng(3)
    with World() as world:
        body = world.add_urdf(path, (0.3, -0.2, 0.1), yaw_quaternion(math.radians(30)))
        indices = world.joint_indices(body)
        axes = [indices[j.name] for j in chain.joints]
        flange = indices[chain.flange_joint]
        for _ in range(5):
            q = _random_q(chain, rng)
            for j, value in zip(axes, q, strict=True):
                world.client.resetJointState(body, j, float(value))
            position, orientation = world.link_pose(body, flange)
            ours = chain.fk(q, base)
            assert ours[:3, 3] == pytest.approx(position, abs=1e-6)
            theirs = np.array(world.client.getMatrixFromQuaternion(orientation)).reshape(3, 3)
            assert np.linalg.norm(rotation_error(theirs, ours[:3, :3])) < 1e-6


@pytest.mark.parametrize("urdf", ARMS)
def test_inverse_kinematics_finds_poses_forward_kinematics_made(urdf):
    chain = load_chain(resolve_urdf(urdf, None))
    rng = np.random.default_rng(11)
    tip = pose_matrix(np.array([0.0, 0.0, 0.1]))
    mid = np.where(np.isfinite(chain.lower), (chain.lower + chain.upper) / 2, 0.0)
    for _ in range(5):
        q = _random_q(chain, rng)
        target = chain.fk(q) @ tip
        result = chain.ik(target, [mid, _random_q(chain, rng), q * 0.9], tip=tip)
        assert result.ok, result
        assert (chain.fk(result.q) @ tip)[:3, 3] == pytest.approx(target[:3, 3], abs=1e-4)
        assert (result.q >= chain.lower - 1e-12).all() and (result.q <= chain.upper + 1e-12).all()


def test_an_unreachable_pose_is_reported_with_its_residual():
    chain = load_chain(resolve_urdf("kuka_iiwa/model.urdf", None))
    far = pose_matrix(np.array([3.0, 0.0, 0.5]))
    result = chain.ik(far, [np.zeros(chain.dof)])
    assert not result.ok
    assert result.position_error > 1.5  # the iiwa reaches about 1.3 m from its base


def test_quaternions_match_pybullet():
    with World() as world:
        for rpy in [(0.1, 0.2, 0.3), (math.pi, 0, 0), (0, -1.2, 2.5), (3.0, 0.1, -3.0)]:
            expected = world.client.getQuaternionFromEuler(rpy)
            ours = matrix_quaternion(rpy_matrix(*rpy))
            sign = 1.0 if np.dot(ours, expected) >= 0 else -1.0
            assert np.array(ours) * sign == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize(
    ("distance", "v", "a"), [(1.0, 2.0, 4.0), (1.0, 0.5, 4.0), (1.0, 10.0, 1.0), (0.3, 1.0, 3.0)]
)
@pytest.mark.parametrize("dt", [0.01, 0.003])
def test_the_path_follower_takes_the_trapezoid_time(distance, v, a, dt):
    # The follower works on s in [0, 1]: scale the limits by the distance.
    follower = PathFollower()
    ticks = 0
    while not follower.done:
        follower.advance(dt, v / distance, a / distance)
        ticks += 1
        assert ticks < 100_000
    assert ticks * dt == pytest.approx(trapezoid_time(distance, v, a), abs=dt)


def test_the_path_follower_stops_on_request_within_the_deceleration_time():
    follower = PathFollower()
    for _ in range(50):
        follower.advance(0.01, 0.5, 1.0)
    assert follower.v == pytest.approx(0.5)
    ticks = 0
    while follower.v > 0:
        follower.advance(0.01, 0.5, 1.0, stop_decel=5.0)
        ticks += 1
    assert ticks * 0.01 == pytest.approx(0.1, abs=0.01)
    s = follower.s
    follower.advance(0.01, 0.5, 1.0, stop_decel=5.0)
    assert follower.s == s  # at rest while the stop is requested
