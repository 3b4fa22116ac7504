"""Physics settings and collision groups: what models and components name, without pybullet.

The model file's ``physics:`` section and the collision groups components put their bodies in
are plain data, so they live here rather than in :mod:`vcommission.plant.world`: loading a
model, listing its I/O and declaring a component's ports never import the physics engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntFlag

from vcommission.errors import ConfigError

__all__ = ["MASKS", "RAY_MASK", "CollisionGroup", "PhysicsConfig"]


class CollisionGroup(IntFlag):
    """Collision filter groups; a body collides with another when the masks allow it."""

    #: Workpieces: boxes, products.
    PART = 1
    #: Static structure and transport surfaces: belts, guides, bins, floor.
    FRAME = 2
    #: Driven machine bodies that should break light beams: pusher plates, stoppers.
    MOVER = 4


#: Per group, the groups it collides with: everything collides with parts; machine bodies
#: never collide with each other.
MASKS = {
    CollisionGroup.PART: CollisionGroup.PART | CollisionGroup.FRAME | CollisionGroup.MOVER,
    CollisionGroup.FRAME: CollisionGroup.PART,
    CollisionGroup.MOVER: CollisionGroup.PART,
}
#: Beams see parts and moving machine parts, not the frame they are mounted on.
RAY_MASK = int(CollisionGroup.PART | CollisionGroup.MOVER)


@dataclass(frozen=True)
class PhysicsConfig:
    """Solver settings of one model (``physics:`` in the model YAML)."""

    #: Simulator tick in seconds: inputs latched, components updated, outputs committed.
    tick: float = 0.01
    #: Physics steps per tick; the physics step is ``tick / substeps``.
    substeps: int = 2
    #: Sequential-impulse solver iterations per step.
    solver_iterations: int = 10
    #: Gravity in m/s^2, pointing down -z.
    gravity: float = 9.81
    #: Stop iterating once the solver residual drops below this (cheap, and exact enough
    #: for boxes on belts).
    solver_residual: float = 1e-3

    def __post_init__(self) -> None:
        if not 1e-4 <= self.tick <= 0.1:
            raise ConfigError(f"tick={self.tick} must be between 0.0001 and 0.1 s")
        if not 1 <= self.substeps <= 100:
            raise ConfigError(f"substeps={self.substeps} must be between 1 and 100")
        if not 1 <= self.solver_iterations <= 1000:
            raise ConfigError(f"solver_iterations={self.solver_iterations} must be 1..1000")
        if self.gravity < 0:
            raise ConfigError(f"gravity={self.gravity} must be >= 0 (it points down -z)")

    @property
    def tick_ns(self) -> int:
        return round(self.tick * 1e9)

    @property
    def step_s(self) -> float:
        return self.tick / self.substeps
