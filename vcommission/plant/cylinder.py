"""Pneumatic cylinder / pusher: a plate driven along a stroke, with two end switches."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vcommission.errors import ConfigError
from vcommission.plant.component import Component, TickContext
from vcommission.plant.geometry import Vec3, add, scale, yaw_quaternion
from vcommission.plant.physics import CollisionGroup
from vcommission.signals import SignalType

if TYPE_CHECKING:
    from vcommission.plant.world import World

__all__ = ["Cylinder", "CylinderParams"]

Quat = tuple[float, float, float, float]


@dataclass(frozen=True)
class CylinderParams:
    """Parameters of a ``cylinder`` (monostable 5/2 valve: TRUE extends, FALSE retracts)."""

    #: Centre of the plate's front face when fully retracted (x, y, z), metres.
    origin: tuple[float, float, float]
    #: Direction of the extend stroke; horizontal (z = 0), normalised on load.
    direction: tuple[float, float, float]
    #: Stroke length, metres.
    stroke: float
    #: Time for a full extend stroke, seconds.
    extend_time: float
    #: Time for a full retract stroke, seconds.
    retract_time: float
    #: Plate width (across the stroke) and height, metres.
    plate: tuple[float, float] = (0.3, 0.12)
    #: Plate thickness along the stroke, metres.
    plate_thickness: float = 0.02
    #: An end switch closes within this distance of its end position, metres.
    switch_tolerance: float = 0.005

    def __post_init__(self) -> None:
        for name in ("stroke", "extend_time", "retract_time", "plate_thickness"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name}={getattr(self, name)} must be > 0")
        if self.direction[2] != 0 or math.hypot(*self.direction[:2]) == 0:
            raise ConfigError(f"direction={list(self.direction)} must be horizontal and non-zero")
        if not 0 < self.switch_tolerance < self.stroke / 2:
            raise ConfigError(f"switch_tolerance={self.switch_tolerance} must be in 0..stroke/2")


class Cylinder(Component):
    """Pneumatic cylinder moving a pusher plate at constant speed between its end positions.

    Ports:
        extend (input BOOL): valve energised; FALSE retracts.
        retracted (output BOOL): end switch at the retracted end.
        extended (output BOOL): end switch at the extended end.
        position (output REAL, mm): stroke position, 0 = retracted.

    Bodies: ``plate`` (moving). A :class:`~vcommission.plant.capabilities.Slowable` and a
    :class:`~vcommission.plant.capabilities.Mount`: a tool (a gripper) mounts at the centre
    of the plate's front face, in a frame with x along the extend stroke and z up.
    """

    kind = "cylinder"
    Params = CylinderParams

    def __init__(self, name: str, params: CylinderParams, **kwargs: object) -> None:
        super().__init__(name, params, **kwargs)
        self.extend = self.declare_input("extend", SignalType.BOOL, description="valve: extend")
        self.retracted = self.declare_output(
            "retracted", SignalType.BOOL, default=True, description="end switch retracted"
        )
        self.extended = self.declare_output(
            "extended", SignalType.BOOL, description="end switch extended"
        )
        self.position = self.declare_output(
            "position", SignalType.REAL, unit="mm", description="stroke position"
        )
        dx, dy, _ = self.params.direction
        norm = math.hypot(dx, dy)
        self.axis = (dx / norm, dy / norm, 0.0)
        self.orientation = yaw_quaternion(math.atan2(dy, dx))
        #: Stroke position in metres, 0 = retracted.
        self.stroke_position = 0.0
        #: Multiplies stroke times; fault injection makes a cylinder slow with it.
        self.time_factor = 1.0

    def _plate_centre(self, s: float):
        back = s - self.params.plate_thickness / 2
        return add(tuple(self.params.origin), scale(self.axis, back))

    def build(self, world: World) -> None:
        super().build(world)
        p = self.params
        self.stroke_position = self._next = 0.0
        self._moving = False
        self.plate = world.add_kinematic_box(
            (p.plate_thickness / 2, p.plate[0] / 2, p.plate[1] / 2),
            self._plate_centre(0.0),
            group=CollisionGroup.MOVER,
            friction=0.3,
            orientation=self.orientation,
            mass=200.0,
        )
        self.own("plate", moving=[self.plate.body])
        self._world = world

    # -- Mount ------------------------------------------------------------------------------

    def mount_frame(self) -> tuple[int, int]:
        """The plate's body (its base link)."""
        return self.plate.body, -1

    def mount_pose(self) -> tuple[Vec3, Quat]:
        """The plate's front face centre now, oriented with x along the stroke."""
        centre, orientation = self._world.pose(self.plate.body)
        return add(centre, scale(self.axis, self.params.plate_thickness / 2)), orientation

    @property
    def in_motion(self) -> bool:
        """True while the plate moves (after this tick's ``update``: it moved in this tick)."""
        return self._moving

    def update(self, ctx: TickContext) -> None:
        p = self.params
        dt = ctx.dt
        s = self.stroke_position
        if ctx.values[self.extend.index]:
            target = min(p.stroke, s + p.stroke / (p.extend_time * self.time_factor) * dt)
        else:
            target = max(0.0, s - p.stroke / (p.retract_time * self.time_factor) * dt)
        self._next = target
        plate = self.plate
        if target == s:
            if self._moving:  # came to rest at an end: hold the plate there
                plate.position = self._plate_centre(s)
                plate.velocity = (0.0, 0.0, 0.0)
                self._moving = False
            return
        self._moving = True
        plate.position = self._plate_centre(s)
        # Move from s to target over this tick; the world re-poses the plate every substep
        # at the commanded velocity, so parts in front are pushed, not teleported.
        plate.velocity = scale(self.axis, (target - s) / dt)

    def sense(self, ctx: TickContext) -> None:
        s = self.stroke_position = self._next
        if self._moving:
            self.plate.position = self._plate_centre(s)
        p = self.params
        values = ctx.values
        values[self.retracted.index] = s <= p.switch_tolerance
        values[self.extended.index] = s >= p.stroke - p.switch_tolerance
        values[self.position.index] = s * 1000.0
