"""Grippers: a vacuum cup and a parallel-jaw gripper, mounted on any :class:`Mount`.

A gripper names its carrier in ``mount:`` (a robot, a cylinder: anything implementing
:class:`~vcommission.plant.capabilities.Mount`), resolved in :meth:`connect`. Its bodies are
created at the mount in :meth:`attach` (the carrier may come later in the model file) and
re-posed onto the mount before *every physics substep*: one driver per tool sits in the
world's list of driven bodies, after the carrier's own bodies, reads
:meth:`Mount.mount_pose` and sets the tool's bodies to that pose times their offset, with the
mount's velocity (so contacts see a tool that moves, not one that teleports). The tool frame:
origin at the mount point plus ``offset`` (in the mount's frame), rotated by ``rpy`` (degrees,
fixed-axis x-y-z); the tool's **+z axis is its approach direction** (the cup's face, the
jaws' tips). On a cylinder, whose plate frame has z up, ``rpy: [180, 0, 0]`` points the tool
down.

A held part is fixed to the gripping body (cup, palm) where it was gripped (pulled onto the
cup's face) and carried with the tool, re-posed every substep like the tool's own bodies:
pybullet's fixed constraint between these (maximal-coordinate) bodies ignores its frame
orientations, which would twist a part gripped at an angle. Contacts between the held part
and the tool are switched off (the grip is not a collision); contacts with anything else
are real and reported. The part keeps its :class:`~vcommission.plant.parts.PartTracker`
identity (its journey records ``gripped`` and ``released`` by the tool; while held,
``Part.held_by`` names the tool and sinks do not count it), so a sink counts it once it is
released inside.

Both kinds are a :class:`~vcommission.plant.capabilities.Tool` (a robot job commands them
through :meth:`actuate`, OR'd with their own input port), a
:class:`~vcommission.plant.capabilities.PartHolder` and a
:class:`~vcommission.plant.capabilities.GripLosable` (the ``part_dropped`` fault).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vcommission.clock import s_to_ns
from vcommission.errors import ConfigError
from vcommission.plant.capabilities import Mount
from vcommission.plant.component import Component, TickContext
from vcommission.plant.parts import Part, PartEvent
from vcommission.signals import SignalType

if TYPE_CHECKING:
    from vcommission.plant.world import KinematicBody, World

__all__ = [
    "ParallelGripper",
    "ParallelGripperParams",
    "VacuumGripper",
    "VacuumGripperParams",
    "resolve_mount",
]

Vec3 = tuple[float, float, float]
Quat = tuple[float, float, float, float]
_IDENTITY: Quat = (0.0, 0.0, 0.0, 1.0)


def _quat_mul(a: Sequence[float], b: Sequence[float]) -> Quat:
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return (
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
        aw * bw - ax * bx - ay * by - az * bz,
    )


def _rotate(q: Sequence[float], v: Sequence[float]) -> Vec3:
    x, y, z, w = q
    # v' = v + 2w (q x v) + 2 q x (q x v)
    tx, ty, tz = 2 * (y * v[2] - z * v[1]), 2 * (z * v[0] - x * v[2]), 2 * (x * v[1] - y * v[0])
    return (
        v[0] + w * tx + y * tz - z * ty,
        v[1] + w * ty + z * tx - x * tz,
        v[2] + w * tz + x * ty - y * tx,
    )


def _quat_from_rpy(rpy_deg: Sequence[float]) -> Quat:
    """Fixed-axis roll (x), pitch (y), yaw (z), as pybullet's ``getQuaternionFromEuler``."""
    r, p, y = (math.radians(a) / 2 for a in rpy_deg)
    qx = (math.sin(r), 0.0, 0.0, math.cos(r))
    qy = (0.0, math.sin(p), 0.0, math.cos(p))
    qz = (0.0, 0.0, math.sin(y), math.cos(y))
    return _quat_mul(qz, _quat_mul(qy, qx))


