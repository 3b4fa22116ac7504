"""Sensors: photo-eyes (a light beam between two points) and presence/proximity sensors."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from vcommission.errors import ConfigError
from vcommission.plant.component import Component, TickContext
from vcommission.plant.parts import PartEvent
from vcommission.signals import SignalType

if TYPE_CHECKING:
    from vcommission.plant.world import World

__all__ = [
    "BeamLogic",
    "PhotoEye",
    "PhotoEyeParams",
    "PresenceSensor",
    "PresenceSensorParams",
]


class BeamLogic(str, Enum):
    """Switching logic of a through-beam sensor."""

    #: Output TRUE while the beam is blocked.
    DARK_ON = "dark_on"
    #: Output TRUE while the beam is clear.
    LIGHT_ON = "light_on"


@dataclass(frozen=True)
class PhotoEyeParams:
    """Parameters of a ``photo_eye`` (through-beam: emitter and receiver)."""

    #: Emitter position (x, y, z), metres.
    emitter: tuple[float, float, float]
    #: Receiver position (x, y, z), metres.
    receiver: tuple[float, float, float]
    #: Switching logic.
    logic: BeamLogic = BeamLogic.DARK_ON

    def __post_init__(self) -> None:
        if tuple(self.emitter) == tuple(self.receiver):
            raise ConfigError("emitter and receiver must be different points")


class PhotoEye(Component):
    """Through-beam photo-eye, blocked by any part or moving machine body in the beam.

    Ports:
        detected (output BOOL): per ``logic``; with ``dark_on``, TRUE while blocked.
    """

    kind = "photo_eye"
    example = {"emitter": [1.0, -0.35, 0.85], "receiver": [1.0, 0.35, 0.85]}
    Params = PhotoEyeParams

    def __init__(self, name: str, params: PhotoEyeParams, **kwargs: object) -> None:
        super().__init__(name, params, **kwargs)
        self.detected = self.declare_output(
            "detected", SignalType.BOOL, description="beam blocked (dark-on)"
        )
        self._dark_on = self.params.logic is BeamLogic.DARK_ON

    def build(self, world: World) -> None:
        super().build(world)
        self.ray = world.add_ray(tuple(self.params.emitter), tuple(self.params.receiver))
        self.blocked_by = -1

    def sense(self, ctx: TickContext) -> None:
        hit = ctx.world.ray_hits[self.ray]
        if hit != self.blocked_by:
            # A new body entered the beam: that is a part passing this station.
            if hit >= 0:
                part = ctx.parts.by_body(hit)
                if part is not None:
                    part.journey.append(PartEvent(ctx.now_ns + ctx.dt_ns, "detected", self.name))
            self.blocked_by = hit
        ctx.values[self.detected.index] = (hit >= 0) == self._dark_on


@dataclass(frozen=True)
class PresenceSensorParams:
    """Parameters of a ``presence_sensor``: a sensing volume that detects parts."""

    #: Centre of the sensing volume (x, y, z), metres.
    center: tuple[float, float, float]
    #: Size of the sensing volume (x, y, z), metres.
    size: tuple[float, float, float]

    def __post_init__(self) -> None:
        if any(not s > 0 for s in self.size):
            raise ConfigError(f"size={list(self.size)} must be > 0 in every axis")


class PresenceSensor(Component):
    """Proximity / presence sensor: TRUE while a part's bounding box overlaps its volume.

    Ports:
        detected (output BOOL): a part is present.
    """

    kind = "presence_sensor"
    example = {"center": [3.0, 0.0, 0.9], "size": [0.3, 0.3, 0.2]}
    Params = PresenceSensorParams

    def __init__(self, name: str, params: PresenceSensorParams, **kwargs: object) -> None:
        super().__init__(name, params, **kwargs)
        self.detected = self.declare_output("detected", SignalType.BOOL, description="part present")
        c, s = self.params.center, self.params.size
        self.low = (c[0] - s[0] / 2, c[1] - s[1] / 2, c[2] - s[2] / 2)
        self.high = (c[0] + s[0] / 2, c[1] + s[1] / 2, c[2] + s[2] / 2)

    def sense(self, ctx: TickContext) -> None:
        is_part = ctx.parts.is_part
        ctx.values[self.detected.index] = bool(ctx.world.overlapping(self.low, self.high, is_part))
