"""Fixtures: named static boxes of a cell (a robot's pedestal, a table, a sensor bracket).

A robot cell is full of steel that never moves and that an arm must never touch: the
pedestal the arm stands on, the table under a tray, brackets that carry sensors over a belt.
A ``fixture`` component builds each as a static box and reports it as its own body group, so
a ``no_collision`` check names the very bracket an arm hit (``fixtures.bridge``)::

    fixtures:
      kind: fixture
      boxes:
        pedestal: {size: [0.3, 0.3, 0.75], position: [0.0, 0.0, 0.375]}
        bridge:   {size: [0.04, 0.5, 0.04], position: [-0.12, -0.4, 0.9], yaw: 0}
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from vcommission.errors import ConfigError
from vcommission.plant.component import Component
from vcommission.plant.geometry import yaw_quaternion
from vcommission.signals import is_identifier

if TYPE_CHECKING:
    from vcommission.plant.world import World

__all__ = ["Fixture", "FixtureBox", "FixtureParams"]


@dataclass(frozen=True)
class FixtureBox:
    """One static box of a fixture."""

    #: Full size (x, y, z) before the yaw rotation, metres.
    size: tuple[float, float, float]
    #: Centre of the box (x, y, z), metres.
    position: tuple[float, float, float]
    #: Rotation about +z, degrees.
    yaw: float = 0.0
    #: Surface friction coefficient (parts resting on a table).
    friction: float = 0.5

    def __post_init__(self) -> None:
        if any(not (math.isfinite(s) and s > 0) for s in self.size):
            raise ConfigError(f"size={list(self.size)} must be > 0 in every axis")


@dataclass(frozen=True)
class FixtureParams:
    """Parameters of a ``fixture``: its boxes by name (each name is a body group)."""

    #: Box name -> box; the name is the body group a collision report names.
    boxes: dict[str, FixtureBox] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.boxes:
            raise ConfigError("boxes must name at least one box", path=("boxes",))
        for name in self.boxes:
            if not is_identifier(name):
                raise ConfigError(
                    f"box name {name!r} must be an identifier (it names a body group)",
                    path=("boxes", name),
                )


class Fixture(Component):
    """Static boxes that hold things up or carry things, and that nothing may run into.

    No ports. Bodies: one group per box, named as in ``boxes`` (static).
    """

    kind = "fixture"
    Params = FixtureParams
    #: The smallest valid parameters, as YAML writes them (``vcommission kinds``).
    example: ClassVar[dict] = {
        "boxes": {"table": {"size": [0.6, 0.6, 0.4], "position": [0.0, 0.0, 0.2]}}
    }

    def build(self, world: World) -> None:
        super().build(world)
        for name, box in self.params.boxes.items():
            half = (box.size[0] / 2, box.size[1] / 2, box.size[2] / 2)
            body = world.add_box(
                half,
                tuple(box.position),
                friction=box.friction,
                orientation=yaw_quaternion(math.radians(box.yaw)),
            )
            self.own(name, static=[body])