def _check_size(name: str, values: Sequence[float]) -> None:
    if any(not v > 0 for v in values):
        raise ConfigError(f"{name}={list(values)} must be > 0", path=(name,))


def resolve_mount(name: str, peers: Mapping[str, Component], key: str = "mount") -> Mount:
    """The component ``name`` as a :class:`Mount`, or a ConfigError located at ``key``."""
    mount = peers.get(name)
    if mount is None:
        close = difflib.get_close_matches(name, list(peers), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(f"no component {name!r} to mount on{hint}", path=(key,))
    if not isinstance(mount, Mount):
        raise ConfigError(
            f"{name!r} is a {mount.kind or 'component'}, not a mount (a robot or a cylinder)",
            path=(key,),
        )
    return mount


@dataclass(frozen=True)
class _Grip:
    """A part held: its record and its entry in the tool's driver."""

    part: Part
    #: The part's entry in the tool's driver (it is carried with the tool).
    entry: list


class _MountedTool(Component):
    """Common parts of a gripper: mount, tool frame, carrier commands, held parts."""

    def __init__(self, name: str, params: object, **kwargs: object) -> None:
        super().__init__(name, params, **kwargs)
        self._tool_orn = _quat_from_rpy(self.params.rpy)
        self.mount: Mount | None = None
        self._commands: set[str] = set()
        self._lost: set[str] = set()
        self._grip: _Grip | None = None

    # -- connect / build / attach ---------------------------------------------------------

    def connect(self, peers: Mapping[str, Component]) -> None:
        if self.params.mount == self.name:
            raise ConfigError("a tool cannot be mounted on itself", path=("mount",))
        self.mount = resolve_mount(self.params.mount, peers)

    def build(self, world: World) -> None:
        super().build(world)
        self._commands = set()
        self._lost = set()
        self._grip = None
        self._world = world
        #: Set in attach; None while unmounted (a kind checked on its own, without peers).
        self._driver = None

    def _tool_pose(self, position: Vec3) -> Vec3:
        """A point of the tool frame in the mount frame."""
        x, y, z = _rotate(self._tool_orn, position)
        ox, oy, oz = self.params.offset
        return (ox + x, oy + y, oz + z)

    def _begin(self, world: World) -> None:
        from vcommission.plant.toolbody import ToolDriver

        assert self.mount is not None, "connect() was not called"
        self._driver = ToolDriver(world, self.mount)

    def _add_body(self, half: Vec3, tool_position: Vec3) -> tuple[KinematicBody, list]:
        """A tool body centred at ``tool_position`` (tool frame), driven with the tool."""
        from vcommission.plant.toolbody import add_tool_body

        driven = add_tool_body(self._world, half)
        return driven, self._driver.add(driven, self._tool_pose(tool_position), self._tool_orn)

    # -- Tool ---------------------------------------------------------------------------------

    def actuate(self, source: str, on: bool) -> None:
        """Command the tool on behalf of ``source`` (a robot job); OR'd with the input port."""
        if on:
            self._commands.add(source)
        else:
            self._commands.discard(source)

    def _commanded(self, ctx: TickContext, port_index: int) -> bool:
        return bool(self._commands) or bool(ctx.values[port_index])

    # -- GripLosable --------------------------------------------------------------------------

    def lose_grip(self, source: str, active: bool) -> None:
        """While active, the tool cannot hold: held parts fall at its next update."""
        if active:
            self._lost.add(source)
        else:
            self._lost.discard(source)

    # -- PartHolder ---------------------------------------------------------------------------

    def held_parts(self) -> Sequence[int]:
        return () if self._grip is None else (self._grip.part.body,)

    def holding_bodies(self) -> Sequence[int]:
        own = [b for group in self.bodies().values() for b in group.all]
        if self.mount is not None and own:  # built: the mount is built too
            own.append(self.mount.mount_frame()[0])
        return own

    # -- holding ------------------------------------------------------------------------------

    def _hold(self, ctx: TickContext, part: Part, holder: list, target: tuple[Vec3, Quat]) -> None:
        """Hold ``part`` at ``target``: its pose in the frame of ``holder`` (a tool body)."""
        from vcommission.plant.toolbody import hold

        self._grip = _Grip(part, hold(ctx.world, self._driver, holder, part.body, target))
        part.held_by = self.name
        part.journey.append(PartEvent(ctx.now_ns + ctx.dt_ns, "gripped", self.name))

    def _release(self, ctx: TickContext) -> None:
        from vcommission.plant.toolbody import release

        grip, self._grip = self._grip, None
        if grip is None:
            return
        part = grip.part
        release(ctx.world, self._driver, grip.entry, part.alive)
        part.held_by = None
        if part.alive:  # a removed part's journey ended with its removal
            part.journey.append(PartEvent(ctx.now_ns + ctx.dt_ns, "released", self.name))

    def _forget_removed(self, ctx: TickContext) -> None:
        """Let go of a held part whose body left the world (a scenario removed it)."""
        if self._grip is not None and not self._grip.part.alive:
            self._release(ctx)

    def _candidates(self, ctx: TickContext, body: int, reach: float) -> list[Part]:
        """Free parts whose bounding boxes come within ``reach`` of ``body``'s."""
        (x0, y0, z0), (x1, y1, z1) = ctx.world.aabb(body)
        parts = ctx.parts

        def free(b: int) -> bool:
            part = parts.by_body(b)
            return part is not None and part.held_by is None

        found = ctx.world.overlapping(
            (x0 - reach, y0 - reach, z0 - reach), (x1 + reach, y1 + reach, z1 + reach), free
        )
        # By part id, not by broadphase order: the same scene grips the same part.
        return sorted((parts.by_body(b) for b in set(found)), key=lambda part: part.id)


# ---- vacuum gripper --------------------------------------------------------------------------


@dataclass(frozen=True)
class VacuumGripperParams:
    """Parameters of a ``vacuum_gripper`` (a suction cup with a vacuum switch)."""

    #: The component it is mounted on (a robot, a cylinder: any mount).
    mount: str
    #: Tool frame origin in the mount's frame (x, y, z), metres.
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    #: Tool frame orientation relative to the mount's (roll, pitch, yaw), degrees.
    rpy: tuple[float, float, float] = (0.0, 0.0, 0.0)
    #: Cup: side of its square face and its length along the tool axis, metres.
    cup: tuple[float, float] = (0.05, 0.04)
    #: A part within this distance of the cup's face (or touching it) is sucked on, metres.
    gap: float = 0.005
    #: Time from sealing on a part to the vacuum switch closing, seconds.
    vacuum_time: float = 0.05

    def __post_init__(self) -> None:
        _check_size("cup", self.cup)
        if not 0 <= self.gap <= 0.05:
            raise ConfigError(f"gap={self.gap} must be within 0..0.05 m", path=("gap",))
        if self.vacuum_time < 0:
            raise ConfigError(f"vacuum_time={self.vacuum_time} must be >= 0", path=("vacuum_time",))


class VacuumGripper(_MountedTool):
    """A suction cup: holds a part on its face while suction is on and a part seals it.

    With suction on (the input, or a carrier's :meth:`actuate`), the first part whose
    surface comes within ``gap`` of the cup's face is pulled onto it and held fixed to the
    cup; ``vacuum_ok`` closes ``vacuum_time`` later. Suction off, or the vacuum lost
    (the ``part_dropped`` fault), drops the part at once and opens ``vacuum_ok``.

    Ports:
        suction (input BOOL): vacuum valve (ejector) on.
        vacuum_ok (output BOOL): vacuum switch: a part is sealed on the cup.

    Bodies: ``tool`` (moving: the cup). A Tool, a PartHolder, a GripLosable.
    """

    kind = "vacuum_gripper"
    Params = VacuumGripperParams

    def __init__(self, name: str, params: VacuumGripperParams, **kwargs: object) -> None:
        super().__init__(name, params, **kwargs)
        self.suction = self.declare_input("suction", SignalType.BOOL, description="suction on")
        self.vacuum_ok = self.declare_output(
            "vacuum_ok", SignalType.BOOL, description="vacuum switch: part sealed"
        )
        self._vacuum_ns = s_to_ns(self.params.vacuum_time)

    def build(self, world: World) -> None:
        super().build(world)
        self._sealed_ns: int | None = None
        self._ok = False

    def attach(self, world: World) -> None:
        side, length = self.params.cup
        self._begin(world)
        # The cup spans z = 0..length in the tool frame: its face is at the tool's +z end.
        self._cup, self._cup_entry = self._add_body(
            (side / 2, side / 2, length / 2), (0.0, 0.0, length / 2)
        )
        self.own("tool", moving=[self._cup.body])
        self._driver.start(world)

    def gripping(self) -> bool:
        return self._ok

    def _find(self, ctx: TickContext) -> tuple[Part, float] | None:
        """The part sealing the cup's face: (part, its distance from the face), or None."""
        from vcommission.plant.toolbody import closest_points

        cup = self._cup.body
        gap = self.params.gap
        face = self.params.cup[1] / 2
        best: tuple[float, int, Part] | None = None
        for part in self._candidates(ctx, cup, gap):
            for local, distance in closest_points(ctx.world, cup, part.body, gap):
                # Only the face seals: a part touching the cup's side is not sucked on.
                if local[2] < face - 0.002:
                    continue
                if best is None or (distance, part.id) < best[:2]:
                    best = (distance, part.id, part)
        return None if best is None else (best[2], best[0])

    def update(self, ctx: TickContext) -> None:
        if self._driver is None:
            return
        # Before physics: the driver must not move a body that is gone (its id may be reused).
        self._forget_removed(ctx)
        on = self._commanded(ctx, self.suction.index) and not self._lost
        if not on:
            if self._grip is not None:
                self._release(ctx)
            self._sealed_ns = None
            return
        if self._grip is not None:
            return
        found = self._find(ctx)
        if found is None:
            return
        from vcommission.plant.toolbody import relative_pose

        part, distance = found
        cup = self._cup.body
        (x, y, z), q = relative_pose(ctx.world, cup, part.body)
        # Pulled onto the face: the grip closes the gap (or undoes a penetration).
        self._hold(ctx, part, self._cup_entry, ((x, y, z - distance), q))
        self._sealed_ns = ctx.now_ns

    def sense(self, ctx: TickContext) -> None:
        if self._driver is None:
            return
        if self._grip is not None and not self._grip.part.alive:
            self._release(ctx)  # removed from the world under the cup
            self._sealed_ns = None
        sealed = self._sealed_ns
        self._ok = (
            self._grip is not None
            and sealed is not None
            and ctx.now_ns + ctx.dt_ns - sealed >= self._vacuum_ns
        )
        ctx.values[self.vacuum_ok.index] = self._ok


# ---- parallel gripper ------------------------------------------------------------------------


@dataclass(frozen=True)
class ParallelGripperParams:
    """Parameters of a ``parallel_gripper`` (two jaws closing along the tool's y axis)."""

    #: The component it is mounted on (a robot, a cylinder: any mount).
    mount: str
    #: Tool frame origin in the mount's frame (x, y, z), metres.
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    #: Tool frame orientation relative to the mount's (roll, pitch, yaw), degrees.
    rpy: tuple[float, float, float] = (0.0, 0.0, 0.0)
    #: Housing (palm) size (x, y, z along the tool axis), metres.
    palm: tuple[float, float, float] = (0.06, 0.16, 0.04)
    #: Each finger's size (x, y = thickness across the jaw, z = length along the tool axis).
    finger: tuple[float, float, float] = (0.03, 0.015, 0.08)
    #: Inner distance between the jaws when open and when fully closed, metres.
    open_width: float = 0.12
    closed_width: float = 0.0
    #: Time for a full close (and open) stroke, seconds.
    stroke_time: float = 0.3

    def __post_init__(self) -> None:
        _check_size("palm", self.palm)
        _check_size("finger", self.finger)
        if not 0 <= self.closed_width < self.open_width:
            raise ConfigError(
                f"closed_width={self.closed_width} must be within 0..open_width "
                f"({self.open_width})",
                path=("closed_width",),
            )
        if not self.stroke_time > 0:
            raise ConfigError(f"stroke_time={self.stroke_time} must be > 0", path=("stroke_time",))


#: A jaw stops this far short of a part it closes on (metres): touching, not penetrating.
_JAW_CLEARANCE = 0.0005
#: Jaw position within this of an end position closes that end's switch, metres.
_JAW_TOLERANCE = 0.001


class ParallelGripper(_MountedTool):
    """Two box jaws closing symmetrically on a part between them.

    Each jaw moves at ``(open_width - closed_width) / 2 / stroke_time`` and stops where it
    touches a part; once both jaws touch the same part it is held (fixed to the palm: the
    grip does not rely on simulated friction) and ``part_gripped`` closes.
    A jaw that reaches the fully closed position found nothing: ``closed`` without
    ``part_gripped`` is *closed empty*.

    Ports:
        close (input BOOL): valve: close the jaws; FALSE opens them.
        closed (output BOOL): the jaws stopped closing (on a part, or fully closed).
        open (output BOOL): the jaws are fully open.
        part_gripped (output BOOL): closed on a part (the jaws stopped short of closed).
        width (output REAL, mm): inner distance between the jaws.

    Bodies: ``tool`` (moving: palm and two fingers). A Tool, a PartHolder, a GripLosable.
    """

    kind = "parallel_gripper"
    Params = ParallelGripperParams

    def __init__(self, name: str, params: ParallelGripperParams, **kwargs: object) -> None:
        super().__init__(name, params, **kwargs)
        self.close = self.declare_input("close", SignalType.BOOL, description="close the jaws")
        self.closed = self.declare_output("closed", SignalType.BOOL, description="jaws closed")
        self.open = self.declare_output(
            "open", SignalType.BOOL, default=True, description="jaws fully open"
        )
        self.part_gripped = self.declare_output(
            "part_gripped", SignalType.BOOL, description="closed on a part"
        )
        self.width = self.declare_output(
            "width", SignalType.REAL, unit="mm", description="inner jaw distance"
        )
        p = self.params
        self._speed = (p.open_width - p.closed_width) / 2 / p.stroke_time

    def build(self, world: World) -> None:
        super().build(world)
        p = self.params
        #: Inner face of each jaw from the tool axis, metres (-y jaw, +y jaw).
        self._jaws = [p.open_width / 2, p.open_width / 2]
        self._touching: list[Part | None] = [None, None]
        self._gripped = False

    def _finger_centre(self, side: int, s: float) -> Vec3:
        p = self.params
        sign = -1.0 if side == 0 else 1.0
        return (0.0, sign * (s + p.finger[1] / 2), p.palm[2] + p.finger[2] / 2)

    def attach(self, world: World) -> None:
        p = self.params
        self._begin(world)
        palm, self._palm_entry = self._add_body(
            tuple(s / 2 for s in p.palm), (0.0, 0.0, p.palm[2] / 2)
        )
        self._palm = palm
        half_finger = tuple(s / 2 for s in p.finger)
        self._fingers = [
            self._add_body(half_finger, self._finger_centre(side, self._jaws[side]))
            for side in (0, 1)
        ]
        self.own("tool", moving=[palm.body, *(driven.body for driven, _ in self._fingers)])
        self._driver.start(world)

    def gripping(self) -> bool:
        return self._gripped

    def _room(self, ctx: TickContext, side: int, travel: float) -> tuple[float, Part | None]:
        """How far jaw ``side`` can close this tick before touching a part, and that part."""
        from vcommission.plant.toolbody import closest_points

        finger = self._fingers[side][0].body
        reach = travel + _JAW_CLEARANCE
        # The inner face (towards the tool axis): -y jaw's +y face, +y jaw's -y face.
        inner = (self.params.finger[1] / 2 - 0.001) * (1.0 if side == 0 else -1.0)
        room, touched = travel, None
        for part in self._candidates(ctx, finger, reach):
            for local, distance in closest_points(ctx.world, finger, part.body, reach):
                if (local[1] - inner) * inner < 0:
                    continue  # a part outside the jaws: closing moves away from it
                free = max(0.0, distance - _JAW_CLEARANCE)
                if free < room:
                    room, touched = free, part
        return room, touched

    def update(self, ctx: TickContext) -> None:
        if self._driver is None:
            return
        p = self.params
        self._forget_removed(ctx)
        self._touching = [t if t is None or t.alive else None for t in self._touching]
        closing = self._commanded(ctx, self.close.index)
        if self._lost and self._grip is not None:
            self._release(ctx)  # pressure lost: the jaws go slack, the part falls
        step = self._speed * ctx.dt
        for side in (0, 1):
            s = self._jaws[side]
            if closing:
                if self._touching[side] is not None:
                    new = s  # stopped on the part
                else:
                    travel = min(step, s - p.closed_width / 2)
                    room, part = self._room(ctx, side, travel) if travel > 0 else (0.0, None)
                    new = s - room
                    if part is not None and room < travel:
                        self._touching[side] = part
            else:
                self._touching[side] = None
                new = min(p.open_width / 2, s + step)
            entry = self._fingers[side][1]
            sign = -1.0 if side == 0 else 1.0
            entry[1] = self._tool_pose(self._finger_centre(side, s))
            # The jaw moves from s to new over this tick, along the tool's y axis.
            jaw_velocity = _rotate(self._tool_orn, (0.0, -sign * (s - new) / ctx.dt, 0.0))
            entry[3] = jaw_velocity if new != s else (0.0, 0.0, 0.0)
            self._jaws[side] = new
        a, b = self._touching
        held = closing and not self._lost and a is not None and a is b and a.alive
        if held and self._grip is None:
            from vcommission.plant.toolbody import relative_pose

            palm = self._palm.body
            self._hold(ctx, a, self._palm_entry, relative_pose(ctx.world, palm, a.body))
        elif not held and self._grip is not None:
            self._release(ctx)

    def sense(self, ctx: TickContext) -> None:
        if self._driver is None:
            return
        p = self.params
        for side in (0, 1):
            entry = self._fingers[side][1]
            entry[1] = self._tool_pose(self._finger_centre(side, self._jaws[side]))
            entry[3] = (0.0, 0.0, 0.0)
        self._forget_removed(ctx)
        closing = self._commanded(ctx, self.close.index)
        fully_closed = all(s <= p.closed_width / 2 + _JAW_TOLERANCE for s in self._jaws)
        stopped = all(
            t is not None or s <= p.closed_width / 2 + _JAW_TOLERANCE
            for s, t in zip(self._jaws, self._touching, strict=True)
        )
        self._gripped = self._grip is not None
        values = ctx.values
        values[self.closed.index] = closing and (stopped or fully_closed)
        values[self.open.index] = all(s >= p.open_width / 2 - _JAW_TOLERANCE for s in self._jaws)
        values[self.part_gripped.index] = self._gripped
        values[self.width.index] = sum(self._jaws) * 1000.0
