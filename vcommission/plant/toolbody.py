"""The physics of tools on mounts: bodies that follow a flange every substep, fixed grips.

The pybullet side of :mod:`vcommission.plant.gripper`, kept apart so that importing a
component kind never loads the engine (the loader instantiates kinds to learn their ports).
The per-substep driver calls ``pybullet`` functions with ``physicsClientId`` directly, as
:class:`~vcommission.plant.world.KinematicBody` does, for the same reason (speed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from vcommission.plant.bullet import pybullet
from vcommission.plant.physics import CollisionGroup
from vcommission.plant.world import KinematicBody

if TYPE_CHECKING:
    from vcommission.plant.capabilities import Mount
    from vcommission.plant.world import World

__all__ = [
    "ToolDriver",
    "add_tool_body",
    "closest_points",
    "hold",
    "relative_pose",
    "release",
]

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]
_IDENTITY: Quat = (0.0, 0.0, 0.0, 1.0)
_ZERO: Vec3 = (0.0, 0.0, 0.0)
#: Mass of a tool body: it is re-posed every substep, so it only needs to dominate a part.
_TOOL_MASS = 50.0


def _rotate(quat: Sequence[float], v: Sequence[float]) -> Vec3:
    m = pybullet.getMatrixFromQuaternion(quat)
    return (
        m[0] * v[0] + m[1] * v[1] + m[2] * v[2],
        m[3] * v[0] + m[4] * v[1] + m[5] * v[2],
        m[6] * v[0] + m[7] * v[1] + m[8] * v[2],
    )


class ToolDriver:
    """Puts a tool's bodies on its mount before every physics substep.

    Sits in ``World.kinematic`` (the world only calls ``drive()`` on its entries), appended
    in the tool's ``attach`` and so after the carrier's own driven bodies. It follows the
    mount *link* (``Mount.mount_frame``) as pybullet has it at the start of each substep,
    at the offset ``Mount.mount_pose`` had from it at attach: a pusher plate is re-posed just
    before, a robot's links are where its joint motors took them in the previous substep
    (and where the arm's own reset puts them again).

    Each entry is ``[driven body, position in the mount frame, orientation in it, velocity
    in it]``; a moving jaw's position advances by its velocity
    every substep, so it slides instead of jumping once a tick.
    """

    __slots__ = ("_cid", "_frame", "_mover", "_offset", "_step_s", "bodies")

    def __init__(self, world: World, mount: Mount) -> None:
        self._cid = world.cid
        self._step_s = world.config.step_s
        self._frame = mount.mount_frame()
        body, link = self._frame
        # A mount driven like a pusher plate: its commanded velocity is exact, while the one
        # pybullet reports includes the plate's gravity compensation.
        self._mover = next(
            (k for k in world.kinematic if link < 0 and getattr(k, "body", None) == body), None
        )
        # The mount point is fixed to the mount's link: keep where it sits on the link, and
        # follow the link as pybullet has it every substep (a carrier's own idea of its pose
        # may be updated once a tick only).
        frame_pos, frame_orn = self._frame_state()[:2]
        inv_p, inv_q = pybullet.invertTransform(frame_pos, frame_orn)
        self._offset = pybullet.multiplyTransforms(inv_p, inv_q, *mount.mount_pose())
        self.bodies: list[list] = []

    def add(self, driven: KinematicBody, position: Vec3, orientation: Quat) -> list:
        entry = [driven, position, orientation, _ZERO]
        self.bodies.append(entry)
        return entry

    def _frame_state(self) -> tuple[Sequence[float], ...]:
        """The mount link's state now: pose, linear and angular velocity, velocity point.

        The linear velocity is that of the last item, the link's centre of mass.
        """
        body, link = self._frame
        cid = self._cid
        mover = self._mover
        if link < 0:
            pos, orn = pybullet.getBasePositionAndOrientation(body, physicsClientId=cid)
            if mover is not None:
                return pos, orn, mover.velocity, mover.angular, pos
            lin, ang = pybullet.getBaseVelocity(body, physicsClientId=cid)
            return pos, orn, lin, ang, pos
        state = pybullet.getLinkState(
            body, link, computeLinkVelocity=1, computeForwardKinematics=1, physicsClientId=cid
        )
        return state[4], state[5], state[6], state[7], state[0]

    def place(self) -> None:
        """Set every body's commanded pose and velocity from the mount, without stepping."""
        frame_pos, frame_orn, lin, ang, origin = self._frame_state()
        multiply = pybullet.multiplyTransforms
        pos, orn = multiply(frame_pos, frame_orn, *self._offset)
        for driven, local_pos, local_orn, local_vel in self.bodies:
            p, q = multiply(pos, orn, local_pos, local_orn)
            rx, ry, rz = p[0] - origin[0], p[1] - origin[1], p[2] - origin[2]
            # Velocity of a point on the rotating mount: v + w x r (+ its own slide).
            vx = lin[0] + ang[1] * rz - ang[2] * ry
            vy = lin[1] + ang[2] * rx - ang[0] * rz
            vz = lin[2] + ang[0] * ry - ang[1] * rx
            if local_vel[0] or local_vel[1] or local_vel[2]:
                sx, sy, sz = _rotate(orn, local_vel)
                vx, vy, vz = vx + sx, vy + sy, vz + sz
            driven.position = p
            driven.orientation = q
            driven.velocity = (vx, vy, vz)
            driven.angular = tuple(ang)

    def start(self, world: World) -> None:
        """Put the bodies on the mount now and drive them before every substep from now on."""
        self.place()
        for driven, *_ in self.bodies:
            pybullet.resetBasePositionAndOrientation(
                driven.body, driven.position, driven.orientation, physicsClientId=self._cid
            )
        world.kinematic.append(self)  # type: ignore[arg-type]

    def drive(self) -> None:
        self.place()
        step = self._step_s
        for entry in self.bodies:
            entry[0].drive()
            local_vel = entry[3]
            if local_vel[0] or local_vel[1] or local_vel[2]:
                x, y, z = entry[1]
                entry[1] = (
                    x + local_vel[0] * step,
                    y + local_vel[1] * step,
                    z + local_vel[2] * step,
                )


def add_tool_body(world: World, half_extents: Vec3) -> KinematicBody:
    """A box the tool's driver moves (not in the world's own driven list: the driver is)."""
    body = world.add_box(
        half_extents, (0.0, 0.0, -10.0), mass=_TOOL_MASS, group=CollisionGroup.MOVER
    )
    # Driven every substep: it must never sleep, or parts resting on it would too.
    world.client.changeDynamics(
        body, -1, activationState=pybullet.ACTIVATION_STATE_DISABLE_SLEEPING
    )
    return KinematicBody(world, body, (0.0, 0.0, -10.0), _IDENTITY, surface=False)


def relative_pose(world: World, holder: int, body: int) -> tuple[Vec3, Quat]:
    """``body``'s pose in ``holder``'s frame now."""
    cid = world.cid
    hp, hq = pybullet.getBasePositionAndOrientation(holder, physicsClientId=cid)
    bp, bq = pybullet.getBasePositionAndOrientation(body, physicsClientId=cid)
    inv_p, inv_q = pybullet.invertTransform(hp, hq)
    return pybullet.multiplyTransforms(inv_p, inv_q, bp, bq)


def closest_points(world: World, a: int, b: int, within: float) -> list[tuple[Vec3, float]]:
    """Closest points of ``a`` to ``b`` within ``within``.

    Each as (the point on ``a``, in ``a``'s own frame; the signed distance, metres).
    """
    cid = world.cid
    pos, orn = pybullet.getBasePositionAndOrientation(a, physicsClientId=cid)
    inv_p, inv_q = pybullet.invertTransform(pos, orn)
    found = []
    for point in pybullet.getClosestPoints(a, b, within, physicsClientId=cid):
        local = pybullet.multiplyTransforms(inv_p, inv_q, point[5], _IDENTITY)[0]
        found.append((local, point[8]))
    return found


def hold(
    world: World,
    driver: ToolDriver,
    holder: list,
    part: int,
    target: tuple[Vec3, Quat],
) -> list:
    """Carry ``part`` with the tool; returns the part's entry in the driver.

    ``target`` is the part's pose in the frame of ``holder``, one of the driver's entries.

    The held part is driven like the tool's own bodies, re-posed every substep: a pybullet
    fixed constraint between maximal-coordinate bodies ignores its frame orientations (the
    child snaps to the parent's orientation), which would twist a part gripped at an angle.
    Contacts between the part and the tool's bodies are switched off while held: the grip
    is not a collision.
    """
    cid = world.cid
    pybullet.changeDynamics(
        part, -1, activationState=pybullet.ACTIVATION_STATE_DISABLE_SLEEPING, physicsClientId=cid
    )
    for body in driver.bodies:
        pybullet.setCollisionFilterPair(body[0].body, part, -1, -1, 0, physicsClientId=cid)
    position, orientation = pybullet.multiplyTransforms(holder[1], holder[2], *target)
    pose = pybullet.getBasePositionAndOrientation(part, physicsClientId=cid)
    return driver.add(KinematicBody(world, part, *pose, surface=False), position, orientation)


def release(world: World, driver: ToolDriver, entry: list, alive: bool) -> None:
    """Let a held part go (it keeps the tool's velocity); ``alive`` False: its body is gone."""
    driver.bodies.remove(entry)
    if not alive:
        return
    cid = world.cid
    part = entry[0].body
    for body in driver.bodies:
        pybullet.setCollisionFilterPair(body[0].body, part, -1, -1, 1, physicsClientId=cid)
    pybullet.changeDynamics(
        part, -1, activationState=pybullet.ACTIVATION_STATE_ENABLE_SLEEPING, physicsClientId=cid
    )
    pybullet.changeDynamics(
        part, -1, activationState=pybullet.ACTIVATION_STATE_WAKE_UP, physicsClientId=cid
    )
