"""Obstacle: a box that holds parts, raised or lowered by an input (end stop, blade stopper).

Scenarios use it for jams; models use it for stop gates at a belt end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from vcommission.errors import ConfigError
from vcommission.plant.component import Component, TickContext
from vcommission.plant.physics import CollisionGroup
from vcommission.signals import SignalType

if TYPE_CHECKING:
    from vcommission.plant.world import World

__all__ = ["Obstacle", "ObstacleParams"]


@dataclass(frozen=True)
class ObstacleParams:
    """Parameters of an ``obstacle``."""

    #: Centre of the box when raised (x, y, z), metres.
    position: tuple[float, float, float]
    #: Size (x, y, z), metres.
    size: tuple[float, float, float]
    #: Power-on state of the ``raised`` input.
    raised: bool = True

    def __post_init__(self) -> None:
        if any(not s > 0 for s in self.size):
            raise ConfigError(f"size={list(self.size)} must be > 0 in every axis")


class Obstacle(Component):
    """A stopper. Lowered, it drops below its raised position by its own height plus 5 cm.

    Ports:
        raised (input BOOL): stopper up, holding parts.

    Bodies: ``stopper`` (moving).
    """

    kind = "obstacle"
    example = {"position": [1.0, 0.0, 0.9], "size": [0.04, 0.5, 0.2]}
    Params = ObstacleParams

    def __init__(self, name: str, params: ObstacleParams, **kwargs: object) -> None:
        super().__init__(name, params, **kwargs)
        self.raised = self.declare_input(
            "raised", SignalType.BOOL, default=self.params.raised, description="stopper up"
        )
        x, y, z = self.params.position
        self._up = (x, y, z)
        self._down = (x, y, z - self.params.size[2] - 0.05)

    def build(self, world: World) -> None:
        super().build(world)
        sx, sy, sz = self.params.size
        self.body = world.add_kinematic_box(
            (sx / 2, sy / 2, sz / 2),
            self._up if self.params.raised else self._down,
            group=CollisionGroup.MOVER,
            friction=0.3,
        )
        self.own("stopper", moving=[self.body.body])

    def update(self, ctx: TickContext) -> None:
        self.body.position = self._up if ctx.values[self.raised.index] else self._down
