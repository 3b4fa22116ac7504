"""The physics world of one plant: a pybullet DIRECT client and the tricks that keep it fast.

Each plant owns one ``BulletClient(DIRECT)``; nothing here touches pybullet's module-global
default client, so several plants live in one process. Bodies are created through the client
object, but the per-tick hot path calls ``pybullet`` functions with ``physicsClientId``
directly: the client wrapper costs about 2 microseconds a call, which at tens of calls a tick
was a measurable share of the frame.

Engineering choices that buy speed without losing the physics (see tools/bench/plant.py):

* **Rigid bodies in maximal coordinates.** ``createMultiBody`` defaults to Featherstone
  multibodies; plain rigid bodies step about twice as fast for boxes.
* **Transport surfaces.** A belt is one heavy dynamic box whose pose is reset and whose
  velocity is set to the belt speed before every physics step. Parts ride on it by friction,
  accelerate and slip like on a real belt and queue against obstacles while the belt slides
  under them, and the cost per tick is two calls per belt, however many parts are on it.
  The same mechanism drives pusher plates (:class:`KinematicBody`).
* **Gravity cancelled for driven bodies.** A reset body would otherwise fall ``g*dt^2`` each
  step and parts would sink into it; giving it an upward velocity of ``g*dt`` makes the
  integrator's gravity update cancel exactly.
* **Collision groups.** The machine frame and driven bodies collide with parts only, never
  with each other, so a belt touching its guide rails costs nothing.
* **Sleeping parts.** pybullet keeps every body awake by default; parts here may sleep once
  settled (a pile in a bin), so only what moves costs solver time.
* **Batched sensing.** Every photo-eye beam of the plant is cast in one ``rayTestBatch`` a
  tick, and region sensors use broadphase AABB queries.

The world also answers the geometric questions checks ask (:meth:`World.closest_distance`,
:meth:`World.nearest` with the links of a multi-link body and their names,
:meth:`World.contacts`), so code outside ``vcommission.plant`` never calls pybullet. The
settings and collision groups components name live in :mod:`vcommission.plant.physics`,
which does not import pybullet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import NamedTuple

from vcommission.errors import PlantError
from vcommission.plant.bullet import new_client, pybullet
from vcommission.plant.parts import PartVariant
from vcommission.plant.physics import MASKS, RAY_MASK, CollisionGroup, PhysicsConfig

__all__ = [
    "ArticulatedBody",
    "ClosestPoint",
    "CollisionGroup",
    "Contact",
    "KinematicBody",
    "PhysicsConfig",
    "World",
]

log = logging.getLogger(__name__)

Vec3 = tuple[float, float, float]
_IDENTITY = (0.0, 0.0, 0.0, 1.0)


class Contact(NamedTuple):
    """A contact point between two bodies, found by the last physics step."""

    body_a: int
    body_b: int
    #: Signed separation, metres: negative while the bodies interpenetrate.
    distance: float
    #: The contact point on ``body_a`` (x, y, z), metres.
    position: Vec3


class ClosestPoint(NamedTuple):
    """The nearest points of two bodies (of one link of each), found for their poses now."""

    body_a: int
    body_b: int
    #: Link of ``body_a`` the point is on (-1: its base; a box has only a base).
    link_a: int
    link_b: int
    #: Signed distance between the surfaces, metres: negative while they interpenetrate.
    distance: float
    #: The nearest point on ``body_a`` (x, y, z), metres.
    position_a: Vec3
    position_b: Vec3


class KinematicBody:
    """A dynamic body the plant moves by command rather than by forces.

    pybullet has no kinematic bodies, so before every physics step the body's pose is reset
    to the commanded pose and its velocity set to the commanded velocity (plus the gravity
    compensation described in the module docstring). Contacts then see a body that moves at
    exactly that velocity: parts on a belt are carried, parts in front of a plate are pushed.
    """

    __slots__ = (
        "_cid",
        "_lift",
        "_step_s",
        "angular",
        "body",
        "orientation",
        "position",
        "surface",
        "velocity",
    )

    def __init__(
        self,
        world: World,
        body: int,
        position: Vec3,
        orientation: Sequence[float],
        surface: bool,
    ) -> None:
        self._cid = world.cid
        self._lift = world.config.gravity * world.config.step_s
        self._step_s = world.config.step_s
        self.body = body
        #: True for a transport surface: the velocity is the surface's, the body stays put.
        #: False for a moving body: the pose advances by velocity x step every substep.
        self.surface = surface
        #: Commanded pose at the start of the next step.
        self.position: Vec3 = position
        self.orientation = tuple(orientation)
        #: Commanded linear velocity (m/s) during the next step.
        self.velocity: Vec3 = (0.0, 0.0, 0.0)
        self.angular: Vec3 = (0.0, 0.0, 0.0)

    def drive(self) -> None:
        """Apply the commanded pose and velocity; called by :meth:`World.step`."""
        vx, vy, vz = self.velocity
        position = self.position
        pybullet.resetBasePositionAndOrientation(
            self.body, position, self.orientation, physicsClientId=self._cid
        )
        pybullet.resetBaseVelocity(
            self.body, (vx, vy, vz + self._lift), self.angular, physicsClientId=self._cid
        )
        if not self.surface:
            step = self._step_s
            self.position = (
                position[0] + vx * step,
                position[1] + vy * step,
                position[2] + vz * step,
            )


class ArticulatedBody:
    """A multibody loaded from URDF whose joints the plant drives by command (a robot arm).

    Like :class:`KinematicBody` for joints: before every physics step each driven joint is
    reset to its commanded position and velocity, and a velocity motor (with a force no
    contact can overcome) holds that velocity during the step, so the arm neither sags
    under gravity nor yields to what it hits, and contacts see links moving at the
    commanded speed. The position advances by velocity x step each substep; after the last
    substep :meth:`settle` puts the joints exactly on the commanded end-of-tick values, so
    link poses queried after a tick are current.
    """

    __slots__ = (
        "_cid",
        "_held",
        "_step_s",
        "body",
        "current",
        "force",
        "joints",
        "position",
        "velocity",
    )

    def __init__(self, world: World, body: int, joints: Sequence[int]) -> None:
        self._cid = world.cid
        self._step_s = world.config.step_s
        self.body = body
        #: pybullet joint indices of the driven joints, in command order.
        self.joints = list(joints)
        #: Commanded joint positions at the start of the next step (rad or m).
        self.position = [0.0] * len(self.joints)
        #: Commanded joint velocities during the next step.
        self.velocity = [0.0] * len(self.joints)
        #: The joint positions the body was last put at: during a physics step, the
        #: positions at its start (a tool riding on the flange follows these).
        self.current = list(self.position)
        self.force = [1e9] * len(self.joints)
        # Positions the body was put at with zero velocity: the motors hold it there, so a
        # standing arm needs no calls at all (None: not known to be standing).
        self._held: list[float] | None = None

    def _put(self, position: list[float], velocity: list[float]) -> bool:
        """Reset the joints unless they already stand there; True if it did."""
        still = not any(velocity)
        if still and position == self._held:
            return False
        pybullet.resetJointStatesMultiDof(
            self.body,
            self.joints,
            [[q] for q in position],
            [[v] for v in velocity],
            physicsClientId=self._cid,
        )
        self._held = list(position) if still else None
        return True

    def drive(self) -> None:
        """Apply the commanded joint state; called by :meth:`World.step` before each step."""
        position, velocity = self.position, self.velocity
        self.current = position
        if not self._put(position, velocity):
            return
        pybullet.setJointMotorControlArray(
            self.body,
            self.joints,
            pybullet.VELOCITY_CONTROL,
            targetVelocities=velocity,
            forces=self.force,
            physicsClientId=self._cid,
        )
        step = self._step_s
        self.position = [q + v * step for q, v in zip(position, velocity, strict=True)]

    def settle(self) -> None:
        """Put the joints on the commanded positions (end of tick), keeping the velocity."""
        self.current = self.position
        self._put(self.position, self.velocity)


class World:
    """One pybullet world: bodies, driven bodies, light beams and the step loop."""

    def __init__(self, config: PhysicsConfig | None = None) -> None:
        self.config = config or PhysicsConfig()
        self.client = new_client()
        self.cid: int = self.client._client
        self.kinematic: list[KinematicBody] = []
        #: Multibodies loaded from URDF (robots), driven joint by joint.
        self.articulated: list[ArticulatedBody] = []
        #: Every URDF body created here: body id -> file.
        self.urdfs: dict[int, str] = {}
        #: Every box body created here: body id -> (half extents, mass).
        self.boxes: dict[int, tuple[Vec3, float]] = {}
        #: Collision shape per box half extents (see :meth:`add_box`).
        self._box_shapes: dict[tuple[float, ...], int] = {}
        self._ray_from: list[Vec3] = []
        self._ray_to: list[Vec3] = []
        #: Body hit by each registered ray at the last :meth:`cast_rays` (-1: beam clear).
        self.ray_hits: list[int] = []
        self._configure()

    def _configure(self) -> None:
        c = self.client
        c.setGravity(0.0, 0.0, -self.config.gravity)
        c.setPhysicsEngineParameter(
            fixedTimeStep=self.config.step_s,
            numSubSteps=0,
            numSolverIterations=self.config.solver_iterations,
            solverResidualThreshold=self.config.solver_residual,
            # Pair order independent of insertion history: same scene, same result.
            deterministicOverlappingPairs=1,
        )
        ground = c.createCollisionShape(pybullet.GEOM_PLANE)
        self.ground = c.createMultiBody(0.0, ground, useMaximalCoordinates=True)
        self._set_group(self.ground, CollisionGroup.FRAME)

    # -- bodies -------------------------------------------------------------------------

    def _set_group(self, body: int, group: CollisionGroup) -> None:
        self.client.setCollisionFilterGroupMask(body, -1, int(group), int(MASKS[group]))

    def add_box(
        self,
        half_extents: Vec3,
        position: Vec3,
        *,
        mass: float = 0.0,
        group: CollisionGroup = CollisionGroup.FRAME,
        friction: float = 0.5,
        orientation: Sequence[float] = _IDENTITY,
    ) -> int:
        """Create a box; mass 0 makes it static. Returns the pybullet body id."""
        c = self.client
        # One collision shape per box size, shared by every body of that size: pybullet never
        # frees a shape when its body is removed, so a plant making parts for days (serve)
        # would otherwise grow by a shape per part (about 2.6 KB each, measured).
        key = tuple(half_extents)
        shape = self._box_shapes.get(key)
        if shape is None:
            shape = c.createCollisionShape(pybullet.GEOM_BOX, halfExtents=list(half_extents))
            self._box_shapes[key] = shape
        body = c.createMultiBody(
            mass,
            shape,
            basePosition=list(position),
            baseOrientation=list(orientation),
            useMaximalCoordinates=True,
        )
        if group is CollisionGroup.PART and mass > 0:
            # pybullet disables sleeping by default; a settled pile of parts in a bin would
            # then cost a full solve every step. Parts on a belt stay awake anyway: they share
            # an island with the belt, which never sleeps.
            c.changeDynamics(
                body,
                -1,
                lateralFriction=friction,
                activationState=pybullet.ACTIVATION_STATE_ENABLE_SLEEPING,
            )
        else:
            c.changeDynamics(body, -1, lateralFriction=friction)
        self._set_group(body, group)
        self.boxes[body] = (tuple(half_extents), mass)
        return body

    def add_part(self, variant: PartVariant, bottom: Vec3) -> int:
        """Create a workpiece of ``variant`` whose bottom face centre is just above ``bottom``."""
        x, y, z = bottom
        return self.add_box(
            variant.half_extents,
            (x, y, z + variant.size[2] / 2 + 0.002),  # 2 mm clear: no initial penetration
            mass=variant.mass,
            group=CollisionGroup.PART,
            friction=variant.friction,
        )

    def add_kinematic_box(
        self,
        half_extents: Vec3,
        position: Vec3,
        *,
        group: CollisionGroup,
        friction: float = 0.5,
        mass: float = 1000.0,
        orientation: Sequence[float] = _IDENTITY,
        surface: bool = False,
    ) -> KinematicBody:
        """Create a box the plant drives by command.

        ``surface=True`` makes a transport surface (a belt): its velocity moves what lies on
        it while the body stays where it is. Otherwise the body travels at its velocity.
        """
        body = self.add_box(
            half_extents,
            position,
            mass=mass,
            group=group,
            friction=friction,
            orientation=orientation,
        )
        # A driven body must never fall asleep, or parts resting on it would too.
        self.client.changeDynamics(
            body, -1, activationState=pybullet.ACTIVATION_STATE_DISABLE_SLEEPING
        )
        driven = KinematicBody(self, body, position, orientation, surface)
        self.kinematic.append(driven)
        return driven

    def add_urdf(
        self,
        path: str,
        position: Vec3,
        orientation: Sequence[float] = _IDENTITY,
        *,
        group: CollisionGroup = CollisionGroup.MOVER,
    ) -> int:
        """Load a URDF with a fixed base; every link in ``group``. Returns the body id.

        The links of one multibody do not collide with each other (no self-collision flag)
        and, in the machine groups, not with the frame either: a robot standing on its
        pedestal costs nothing. Raises :class:`~vcommission.errors.PlantError` when pybullet
        cannot load the file.
        """
        c = self.client
        try:
            body = c.loadURDF(
                path,
                basePosition=list(position),
                baseOrientation=list(orientation),
                useFixedBase=True,
            )
        except pybullet.error as exc:
            raise PlantError(f"pybullet cannot load {path}: {exc}") from None
        mask = int(MASKS[group])
        for link in range(-1, c.getNumJoints(body)):
            c.setCollisionFilterGroupMask(body, link, int(group), mask)
        self.urdfs[body] = path
        return body

    def joint_indices(self, body: int) -> dict[str, int]:
        """The pybullet joint index of every joint of ``body``, by URDF joint name."""
        c = self.client
        return {c.getJointInfo(body, j)[1].decode(): j for j in range(c.getNumJoints(body))}

    def drive_joints(self, body: int, joints: Sequence[int]) -> ArticulatedBody:
        """Drive ``joints`` of ``body`` by command from now on (see :class:`ArticulatedBody`)."""
        # Default velocity motors would brake the free joints (fingers) as they should,
        # but they also wake the body: make sure the driven body never sleeps.
        self.client.changeDynamics(
            body, -1, activationState=pybullet.ACTIVATION_STATE_DISABLE_SLEEPING
        )
        driven = ArticulatedBody(self, body, joints)
        self.articulated.append(driven)
        return driven

    def link_pose(self, body: int, link: int) -> tuple[Vec3, Vec3]:
        """World pose (position, quaternion) of a link's URDF frame (-1: the base)."""
        if link < 0:
            return self.pose(body)
        state = pybullet.getLinkState(
            body, link, computeForwardKinematics=True, physicsClientId=self.cid
        )
        return state[4], state[5]

    def remove_body(self, body: int) -> None:
        self.client.removeBody(body)
        self.boxes.pop(body, None)
        self.urdfs.pop(body, None)
        self.articulated = [a for a in self.articulated if a.body != body]

    def pose(self, body: int) -> tuple[Vec3, Vec3]:
        """Position and orientation (quaternion) of ``body``."""
        return pybullet.getBasePositionAndOrientation(body, physicsClientId=self.cid)

    def velocity(self, body: int) -> Vec3:
        return pybullet.getBaseVelocity(body, physicsClientId=self.cid)[0]

    def aabb(self, body: int) -> tuple[Vec3, Vec3]:
        return pybullet.getAABB(body, physicsClientId=self.cid)

    def overlapping(
        self, low: Vec3, high: Vec3, accept: Callable[[int], bool] | None = None
    ) -> list[int]:
        """Bodies whose bounding boxes overlap the box ``low..high``.

        The broadphase finds candidates cheaply, but its boxes are enlarged by a margin of
        about 20 mm; each candidate is confirmed against its exact bounding box, so a part
        resting just outside a sensing volume is not reported. ``accept`` filters candidates
        before that (costlier) confirmation, e.g. to parts not yet counted.
        """
        found = pybullet.getOverlappingObjects(low, high, physicsClientId=self.cid)
        if not found:
            return []
        cid = self.cid
        get_aabb = pybullet.getAABB
        bodies = []
        for body, _link in found:
            if accept is not None and not accept(body):
                continue
            (x0, y0, z0), (x1, y1, z1) = get_aabb(body, physicsClientId=cid)
            if (
                x0 <= high[0]
                and x1 >= low[0]
                and y0 <= high[1]
                and y1 >= low[1]
                and z0 <= high[2]
                and z1 >= low[2]
            ):
                bodies.append(body)
        return bodies

    # -- geometric queries ----------------------------------------------------------------

    def closest_distance(self, body_a: int, body_b: int, max_m: float) -> float | None:
        """Smallest distance between two bodies' surfaces, or None if farther than ``max_m``.

        Negative while the bodies interpenetrate (by that depth). Collision filters do not
        apply: a pusher plate and a belt, which never collide, still have a distance. One
        narrowphase query of this step's poses; cheap enough to ask every tick.
        """
        points = pybullet.getClosestPoints(
            bodyA=body_a, bodyB=body_b, distance=max_m, physicsClientId=self.cid
        )
        if not points:
            return None
        return min(point[8] for point in points)

    def closest_points(self, body_a: int, body_b: int, max_m: float) -> list[ClosestPoint]:
        """The nearest points of every link pair of two bodies closer than ``max_m``.

        One query however many links either body has (an arm against a fixture); pybullet
        prunes link pairs whose bounding boxes are farther apart than ``max_m`` first, so a
        small ``max_m`` keeps it cheap. Collision filters do not apply.
        """
        return [
            ClosestPoint(p[1], p[2], p[3], p[4], p[8], p[5], p[6])
            for p in pybullet.getClosestPoints(
                bodyA=body_a, bodyB=body_b, distance=max_m, physicsClientId=self.cid
            )
        ]

    def nearest(self, body_a: int, body_b: int, max_m: float) -> ClosestPoint | None:
        """The closest of :meth:`closest_points` (the deepest while interpenetrating), or None.

        Ties go to the lowest link pair, so the same poses always name the same links.
        """
        points = pybullet.getClosestPoints(
            bodyA=body_a, bodyB=body_b, distance=max_m, physicsClientId=self.cid
        )
        if not points:
            return None
        p = min(points, key=lambda q: (q[8], q[3], q[4]))
        return ClosestPoint(p[1], p[2], p[3], p[4], p[8], p[5], p[6])

    def link_count(self, body: int) -> int:
        """Links of ``body`` besides its base (joints of a URDF arm; 0 for a box)."""
        return pybullet.getNumJoints(body, physicsClientId=self.cid)

    def link_name(self, body: int, link: int) -> str:
        """The name of link ``link`` of ``body`` as its URDF gives it; -1 names the base."""
        if link < 0:
            return pybullet.getBodyInfo(body, physicsClientId=self.cid)[0].decode()
        return pybullet.getJointInfo(body, link, physicsClientId=self.cid)[12].decode()

    def link_names(self, body: int) -> list[str]:
        """The names of the links of ``body``, index ``i`` naming link ``i`` (not the base)."""
        return [self.link_name(body, link) for link in range(self.link_count(body))]

    def extent(self, body: int, links: int | None = None) -> tuple[Vec3, Vec3]:
        """The bounding box of ``body`` with every link (``links``: their count, if known).

        :meth:`aabb` is the base's box only, which for an arm is its pedestal.
        """
        cid = self.cid
        get_aabb = pybullet.getAABB
        (x0, y0, z0), (x1, y1, z1) = get_aabb(body, -1, physicsClientId=cid)
        count = pybullet.getNumJoints(body, physicsClientId=cid) if links is None else links
        for link in range(count):
            (a0, b0, c0), (a1, b1, c1) = get_aabb(body, link, physicsClientId=cid)
            x0, y0, z0 = min(x0, a0), min(y0, b0), min(z0, c0)
            x1, y1, z1 = max(x1, a1), max(y1, b1), max(z1, c1)
        return (x0, y0, z0), (x1, y1, z1)

    def neighbours(self, body: int, distance: float, links: int | None = None) -> set[int]:
        """Bodies that may be within ``distance`` of ``body`` (every link): a superset.

        One broadphase query with the body's bounding box grown by ``distance``: what it
        leaves out is farther than ``distance``, so a check asks the (costlier) exact
        :meth:`nearest` only of these. Reflects the poses of the last physics step.
        """
        (x0, y0, z0), (x1, y1, z1) = self.extent(body, links)
        found = pybullet.getOverlappingObjects(
            (x0 - distance, y0 - distance, z0 - distance),
            (x1 + distance, y1 + distance, z1 + distance),
            physicsClientId=self.cid,
        )
        return {other for other, _link in found or ()} - {body}

    def link_positions(self, body: int, links: int | None = None) -> list[Vec3]:
        """World positions of the base and of every link frame of ``body``, base first."""
        cid = self.cid
        base = pybullet.getBasePositionAndOrientation(body, physicsClientId=cid)[0]
        count = pybullet.getNumJoints(body, physicsClientId=cid) if links is None else links
        if not count:
            return [base]
        states = pybullet.getLinkStates(body, list(range(count)), physicsClientId=cid)
        return [base, *(state[4] for state in states)]

    def contacts(self, body_a: int = -1, body_b: int = -1) -> list[Contact]:
        """Contacts the last physics step found, of ``body_a`` (with ``body_b``), or all."""
        if body_a < 0 and body_b >= 0:
            body_a, body_b = body_b, -1
        return [
            Contact(point[1], point[2], point[8], point[5])
            for point in pybullet.getContactPoints(
                bodyA=body_a, bodyB=body_b, physicsClientId=self.cid
            )
        ]

    def bodies(self) -> list[int]:
        """Every body in the world except the ground, in creation order."""
        if self.urdfs:  # ids grow with creation: boxes and URDF bodies interleave by id
            return sorted([*self.boxes, *self.urdfs])
        return list(self.boxes)

    def rays(self) -> list[tuple[Vec3, Vec3]]:
        """Every registered beam as (start, end), in registration order."""
        return list(zip(self._ray_from, self._ray_to, strict=True))

    # -- light beams --------------------------------------------------------------------

    def add_ray(self, start: Vec3, end: Vec3) -> int:
        """Register a light beam; its hit body appears in :attr:`ray_hits` at that index."""
        self._ray_from.append(tuple(start))
        self._ray_to.append(tuple(end))
        self.ray_hits.append(-1)
        return len(self._ray_from) - 1

    def cast_rays(self) -> None:
        """Cast every registered beam in one batch."""
        if not self._ray_from:
            return
        results = pybullet.rayTestBatch(
            self._ray_from,
            self._ray_to,
            collisionFilterMask=RAY_MASK,
            physicsClientId=self.cid,
        )
        self.ray_hits = [hit[0] for hit in results]

    # -- stepping -----------------------------------------------------------------------

    def step(self) -> None:
        """Advance one tick: ``substeps`` physics steps, driving kinematic bodies before each."""
        cid = self.cid
        step_simulation = pybullet.stepSimulation
        kinematic = self.kinematic
        articulated = self.articulated
        for _ in range(self.config.substeps):
            # Arms first: bodies riding on them (a gripper on a flange) are kinematic bodies
            # that read the flange's pose and velocity of this step when they drive.
            for arm in articulated:
                arm.drive()
            for driven in kinematic:
                driven.drive()
            step_simulation(physicsClientId=cid)
        for arm in articulated:
            arm.settle()

    def save_state(self) -> int:
        """Snapshot the physics state in memory; returns a handle for :meth:`restore_state`."""
        return self.client.saveState()

    def restore_state(self, handle: int) -> None:
        self.client.restoreState(stateId=handle)

    def close(self) -> None:
        """Disconnect the physics client; the world is unusable afterwards."""
        if self.cid >= 0:
            try:
                pybullet.disconnect(physicsClientId=self.cid)
            except pybullet.error:  # already gone: closing twice is harmless
                log.debug("physics client %s already disconnected", self.cid)
            # BulletClient.__del__ would disconnect again; tell it the client is gone.
            self.client._client = -1
            self.cid = -1

    def __enter__(self) -> World:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
