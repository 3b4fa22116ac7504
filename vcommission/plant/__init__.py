"""Plant core: the physics world, the component base and registry, and component kinds."""

from __future__ import annotations

from vcommission.plant.component import Component, NoParams, Port, PortKind, TickContext
from vcommission.plant.parts import Part, PartEvent, PartTracker, PartVariant
from vcommission.plant.plant import Plant
from vcommission.plant.registry import kinds, load, make, register
from vcommission.plant.world import CollisionGroup, KinematicBody, PhysicsConfig, World

__all__ = [
    "CollisionGroup",
    "Component",
    "KinematicBody",
    "NoParams",
    "Part",
    "PartEvent",
    "PartTracker",
    "PartVariant",
    "PhysicsConfig",
    "Plant",
    "Port",
    "PortKind",
    "TickContext",
    "World",
    "kinds",
    "load",
    "make",
    "register",
]
