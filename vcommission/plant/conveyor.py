"""Belt conveyor: a transport surface with a drive that ramps to its speed setpoint.

The belt is modelled as a transport surface (see :mod:`vcommission.plant.world`): one driven
box whose velocity is the belt speed. Parts are carried by friction, so they accelerate,
slip and queue physically; nothing moves parts by teleporting them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from vcommission.errors import ConfigError
from vcommission.plant.component import Component, TickContext
from vcommission.plant.geometry import Vec3, add, scale, unit_xy, yaw_quaternion
from vcommission.plant.physics import CollisionGroup
from vcommission.signals import SignalType

if TYPE_CHECKING:
    from vcommission.plant.world import World

__all__ = ["BeltConveyor", "BeltConveyorParams", "GuideGap", "Side"]

#: Largest speed an INT in mm/s can carry, m/s.
_INT_MM_S = 32.767


class Side(str, Enum):
    """Side of the belt, looking in the direction of travel."""

    LEFT = "left"
    RIGHT = "right"
    BOTH = "both"


@dataclass(frozen=True)
class GuideGap:
    """An opening in the side guides, e.g. where a pusher acts."""

    #: Which guide the opening is in.
    side: Side
    #: Start of the opening, metres from the belt's infeed end.
    start: float
    #: End of the opening, metres from the belt's infeed end.
    end: float

    def __post_init__(self) -> None:
        if not self.end > self.start:
            raise ConfigError(f"end={self.end} must be > start={self.start}")


@dataclass(frozen=True)
class BeltConveyorParams:
    """Parameters of a ``belt_conveyor``."""

    #: Infeed end of the belt: centre line, top surface (x, y, z) in metres.
    start: tuple[float, float, float]
    #: Belt length in metres, along the direction of travel.
    length: float
    #: Belt width in metres.
    width: float
    #: Direction of travel, degrees from +x about +z.
    yaw_deg: float = 0.0
    #: Thickness of the transport surface body, metres.
    thickness: float = 0.05
    #: Default speed setpoint (power-on value of the speed input), m/s.
    nominal_speed: float = 0.4
    #: Highest speed the drive reaches; larger setpoints are clamped, m/s.
    max_speed: float = 1.0
    #: Drive acceleration and deceleration, m/s^2.
    acceleration: float = 2.0
    #: Belt surface friction coefficient.
    friction: float = 0.6
    #: Height of the side guides above the belt surface, metres; 0 for no guides.
    guide_height: float = 0.05
    #: Clear distance between the two guides, metres (set to the product width plus
    #: clearance, as on a real line, to keep parts single file); null: the belt width.
    guide_spacing: float | None = None
    #: Openings in the side guides.
    guide_gaps: list[GuideGap] = field(default_factory=list)

    def __post_init__(self) -> None:
        for name in ("length", "width", "thickness", "max_speed", "acceleration"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name}={getattr(self, name)} must be > 0")
        if self.max_speed > _INT_MM_S:
            raise ConfigError(f"max_speed={self.max_speed} must be <= {_INT_MM_S} (INT mm/s)")
        if not 0 <= self.nominal_speed <= self.max_speed:
            raise ConfigError(
                f"nominal_speed={self.nominal_speed} must be within 0..max_speed={self.max_speed}"
            )
        if self.guide_spacing is not None and not 0 < self.guide_spacing <= self.width:
            raise ConfigError(
                f"guide_spacing={self.guide_spacing} must be within 0..width={self.width}"
            )
        for gap in self.guide_gaps:
            if gap.start < 0 or gap.end > self.length:
                raise ConfigError(
                    f"guide gap {gap.start}..{gap.end} outside the belt 0..{self.length}"
                )


class BeltConveyor(Component):
    """Belt conveyor with run, reverse and a speed setpoint in mm/s.

    Bodies: ``surface`` (moving: the transport surface) and ``guides`` (static side rails,
    when ``guide_height`` > 0). A :class:`~vcommission.plant.capabilities.Slippable`.

    Ports:
        run (input BOOL): motor on.
        reverse (input BOOL): run backwards.
        speed_setpoint (input INT, mm/s): magnitude of the target speed, clamped to
            ``max_speed``; negative values are treated as 0.
        speed_actual (output INT, mm/s): signed belt speed after the drive's ramp.
    """

    kind = "belt_conveyor"
    example = {"start": [0.0, 0.0, 0.8], "length": 4.0, "width": 0.5}
    Params = BeltConveyorParams

    def __init__(self, name: str, params: BeltConveyorParams, **kwargs: object) -> None:
        super().__init__(name, params, **kwargs)
        p = self.params
        self.run = self.declare_input("run", SignalType.BOOL, description="motor on")
        self.reverse = self.declare_input("reverse", SignalType.BOOL, description="run backwards")
        self.speed_setpoint = self.declare_input(
            "speed_setpoint",
            SignalType.INT,
            unit="mm/s",
            default=round(p.nominal_speed * 1000),
            description="belt speed setpoint",
        )
        self.speed_actual = self.declare_output(
            "speed_actual", SignalType.INT, unit="mm/s", description="belt speed"
        )
        yaw = math.radians(p.yaw_deg)
        self.axis: Vec3 = unit_xy(yaw)
        self.left: Vec3 = unit_xy(yaw + math.pi / 2)
        self.orientation = yaw_quaternion(yaw)
        #: Signed surface speed, m/s.
        self.speed = 0.0

    def point(self, along: float, across: float = 0.0, up: float = 0.0) -> Vec3:
        """World point ``along`` metres from the infeed end, ``across`` to the left, ``up``."""
        base = add(tuple(self.params.start), scale(self.axis, along))
        return add(add(base, scale(self.left, across)), (0.0, 0.0, up))

    def build(self, world: World) -> None:
        super().build(world)
        p = self.params
        centre = self.point(p.length / 2, 0.0, -p.thickness / 2)
        self.surface = world.add_kinematic_box(
            (p.length / 2, p.width / 2, p.thickness / 2),
            centre,
            group=CollisionGroup.FRAME,
            friction=p.friction,
            orientation=self.orientation,
            surface=True,
        )
        self.own("surface", moving=[self.surface.body])
        self.speed = 0.0
        if p.guide_height > 0:
            self._build_guides(world)

    def _build_guides(self, world: World) -> None:
        p = self.params
        rail = 0.01  # half thickness of a guide rail
        spacing = p.width if p.guide_spacing is None else p.guide_spacing
        for side, sign in ((Side.LEFT, 1.0), (Side.RIGHT, -1.0)):
            gaps = sorted((g.start, g.end) for g in p.guide_gaps if g.side in (side, Side.BOTH))
            cursor = 0.0
            for start, end in [*gaps, (p.length, p.length)]:
                if start > cursor:
                    centre = self.point(
                        (cursor + start) / 2, sign * (spacing / 2 + rail), p.guide_height / 2
                    )
                    rail_body = world.add_box(
                        ((start - cursor) / 2, rail, p.guide_height / 2),
                        centre,
                        orientation=self.orientation,
                        friction=0.2,
                    )
                    self.own("guides", static=[rail_body])
                cursor = max(cursor, end)

    def update(self, ctx: TickContext) -> None:
        values = ctx.values
        p = self.params
        target = 0.0
        if values[self.run.index]:
            target = min(max(values[self.speed_setpoint.index], 0) / 1000.0, p.max_speed)
            if values[self.reverse.index]:
                target = -target
        step = p.acceleration * ctx.dt
        speed = self.speed
        speed += max(-step, min(step, target - speed))
        self.speed = speed
        self.surface.velocity = scale(self.axis, speed)

    def slip(self, factor: float) -> None:
        """Surface at ``factor`` times the drive's speed this tick (belt slip faults)."""
        self.surface.velocity = scale(self.axis, self.speed * factor)

    def sense(self, ctx: TickContext) -> None:
        ctx.values[self.speed_actual.index] = round(self.speed * 1000)
